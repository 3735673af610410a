"""The feedback schema: conversations as message trees, candidates, ratings and what align makes.

Tables are SQLModel classes; every ``FooBase`` holds the data fields and the ``table=True``
subclass adds the key and the table-level options. Timestamps are stored as naive UTC and come
back timezone-aware (UTC) on every backend, so SQLite and PostgreSQL behave the same.

The schema itself is created by the Alembic migrations in ``feedback/migrations`` (never by
``create_all`` in the app), so a change here needs a new migration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeAlias, get_args

from sqlalchemy import JSON, DateTime, Index, Table, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

Role = Literal["system", "user", "assistant"]
MessageStatus = Literal["complete", "generating", "interrupted", "stopped"]
"""``generating``: a reply being streamed; a crash leaves it so and recovery marks it
``interrupted``. ``stopped``: the user stopped it; the partial text is kept."""
SafetyAction = Literal["none", "softened", "regenerated", "replaced", "blocked"]
SafetyKind = Literal["crisis", "toxicity", "blocklist", "manipulation", "intensity", "other"]
Split = Literal["train", "holdout"]
RunStatus = Literal["running", "succeeded", "failed", "rejected", "cancelled"]
AdapterKind = Literal["sft", "dpo", "kto"]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
MESSAGE_STATUSES: tuple[str, ...] = ("complete", "generating", "interrupted", "stopped")
EDITED_FROM = "edited_from"
"""The key, in an edited candidate's params, of the candidate the user rewrote."""
SAFETY_ACTIONS: tuple[str, ...] = ("none", "softened", "regenerated", "replaced", "blocked")
SPLITS: tuple[str, ...] = ("train", "holdout")
MemoryKind = Literal["name", "person", "pet", "plan", "like", "dislike", "boundary", "note"]
"""The kinds companion.memory.extract suggests; "note" is anything in the user's words."""
MemoryStatus = Literal["active", "suggested", "dismissed"]
"""``suggested``: extracted at a conversation's end, waiting for the user to accept it;
``dismissed``: a suggestion the user said no to, or a suggested note they forgot, kept only as
a hash of its text (:func:`dismissed_text`) so the same fact is not suggested again."""
MemorySource = Literal["user", "chat", "suggested"]
"""``user``: added by hand (CLI/TUI); ``chat``: "remember that ..."; ``suggested``: extracted."""
MEMORY_KINDS: tuple[str, ...] = get_args(MemoryKind)
MEMORY_STATUSES: tuple[str, ...] = get_args(MemoryStatus)
MEMORY_SOURCES: tuple[str, ...] = get_args(MemorySource)
MAX_MEMORY_CHARS = 500
"""A note is a short fact; anything longer is trimmed (companion.memory.notes) or refused."""


JSONObject: TypeAlias = Mapping[str, object]
"""What a caller gives for a JSON object column: values that JSON can encode. The store
keeps a copy; the column reads back as a plain dict."""


# Deterministic constraint names, so later migrations (SQLite batch mode) can address them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python (SQLite has no time zones)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON (not JSONB) so the same migration works on SQLite and PostgreSQL; nothing queries inside.
JSONType = JSON()


def _created() -> Any:  # Any: what sqlmodel.Field returns, to stand as a field's default
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class _Stamped(SQLModel):
    created_at: datetime = _created()


# --- conversations -------------------------------------------------------------------------


class ConversationBase(_Stamped):
    persona: str = Field(max_length=200)
    title: str | None = Field(default=None, sa_type=Text)
    never_train: bool = False
    """Set by a crisis event (or the user): nothing from it is ever used for training."""
    uid: str = Field(max_length=64, unique=True)
    """Stable identity across export/import, so importing the same file twice is a no-op."""
    updated_at: datetime = _created()


class Conversation(ConversationBase, table=True):
    __tablename__: ClassVar[str] = "conversation"
    __table_args__ = (Index("ix_conversation_updated_at", "updated_at"),)

    id: int | None = Field(default=None, primary_key=True)


class MessageBase(_Stamped):
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="message.id", ondelete="CASCADE")
    """The message this one answers or follows; siblings are branches (an edit starts one)."""
    role: str = Field(max_length=16)
    text: str = Field(default="", sa_type=Text)
    status: str = Field(default="complete", max_length=16)
    # Plain integers, not foreign keys: candidate.message_id already points here, and a
    # circular FK pair needs deferred constraints. The repository keeps them consistent.
    shown_candidate_id: int | None = None
    """Assistant turns: the candidate whose text is the message text now."""
    chosen_candidate_id: int | None = None
    """Assistant turns: the candidate the user last picked among alternatives."""


