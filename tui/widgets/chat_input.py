"""Multi-line message box: Enter sends, Shift+Enter or Ctrl+J inserts a new line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import TextArea


class ChatInput(TextArea):
    """A TextArea whose Enter submits. While editing an earlier message it says so."""

    editing: reactive[int | None] = reactive(None)
    """Id of the user message being edited (the next send starts a branch), or None."""

    @dataclass
    class Submitted(Message):
        input: ChatInput
        text: str
        edit_of: int | None

        @property
        def control(self) -> ChatInput:
            return self.input

    @dataclass
    class EditCancelled(Message):
        input: ChatInput

    def __init__(
        self,
        *,
        send_keys: tuple[str, ...] = ("enter",),
        newline_keys: tuple[str, ...] = ("shift+enter", "ctrl+j"),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self._send_keys = send_keys
        self._newline_keys = newline_keys
        self.placeholder = "Message…  (Enter sends · Shift+Enter or Ctrl+J: new line)"

    async def _on_key(self, event: events.Key) -> None:
        # Decide before TextArea does: it would insert a newline on Enter.
        if event.key in self._send_keys:
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.post_message(self.Submitted(self, text, self.editing))
            return
        if event.key in self._newline_keys:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key == "escape" and self.editing is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.EditCancelled(self))
            return
        await super()._on_key(event)

    def watch_editing(self, editing: int | None) -> None:
        self.set_class(editing is not None, "-editing")
        self.border_title = (
            "editing: Enter resends as a new branch · Esc cancels" if editing else ""
        )

    def begin_edit(self, message_id: int, text: str) -> None:
        self.editing = message_id
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.focus()

    def give_back(self, text: str) -> None:
        """Unsent text returned to the input, ready to send again as it is or to extend."""
        self.load_text(text)
        self.move_cursor(self.document.end)

    def reset(self) -> None:
        self.editing = None
        self.clear()
