"""Retrain panel: shows the progress of the app's retrain job (which runs in a thread worker
of the app, so closing the panel never stops or blocks training)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Log, ProgressBar


class RetrainScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Hide (training goes on)")]

    def __init__(self, lines: Sequence[str], fraction: float | None, *, done: bool) -> None:
        super().__init__(classes="modal", id="retrain-screen")
        self._lines = list(lines)
        self._fraction = fraction
        self._done = done

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="retrain"):
            yield Label(
                "Retraining on your feedback  (Esc hides; it goes on)", classes="dialog-title"
            )
            yield ProgressBar(total=1.0, show_eta=False, id="retrain-progress")
            yield Log(id="retrain-log", max_lines=500)
            yield Button("Close" if self._done else "Hide", id="retrain-close")

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self._lines)
        if self._fraction is not None:
            self.query_one(ProgressBar).update(progress=self._fraction)

    def add(self, line: str, fraction: float | None) -> None:
        self.query_one(Log).write_line(line)
        if fraction is not None:
            self.query_one(ProgressBar).update(progress=fraction)

    def finish(self) -> None:
        self.query_one("#retrain-close", Button).label = "Close"

    @on(Button.Pressed, "#retrain-close")
    def action_close(self) -> None:
        self.dismiss(None)
