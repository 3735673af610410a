"""First run: the companion is an AI, 18+ only, where data lives and how to forget it."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Markdown

TEXT = """\
**{name} is an AI**, a small language model on this computer: not a person, and it can be
wrong. It is no therapist or crisis service; in danger, call your local emergency number.

**Your data stays here**, in `{data_dir}`. Forget a conversation by deleting it in the
sidebar, or everything with `companion forget --all`.

**It learns from you**: your ratings and picks train it on this machine, when you ask.
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
            yield Checkbox("I am 18 or older", id="adult", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", id="start", variant="primary", disabled=True, compact=True)
                yield Button("Quit", id="quit", compact=True)

    def on_mount(self) -> None:
        # Focus the confirmation without scrolling the disclosure out of view.
        self.query_one("#adult", Checkbox).focus(scroll_visible=False)

    @on(Checkbox.Changed, "#adult")
    def _adult(self, event: Checkbox.Changed) -> None:
        self.query_one("#start", Button).disabled = not event.value

    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.dismiss(False)
