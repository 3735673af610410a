"""Plain view data the widgets render. Built from the store by the backend; no Textual here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["user", "assistant", "system"]

UNFINISHED = ("generating", "interrupted")
"""Reply statuses a crash leaves: nothing is streaming it now; regenerating finishes it."""


@dataclass(frozen=True)
class CandidateView:
    id: int
    text: str
    rating: int | None = None
    reason: str | None = None
    safety_action: str | None = None
    """None or "pass" shows no badge; e.g. "softened", "replaced", "crisis", "regenerated"."""
    safety_details: str = ""
    """Markdown: what was changed and why (shown by the safety-details modal)."""


@dataclass(frozen=True)
class TurnView:
    message_id: int | None
    role: Role
    text: str
    status: str = "complete"
    candidates: tuple[CandidateView, ...] = ()
    shown: int = 0
    """Index of the candidate on screen (browsing changes it before a choice is made)."""
    chosen_id: int | None = None
    siblings: tuple[int, ...] = field(default=())
    """Ids of this message and its siblings (branches), in creation order."""
    parent_id: int | None = None
    partial: bool = False
    """`text` is what was saved of an interrupted attempt that is none of the candidates (a
    regeneration cut off): it is shown instead of them until the turn is regenerated or
    another alternative is picked."""

    @property
    def candidate(self) -> CandidateView | None:
        if not self.candidates or self.partial:
            return None
        return self.candidates[min(self.shown, len(self.candidates) - 1)]

    @property
    def browsable(self) -> bool:
        """There is another reply to browse to (an alternative, or a candidate behind a
        partial one)."""
        return len(self.candidates) > (0 if self.partial else 1)

    @property
    def unfinished(self) -> bool:
        """A reply a crash or a dead server cut off (shown as saved; ctrl+r regenerates)."""
        return self.role == "assistant" and self.status in UNFINISHED

    @property
    def branch_index(self) -> int:
        return self.siblings.index(self.message_id) if self.message_id in self.siblings else 0


@dataclass(frozen=True)
class ConversationView:
    id: int
    title: str
    persona: str = ""


@dataclass(frozen=True)
class StreamStats:
    """Latency figures of one reply."""

    ttft_ms: float | None = None
    """The server's time to first token, as the engine measured it."""
    tok_s: float | None = None
    first_paint_ms: float | None = None
    """Our Enter → first token on screen (bench/tui.py compares the two)."""


@dataclass(frozen=True)
class StatusView:
    server: str = "unknown"
    """starting / ready / down / external / unknown"""
    server_detail: str = ""
    progress: float | None = None
    model: str = ""
    adapter: str = ""
    ttft_ms: float | None = None
    tok_s: float | None = None
    safety_mode: str = ""
    new_feedback: int | None = None
    learning: bool = False
    """A background retrain (retrain.auto) is running."""
