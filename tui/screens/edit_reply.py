"""Rewrite a reply into the one the user wanted: the strongest signal they can give."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class EditReplyScreen(ModalScreen[str | None]):
    """Dismisses with the rewritten text, or None when cancelled or left unchanged."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, text: str) -> None:
        super().__init__(classes="modal")
        self.original = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label("Edit the reply into the one you wanted", classes="dialog-title")
            yield Label(
                "Ctrl+S saves it as the reply (the original stays an alternative, and the "
                "companion learns from the change) · Esc cancels",
                classes="dialog-text",
            )
            yield TextArea(self.original, id="edit-reply-text", soft_wrap=True)

    def on_mount(self) -> None:
        area = self.query_one("#edit-reply-text", TextArea)
        area.move_cursor(area.document.end)
        area.focus()

    def action_save(self) -> None:
        text = self.query_one("#edit-reply-text", TextArea).text.strip()
        self.dismiss(text if text and text != self.original.strip() else None)