class Message(MessageBase, table=True):
    __tablename__: ClassVar[str] = "message"
    __table_args__ = (
        Index("ix_message_conversation_id_id", "conversation_id", "id"),
        Index("ix_message_parent_id", "parent_id"),
    )

    id: int | None = Field(default=None, primary_key=True)


class CandidateBase(_Stamped):
    message_id: int = Field(foreign_key="message.id", ondelete="CASCADE")
    """The assistant message (turn) this candidate is an alternative for."""
    index: int = 0
    """Position among the turn's candidates, 0-based, in generation order."""
    text: str = Field(default="", sa_type=Text)
    """What the user could see: the text after the safety pipeline."""
    raw_text: str | None = Field(default=None, sa_type=Text)
    """The model's text before safety changed it (None when unchanged)."""
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    base_model: str | None = Field(default=None, max_length=500)
    adapter_version: str | None = Field(default=None, max_length=100)
    safety: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    """Scores from the safety pipeline (toxicity labels, intensity, ...)."""
    safety_action: str = Field(default="none", max_length=16)
    latency: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    """ttft_ms, tokens_per_s, total_ms."""
    shown: bool = False
    """Whether the user has seen this candidate."""


class Candidate(CandidateBase, table=True):
    __tablename__: ClassVar[str] = "candidate"
    __table_args__ = (UniqueConstraint("message_id", "index", name="uq_candidate_message_index"),)

    id: int | None = Field(default=None, primary_key=True)


# --- feedback ------------------------------------------------------------------------------


class RatingBase(_Stamped):
    candidate_id: int = Field(foreign_key="candidate.id", ondelete="CASCADE", unique=True)
    value: int
    """+1 thumbs up, -1 thumbs down."""
    reason: str | None = Field(default=None, max_length=100)
    comment: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = _created()


class Rating(RatingBase, table=True):
    """The current rating of a candidate (at most one); undo deletes it."""

    __tablename__: ClassVar[str] = "rating"
    __table_args__ = (Index("ix_rating_updated_at", "updated_at"),)

    id: int | None = Field(default=None, primary_key=True)


