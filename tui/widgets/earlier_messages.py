"""The line above a long conversation's shown messages: how many earlier ones there are.
Click it, press Enter on it, or scroll to the top, and the screen shows a page more."""

from __future__ import annotations

from textual.binding import Binding
from textual.events import Click
from textual.reactive import reactive
from textual.widgets import Static

from tui.messages import EarlierRequested


class EarlierMessages(Static, can_focus=True):
    BINDINGS = [Binding("enter", "show", "Show earlier", show=False)]

    hidden: reactive[int] = reactive(0)

    def render(self) -> str:
        n = self.hidden
        return f"↑ {n} earlier message{'s' if n != 1 else ''} · scroll up or press Enter"

    def action_show(self) -> None:
        self.post_message(EarlierRequested())

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(EarlierRequested())
