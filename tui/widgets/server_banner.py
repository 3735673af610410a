"""Shown when the model server is down: the reason and a Retry button."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Button, Label

from tui.messages import RetryServer


class ServerBanner(Horizontal):
    reason: reactive[str] = reactive("", recompose=True)

    def compose(self) -> ComposeResult:
        yield Label(
            f"The model server is down: {self.reason or 'no reason given'}. "
            "Your conversation is safe.",
            id="banner-reason",
        )
        yield Button("Retry", id="banner-retry", variant="warning", compact=True)

    @on(Button.Pressed, "#banner-retry")
    def _retry(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(RetryServer())
