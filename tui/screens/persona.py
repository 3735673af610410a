"""Pick the persona for this conversation."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class PersonaScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, personas: Sequence[tuple[str, str]], current: str) -> None:
        """`personas`: (name, one-line description)."""
        super().__init__(classes="modal")
        self.personas = list(personas)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Persona for this conversation (Enter picks)", classes="dialog-title")
            yield OptionList(
                *(
                    Option(f"{'● ' if n == self.current else '  '}{n} — {d}", id=n)
                    for n, d in self.personas
                ),
                id="persona-list",
            )

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
