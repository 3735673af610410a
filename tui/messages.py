"""Messages that cross widgets. Widgets post these upwards; screens handle them with @on."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.view import StreamStats

Rating = int  # +1 thumbs up, -1 thumbs down


@dataclass
class ReplyRated(Message):
    """The user rated (or un-rated, value None) the candidate shown on an assistant message."""

    message_id: int
    candidate_id: int
    value: Rating | None


@dataclass
class ReasonRequested(Message):
    """The user wants to add a reason to the rating of a candidate."""

    message_id: int
    candidate_id: int


@dataclass
class AlternativeShown(Message):
    """The user browsed to another alternative: it is now shown (and seen), not yet chosen."""

    message_id: int
    candidate_id: int


@dataclass
class AlternativeChosen(Message):
    """The user picked the alternative now shown: it becomes part of the history."""

    message_id: int
    candidate_id: int


@dataclass
class RegenerateRequested(Message):
    """New alternatives for an assistant message: one, or several (config.chat.n_alternatives)."""

    message_id: int
    several: bool


@dataclass
class BranchSelected(Message):
    """The user browsed to a sibling branch of a user message."""

    message_id: int
    sibling_id: int


@dataclass
class EditRequested(Message):
    """The user wants to edit one of their own messages and resend it (starts a branch)."""

    message_id: int
    text: str


@dataclass
class ReplyEditRequested(Message):
    """The user wants to rewrite a reply into the one they wanted."""

    message_id: int
    candidate_id: int
    text: str


@dataclass
class CopyRequested(Message):
    text: str


@dataclass
class DeleteTurnRequested(Message):
    message_id: int


@dataclass
class SafetyDetailsRequested(Message):
    message_id: int
    candidate_id: int | None


@dataclass
class ConversationSelected(Message):
    conversation_id: int


@dataclass
class ConversationAction(Message):
    """new / rename / delete, from the sidebar (by key or mouse)."""

    action: str
    conversation_id: int | None


@dataclass
class SearchChanged(Message):
    query: str


@dataclass
class RetryServer(Message):
    """The server-down banner's retry button was pressed."""


@dataclass
class EarlierRequested(Message):
    """Show a page of the conversation's earlier messages."""


@dataclass
class ReplyFailed(Message):
    """A reply could not be generated; `reason` is one line for the user."""

    reason: str


@dataclass
class StatsUpdated(Message):
    """Latency figures of the last reply (TTFT, tok/s, first paint)."""

    stats: StreamStats


@dataclass
class FeedbackChanged(Message):
    """A rating or choice was recorded: the new-feedback count may have moved."""

    conversation_id: int | None = None
    recorded: bool = True
    """False when only the count may have moved (a reply finished), no feedback was given."""


@dataclass
class ConversationLeft(Message):
    """The user moved away from a conversation (another one, a new one, or quit)."""

    conversation_id: int


@dataclass
class PositionChanged(Message):
    """The conversation on screen, or where in it the user is, changed: resume there next time."""

    conversation_id: int | None
    leaf_id: int | None


@dataclass
class LearningChanged(Message):
    """A background retrain started or ended."""

    running: bool
