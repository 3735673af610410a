"""What the engine tells its consumers (the TUI, ``companion ask``) while it answers.

Small frozen dataclasses and one union, `EngineEvent`; no imports beyond the standard library,
so the UI can match on them (``match ev: case TextDelta(text=t): ...``) without loading the
engine. `index` names the candidate an event belongs to; candidate 0 is the one on screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CandidateReady",
    "EngineEvent",
    "Remembered",
    "ReplyDone",
    "ReplyFailed",
    "ReplyReset",
    "ReplyStarted",
    "SafetyNotice",
    "TextDelta",
]


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    user_message_id: int | None
    """None for a regeneration (no new user message)."""
    message_id: int
    """The assistant message the candidates belong to."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Checked text to append to the reply on screen (candidate `index`, 0 is the live one)."""

    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ReplyReset:
    """Clear the reply on screen: what was shown is being regenerated or replaced."""

    reason: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class SafetyNotice:
    """A safety decision the user may want to know about (softened, regenerated, crisis)."""

    text: str
    kind: str
    action: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class CandidateReady:
    index: int
    candidate_id: int
    text: str
    safety_action: str


@dataclass(frozen=True, slots=True)
class ReplyDone:
    message_id: int
    candidate_ids: tuple[int, ...]
    shown_candidate_id: int | None
    ttft_ms: float | None
    tokens_per_s: float | None
    status: str = "complete"


@dataclass(frozen=True, slots=True)
class ReplyFailed:
    """The reply could not be (fully) generated. `reason` is one line for the user; text that
    had passed the checks is kept on the message (status interrupted)."""

    reason: str
    message_id: int | None = None
    error: BaseException | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Remembered:
    """The user asked for something to be remembered ("remember that ..."), and it was stored:
    each note as the user reads it ("Your sister is called Ana.")."""

    notes: tuple[str, ...]
    memory_ids: tuple[int, ...] = ()


EngineEvent = (
    ReplyStarted
    | TextDelta
    | ReplyReset
    | SafetyNotice
    | CandidateReady
    | ReplyDone
    | ReplyFailed
    | Remembered
)
