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
        parts: list[Text] = []
        if s.server != "unknown":
            state = s.server
            if state == "starting" and s.progress is not None:
                state = f"starting {s.progress:.0%}"
            part = Text.assemble(("● ", _STATE_STYLE.get(s.server, "dim")), state)
            if s.server == "down" and s.server_detail:
                part.append(f" ({s.server_detail})", style="dim")
            parts.append(part)
        if s.model:
            parts.append(
                Text.assemble(
                    (s.model, "bold"), (f" + {s.adapter}" if s.adapter else " (base)", "dim")
                )
            )
        if s.ttft_ms is not None:
            speed = f"TTFT {s.ttft_ms:.0f} ms"
            if s.tok_s is not None:
                speed += f" · {s.tok_s:.1f} tok/s"
            parts.append(Text(speed))
        if s.safety_mode:
            # "fallback filter (why…)": the why is for `companion doctor`; keep the bar short.
            # A degraded layer is always named: the checks run, but with less than they should.
            degraded = "degraded" in s.safety_mode
            full = s.safety_mode.startswith("full") and not degraded
            if s.safety_mode.startswith("full"):
                mode = "full" if degraded else s.safety_mode
            else:
                mode = s.safety_mode.split(" (")[0]
            if degraded:
                mode += ", DEGRADED (companion safety status)"
            parts.append(Text.assemble("safety: ", (mode, "" if full else "bold yellow")))
        if s.new_feedback is not None:
            parts.append(Text(f"{s.new_feedback} new feedback"))
        if s.learning:
            parts.append(Text("learning…", "bold"))
        text = Text("  │  ").join(parts)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text
