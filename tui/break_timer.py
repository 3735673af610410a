"""When to suggest a break: after N minutes of continuous chatting (pure, clock injected)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

IDLE_RESET_S = 10 * 60.0
"""A pause this long counts as a break already; the stretch starts again."""


@dataclass
class BreakTimer:
    minutes: int
    start: float | None = None
    last: float | None = None

    REMINDER_TITLE: ClassVar[str] = "Time for a break?"

    def activity(self, now: float) -> None:
        if self.last is None or now - self.last >= IDLE_RESET_S:
            self.start = now
        self.last = now

    def due(self, now: float) -> bool:
        """True once per stretch of `minutes`; then the stretch restarts."""
        if self.minutes <= 0 or self.start is None or self.last is None:
            return False
        if now - self.last >= IDLE_RESET_S:
            return False
        if now - self.start >= self.minutes * 60:
            self.start = now
            return True
        return False

    def reminder(self) -> str:
        """What the chat says when a break is due."""
        return (
            f"You've been chatting for {self.minutes} minutes. A short break, a glass of water, "
            "a look out of the window? I'll be here."
        )