class RatingEvent(_Stamped, table=True):
    """Append-only audit trail of every rate / change / undo (value None = undone)."""

    __tablename__: ClassVar[str] = "rating_event"
    __table_args__ = (Index("ix_rating_event_candidate_id", "candidate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", ondelete="CASCADE")
    value: int | None = None
    reason: str | None = Field(default=None, max_length=100)
    comment: str | None = Field(default=None, sa_type=Text)


class ChoiceBase(_Stamped):
    message_id: int = Field(foreign_key="message.id", ondelete="CASCADE")
    candidate_id: int = Field(foreign_key="candidate.id", ondelete="CASCADE")


class Choice(ChoiceBase, table=True):
    """The user picked this candidate among the turn's alternatives (the last one counts)."""

    __tablename__: ClassVar[str] = "choice"
    __table_args__ = (
        Index("ix_choice_message_id", "message_id"),
        Index("ix_choice_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)


class SafetyEventBase(_Stamped):
    conversation_id: int = Field(foreign_key="conversation.id", ondelete="CASCADE")
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id", ondelete="SET NULL")
    kind: str = Field(max_length=32)
    action: str = Field(max_length=32)
    scores: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    thresholds: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    original_text: str | None = Field(default=None, sa_type=Text)
    final_text: str | None = Field(default=None, sa_type=Text)


class SafetyEvent(SafetyEventBase, table=True):
    __tablename__: ClassVar[str] = "safety_event"
    __table_args__ = (Index("ix_safety_event_conversation_id", "conversation_id"),)

    id: int | None = Field(default=None, primary_key=True)


# --- learning ------------------------------------------------------------------------------


def pair_hash(prompt: Sequence[Mapping[str, object]], chosen: str, rejected: str) -> str:
    """Content hash of a pair: the same context and sides give the same hash."""
    blob = json.dumps([prompt, chosen, rejected], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class PreferencePairBase(_Stamped):
    conversation_id: int | None = Field(
        default=None, foreign_key="conversation.id", ondelete="CASCADE"
    )
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="CASCADE")
    prompt: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    """TRL conversational prompt: the context messages, persona system prompt included."""
    chosen: str = Field(sa_type=Text)
    rejected: str = Field(sa_type=Text)
    source: str = Field(max_length=32)
    """The rule that made the pair (e.g. choice, thumbs, replaced, safety)."""
    split: str = Field(default="train", max_length=16)
    hash: str = Field(default="", max_length=64, unique=True)
    """sha256 of prompt+chosen+rejected; filled in by the repository when empty."""
    chosen_candidate_id: int | None = None
    rejected_candidate_id: int | None = None


class PreferencePair(PreferencePairBase, table=True):
    __tablename__: ClassVar[str] = "preference_pair"
    __table_args__ = (
        Index("ix_preference_pair_conversation_id", "conversation_id"),
        Index("ix_preference_pair_split", "split"),
    )

    id: int | None = Field(default=None, primary_key=True)


class TrainingRunBase(SQLModel):
    method: str = Field(default="dpo", max_length=16)
    status: str = Field(default="running", max_length=16)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    """Data counts (pairs by source, train/holdout sizes, ...)."""
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    adapter_version: str | None = Field(default=None, max_length=100)
    """The version this run produced, if any."""
    started_at: datetime = _created()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TrainingRun(TrainingRunBase, table=True):
    __tablename__: ClassVar[str] = "training_run"
    __table_args__ = (Index("ix_training_run_started_at", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)


class AdapterVersionBase(_Stamped):
    version: str = Field(max_length=100, unique=True)
    kind: str = Field(default="dpo", max_length=16)
    path: str = Field(sa_type=Text)
    parent_version: str | None = Field(default=None, max_length=100)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    active: bool = False
    merged_path: str | None = Field(default=None, sa_type=Text)
    training_run_id: int | None = Field(
        default=None, foreign_key="training_run.id", ondelete="SET NULL"
    )


class AdapterVersion(AdapterVersionBase, table=True):
    __tablename__: ClassVar[str] = "adapter_version"
    # A partial unique index: the database itself guarantees at most one active adapter.
    __table_args__ = (
        Index(
            "uq_adapter_version_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)


# --- memory --------------------------------------------------------------------------------


def memory_key(text: str) -> str:
    """What makes two notes the same note: case, spacing and final punctuation aside."""
    return " ".join(text.split()).casefold().rstrip(".!")


def dismissed_text(text: str) -> str:
    """What a dismissed note keeps of its text: a hash, never the words.

    >>> dismissed_text("Your dog is called Rex.") == dismissed_text("your dog is called rex")
    True
    """
    import hashlib

    return "dismissed:" + hashlib.sha256(memory_key(text).encode()).hexdigest()[:40]


class MemoryBase(_Stamped):
    text: str = Field(sa_type=Text)
    """The note, at most MAX_MEMORY_CHARS, no control characters (the store checks)."""
    kind: str = Field(default="note", max_length=16)
    persona: str | None = Field(default=None, max_length=200)
    """None: shared by every persona; a persona key: only that one."""
    status: str = Field(default="active", max_length=16)
    source: str = Field(default="user", max_length=16)
    # CASCADE: whatever deletes a conversation deletes what came only from it. A note the
    # user also stated elsewhere or by hand has its link cleared by the store instead.
    conversation_id: int | None = Field(
        default=None, foreign_key="conversation.id", ondelete="CASCADE"
    )
    """The conversation the note came from (None: added by hand, or stated in several)."""
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    """The user message it came from; deleting that turn keeps the note."""
    uid: str = Field(max_length=64, unique=True)
    """Stable identity across export/import, so importing the same file twice is a no-op."""
    updated_at: datetime = _created()


class Memory(MemoryBase, table=True):
    """A short note about the user, which the prompt may recall (see companion.memory)."""

    __tablename__: ClassVar[str] = "memory"
    __table_args__ = (
        Index("ix_memory_status_persona", "status", "persona"),
        Index("ix_memory_conversation_id", "conversation_id"),
    )

    id: int | None = Field(default=None, primary_key=True)


TABLES: tuple[type[SQLModel], ...] = (
    Conversation,
    Message,
    Candidate,
    Rating,
    RatingEvent,
    Choice,
    SafetyEvent,
    PreferencePair,
    TrainingRun,
    AdapterVersion,
    Memory,
)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for Core statements and column lists."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel leaves it undeclared
    return table


def column_names(model: type[SQLModel]) -> tuple[str, ...]:
    """A table model's columns, in table order (the key ``id`` included)."""
    return tuple(c.key for c in table_of(model).columns)
