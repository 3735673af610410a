"""First run: the companion is an AI, 18+ only, where data lives and how to forget it."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Markdown

TEXT = """\
**{name} is an AI**, a small language model running on this computer. It is not a person,
it does not have feelings, and it can be wrong. It is not a therapist or a crisis service:
if you are in danger, please contact your local emergency number or a helpline.

**Your data stays here.** Conversations, ratings and trained adapters are kept in
`{data_dir}` and nowhere else. You can forget a conversation (delete it in the sidebar,
or `companion forget --conversation ID`) or everything (`companion forget --all`).

**It learns from you.** Thumbs up/down and the alternatives you pick train a small
adapter on this machine, only when you ask for it.
"""


class WelcomeScreen(ModalScreen[bool]):
    """Dismisses True once the user confirmed they are 18 or over, False to quit."""

    def __init__(self, *, persona_name: str, data_dir: Path) -> None:
        super().__init__(classes="modal")
        self.persona_name = persona_name
        self.data_dir = data_dir

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog -wide", id="welcome"):
            yield Label("Welcome to companion", classes="dialog-title")
            yield Markdown(TEXT.format(name=self.persona_name, data_dir=self.data_dir))
            yield Checkbox("I am 18 or older", id="adult")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", id="start", variant="primary", disabled=True)
                yield Button("Quit", id="quit")

    def on_mount(self) -> None:
        self.query_one("#adult", Checkbox).focus()

    @on(Checkbox.Changed, "#adult")
    def _adult(self, event: Checkbox.Changed) -> None:
        self.query_one("#start", Button).disabled = not event.value

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.dismiss(False)
