"""Optional reason for a rating: a quick tag and/or a few words."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

POSITIVE_TAGS = ("helpful", "warm", "funny", "kind")
NEGATIVE_TAGS = ("off-topic", "too long", "too intense", "wrong", "repetitive", "cold")
TAGS = POSITIVE_TAGS + NEGATIVE_TAGS

Reason = tuple[str | None, str | None]
"""(tag, comment), either may be None."""


def rating_for(tag: str | None, rating: int | None) -> int:
    """The rating a reason is recorded with: the candidate's own, else (a reason needs a
    rating to hang on) a thumbs up for a positive tag and a critique for anything else."""
    return rating if rating else (1 if tag in POSITIVE_TAGS else -1)


class ReasonScreen(ModalScreen[Reason | None]):
    """Dismisses with (tag, comment), or None when cancelled or empty."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self) -> None:
        super().__init__(classes="modal")
        self.tag: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                "Why? A tag and/or a few words. Enter saves, Esc cancels.",
                classes="dialog-text",
            )
            with Horizontal(classes="reason-tags"):
                for tag in TAGS:
                    yield Button(tag, classes="reason-tag", compact=True)
            yield Input(placeholder="a few words (optional)", id="reason-input")

    def on_mount(self) -> None:
        self.query_one("#reason-input", Input).focus()

    @on(Button.Pressed, ".reason-tag")
    def _tag(self, event: Button.Pressed) -> None:
        self.tag = str(event.button.label)
        for b in self.query(".reason-tag").results(Button):
            b.variant = "primary" if b is event.button else "default"
        self.query_one("#reason-input", Input).focus()

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        comment = event.value.strip() or None
        self.dismiss((self.tag, comment) if self.tag or comment else None)
