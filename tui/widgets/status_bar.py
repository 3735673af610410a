"""One line at the bottom: server state, model and adapter, speed, safety mode, new feedback."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from tui.view import StatusView

_STATE_STYLE = {"ready": "green", "external": "green", "starting": "yellow", "down": "red"}


class StatusBar(Static):
    status: reactive[StatusView] = reactive(StatusView, layout=False)

    def render(self) -> Text:
        s = self.status
        text = Text(no_wrap=True, overflow="ellipsis")
        state = s.server
        if state == "starting" and s.progress is not None:
            state = f"starting {s.progress:.0%}"
        if s.server != "unknown":
            text.append("● ", style=_STATE_STYLE.get(s.server, "dim"))
            text.append(state)
            if s.server == "down" and s.server_detail:
                text.append(f" ({s.server_detail})", style="dim")
            text.append("  │  ")
        if s.model:
            text.append(s.model, style="bold")
            text.append(f" + {s.adapter}" if s.adapter else " (base)", style="dim")
            text.append("  │  ")
        if s.ttft_ms is not None:
            text.append(f"TTFT {s.ttft_ms:.0f} ms")
        if s.tok_s is not None:
            text.append(f" · {s.tok_s:.1f} tok/s")
        if s.safety_mode:
            style = "" if s.safety_mode.startswith("full") else "yellow"
            text.append("  │  safety: " if s.ttft_ms is not None else "safety: ")
            text.append(s.safety_mode, style=style)
        if s.new_feedback is not None:
            text.append(f"  │  {s.new_feedback} new feedback")
        return text
