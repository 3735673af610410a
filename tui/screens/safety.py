"""What the safety pipeline changed in a reply, and why."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown


class SafetyScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,s,q", "dismiss(None)", "Close")]

    def __init__(self, details: str) -> None:
        super().__init__(classes="modal")
        self.details = details

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -wide"):
            yield Label("Safety: what changed and why  (Esc closes)", classes="dialog-title")
            yield Markdown(self.details or "Nothing was changed in this reply.")
