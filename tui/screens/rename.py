"""Ask for a conversation's new title."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class RenameScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__(classes="modal")
        self.title_now = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Rename conversation (Enter saves, Esc cancels)", classes="dialog-text")
            yield Input(self.title_now, id="rename-input", select_on_focus=True)

    @on(Input.Submitted)
    def _save(self, event: Input.Submitted) -> None:
        title = event.value.strip()
        self.dismiss(title or None)
