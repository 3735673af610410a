"""What the companion remembers about the user: see, keep, edit, add and forget notes.

Suggestions (facts the user stated in a conversation that ended) wait at the top for a yes
(Enter or y) or a no (n). Store work runs in thread workers; each outcome is one line.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.memories import MemoryBackend, MemoryView, Outcome

HELP = "Enter/y keeps a suggestion · n drops it · e edits · d forgets · + adds a note · Esc closes"


def row_label(m: MemoryView) -> str:
    """One row of the list.

    >>> row_label(MemoryView(3, "Your dog is called Rex.", "pet", True, False))
    '? suggested  Your dog is called Rex.  (pet)'
    >>> row_label(MemoryView(4, "Call me Sam.", "note", False, True))
    '●  Call me Sam.  (note, every persona)'
    """
    lead = "? suggested " if m.suggested else "● "
    scope = ", every persona" if m.shared else ""
    return f"{lead} {m.text}  ({m.kind}{scope})"


class MemoryScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("y", "keep", "Keep"),
        Binding("n", "drop", "Drop"),
        Binding("e", "edit", "Edit"),
        Binding("d,delete", "forget", "Forget"),
        Binding("plus,a", "add", "Add"),
    ]

    def __init__(self, backend: MemoryBackend, persona: str, persona_name: str) -> None:
        super().__init__(classes="modal")
        self.backend = backend
        self.persona = persona
        self.persona_name = persona_name
        self.rows: list[MemoryView] = []
        self._editing: int | None = None
        """The memory the input edits; None while it adds a new note."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Label(f"What {self.persona_name} remembers about you", classes="dialog-title")
            yield Label(HELP, classes="dialog-text")
            yield OptionList(id="memory-list")
            yield Input(placeholder="A note about you", id="memory-input", classes="-hidden")
            yield Label("", id="memory-status", classes="dialog-text")

    def on_mount(self) -> None:
        self._reload()

    # -- the list --------------------------------------------------------------------------

    @work(thread=True, group="memory", exclusive=True, exit_on_error=False)
    def _reload(self, line: str = "") -> None:
        try:
            rows = self.backend.memories(self.persona)
        except Exception as e:  # noqa: BLE001 - a store that fails shows its one line
            self.app.call_from_thread(self._say, f"Could not read your memories: {e}")
            return
        self.app.call_from_thread(self._show, rows, line)

    def _show(self, rows: list[MemoryView], line: str) -> None:
        self.rows = rows
        lst = self.query_one("#memory-list", OptionList)
        keep = lst.highlighted
        lst.clear_options()
        if rows:
            lst.add_options([Option(row_label(m), id=str(m.id)) for m in rows])
            lst.highlighted = min(keep or 0, len(rows) - 1)
        else:
            lst.add_option(
                Option(
                    "Nothing yet. Say “remember that …” in chat, or press +.",
                    id="none",
                    disabled=True,
                )
            )
        lst.focus()
        self._say(line or f"{len(rows)} note(s).")

    def _say(self, line: str) -> None:
        self.query_one("#memory-status", Label).update(line)

    def _current(self) -> MemoryView | None:
        idx = self.query_one("#memory-list", OptionList).highlighted
        return self.rows[idx] if idx is not None and 0 <= idx < len(self.rows) else None

    @work(thread=True, group="memory-write", exit_on_error=False)
    def _apply(self, op: Callable[[], Outcome]) -> None:
        try:
            out = op()
        except Exception as e:  # noqa: BLE001 - e.g. disk full: nothing changed, say so
            self.app.call_from_thread(self._say, f"Not saved: {e}")
            return
        self.app.call_from_thread(self._reload, out.line)

    # -- actions ---------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#memory-list")
    def _selected(self, _event: OptionList.OptionSelected) -> None:
        self.action_keep()

    def action_keep(self) -> None:
        m = self._current()
        if m is not None and m.suggested:
            self._apply(lambda: self.backend.accept(m.id))

    def action_drop(self) -> None:
        m = self._current()
        if m is not None and m.suggested:
            self._apply(lambda: self.backend.reject(m.id))

    def action_forget(self) -> None:
        m = self._current()
        if m is not None:
            self._apply(lambda: self.backend.forget(m.id))

    def action_edit(self) -> None:
        m = self._current()
        if m is not None:
            self._open_input(m.id, m.text)

    def action_add(self) -> None:
        self._open_input(None, "")

    def _open_input(self, memory_id: int | None, text: str) -> None:
        self._editing = memory_id
        box = self.query_one("#memory-input", Input)
        box.value = text
        box.remove_class("-hidden")
        box.focus()
        self._say("Enter saves · Esc cancels")

    def _close_input(self) -> None:
        box = self.query_one("#memory-input", Input)
        box.add_class("-hidden")
        box.value = ""
        self.query_one("#memory-list", OptionList).focus()

    @on(Input.Submitted, "#memory-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text, memory_id = event.value, self._editing
        self._close_input()
        if memory_id is None:
            self._apply(lambda: self.backend.add(text, self.persona))
        else:
            self._apply(lambda: self.backend.edit(memory_id, text))

    def action_close(self) -> None:
        if not self.query_one("#memory-input", Input).has_class("-hidden"):
            self._close_input()
            self._say("")
            return
        self.dismiss(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While typing a note, letters are text, not keys.
        typing = self.is_mounted and self.query_one("#memory-input", Input).has_focus
        return not (typing and action in ("keep", "drop", "edit", "forget", "add"))
