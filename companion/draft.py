"""The state of a reply while the engine drafts it: one `Slot` per candidate being generated,
one `Turn` for the whole reply, and `calmest`, which picks the candidate to show. Plain data
and pure functions; the engine (``companion.engine``) drives them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from companion.persona import Persona
from companion.prompt import ChatMessage
from companion.safety.pipeline import Verdict

SafetyLogEntry = tuple[int, Verdict, str, str | None]
"""(slot index, verdict, action, original text): one line of a turn's safety log."""


@dataclass
class Slot:
    """One candidate being generated."""

    index: int
    live: bool
    """Streamed to the screen as it is checked (candidate 0)."""
    shown: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    pending: str = ""
    """The sentence in progress (all of it, released or not)."""
    partial: str = ""
    """The prefix of `pending` already shown: it passed a check as a whole."""
    suffix: str = ""
    """Fixed text after the reply: the calm check-in of a possible crisis."""
    verdicts: list[Verdict] = field(default_factory=list)
    failed: Verdict | None = None
    replaced: Verdict | None = None
    finished: bool = False
    softened: bool = False
    attempts: int = 0
    steering: str | None = None
    tokens: int = 0
    checks: int = 0
    """Safety checks run for this slot (sentences and prefixes, every attempt)."""
    check_ms: float = 0.0
    resets: int = 0
    """Times text already shown was taken back (a failed sentence, a softened one)."""
    started_at: float = 0.0
    first_at: float | None = None
    last_at: float | None = None

    @property
    def done(self) -> bool:
        return self.finished or self.failed is not None or self.replaced is not None

    @property
    def text(self) -> str:
        body = self.replaced.final if self.replaced else "".join(self.shown) + self.partial
        return body + self.suffix

    @property
    def settled(self) -> str:
        """What is on screen up to the last complete sentence: the text saved while the
        reply streams (the shown prefix of the sentence in progress is left out)."""
        return self.replaced.final if self.replaced else "".join(self.shown)

    @property
    def raw_text(self) -> str:
        return "".join(self.raw) + self.pending

    @property
    def action(self) -> str:
        if self.replaced:
            return "replaced"
        if self.softened:
            return "softened"
        return "regenerated" if self.attempts else "none"

    def retry(self, steering: str) -> None:
        self.shown, self.raw, self.pending, self.partial, self.verdicts = [], [], "", "", []
        self.failed = self.replaced = None
        self.finished = self.softened = False
        self.tokens, self.first_at, self.last_at = 0, None, None
        self.attempts += 1
        self.steering = steering

    def safety_summary(self, mode: str) -> dict[str, Any]:
        """The worst score per label over the checked sentences, and why anything changed."""
        scores: dict[str, float] = {}
        for v in self.verdicts:
            for k, x in v.scores.items():
                scores[k] = round(max(scores.get(k, 0.0), float(x)), 4)
        thresholds = self.verdicts[-1].thresholds if self.verdicts else {}
        reasons = [r for v in self.verdicts for r in v.reasons]
        return {
            "scores": scores,
            "thresholds": thresholds,
            "mode": mode,
            "reasons": reasons[:20],
            "attempts": self.attempts,
        }

    def latency(self) -> dict[str, Any]:
        if self.first_at is None or self.last_at is None:
            return {}
        span = self.last_at - self.first_at
        return {
            "ttft_ms": round((self.first_at - self.started_at) * 1000, 1),
            "total_ms": round((self.last_at - self.started_at) * 1000, 1),
            "tokens": self.tokens,
            "tokens_per_s": round((self.tokens - 1) / span, 2) if span > 0 else None,
            "safety_checks": self.checks,
            "safety_ms": round(self.check_ms, 1),
            "resets": self.resets,
        }


@dataclass
class Turn:
    """Everything one reply (or regeneration) needs, and what it produced."""

    conversation_id: int
    message_id: int
    user_message_id: int
    user_text: str
    user_intensity: float
    persona: Persona
    prompt: list[ChatMessage]
    n: int
    adapter: str | None
    started: float
    first_shown_ms: float | None = None
    check_in: Verdict | None = None
    """A possible crisis in the user's message: its verdict, whose `append` (a calm check-in
    with resources) ends every candidate."""
    events: list[SafetyLogEntry] = field(default_factory=list)
    """The safety log, written with the candidates."""
    save_shown: Callable[[str], None] | None = None
    """Called with the live candidate's `Slot.settled` text after each sentence, so the
    stored reply keeps up with the screen (a kill then loses at most one sentence)."""


_RANK = {"none": 0, "regenerated": 0, "softened": 1, "replaced": 2}


def calmest(candidates: Sequence[tuple[str, str, int]]) -> int | None:
    """Index of the candidate to show: unchanged ones before softened before replaced, then
    the lowest intensity, then the first. Input: (safety action, text, index). Pure."""
    if not candidates:
        return None
    from companion.safety.intensity import score

    best = min(candidates, key=lambda c: (_RANK.get(c[0], 3), score(c[1]).score, c[2]))
    return best[2]
