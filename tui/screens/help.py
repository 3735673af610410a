"""Every key, from the same table the bindings and the command palette use."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from tui import keys

_SCOPES = {
    "app": "anywhere",
    "chat": "chat",
    "reply": "message",
    "input": "message box",
}


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "dismiss(None)", "Close")]

    def __init__(self, overrides: Mapping[str, str]) -> None:
        super().__init__(classes="modal")
        self.overrides = dict(overrides)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -wide"):
            yield Label(
                "Keys  (Esc closes; change any in config under [chat.keys]; on a message: "
                "ctrl+up or click it first)",
                classes="dialog-title",
                markup=False,
            )
            table: DataTable[str] = DataTable(cursor_type="none", zebra_stripes=True)
            table.add_columns("key", "does", "where", "config name")
            for a in keys.ACTIONS:
                table.add_row(
                    keys.display_keys(keys.effective_key(a.id, self.overrides)),
                    a.title,
                    _SCOPES[a.scope],
                    a.id,
                )
            yield table
