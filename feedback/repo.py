"""The repository: every read and write the app, the engine and align make to the database.

``Store`` wraps an injected Engine (and clock). Each write runs in its own transaction and is
committed before the method returns, so a caller that got a result back may tell the user it
is saved. Returned ORM objects are detached and fully loaded (``expire_on_commit=False``);
they stay usable after the session is gone but are snapshots: re-read to see later changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from feedback.db import WRITE_OPTION, is_sqlite, make_engine, migrate, retrying, sqlite_path
from feedback.models import (
    MESSAGE_STATUSES,
    ROLES,
    SAFETY_ACTIONS,
    SPLITS,
    AdapterVersion,
    Candidate,
    Choice,
    Conversation,
    Message,
    PreferencePair,
    Rating,
    RatingEvent,
    SafetyEvent,
    TrainingRun,
    pair_hash,
    utcnow,
)

T = TypeVar("T")

TITLE_CHARS = 60
_TERMINAL_RUN_STATUSES = {"succeeded", "failed", "rejected", "cancelled"}


class NotFound(LookupError):
    """The id (or version) names nothing in the database."""


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    """One candidate of a turn, as align sees it."""

    id: int
    index: int
    text: str
    raw_text: str | None
    rating: int | None
    """+1, -1, or None when unrated."""
    reason: str | None
    chosen: bool
    """The user picked this one among the alternatives (the last pick counts)."""
    shown: bool
    safety_action: str
    adapter_version: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """An assistant turn with its context and candidates; plain data, no ORM."""

    conversation_id: int
    message_id: int
    persona: str
    never_train: bool
    status: str
    context: list[dict[str, str]]
    """The branch up to (and including) the user message this turn answers, as
    ``{"role", "content"}`` dicts, oldest first. No persona system prompt: align adds it."""
    candidates: tuple[CandidateRecord, ...] = field(default_factory=tuple)
    created_at: datetime | None = None


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


def _title_from(text: str) -> str | None:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line:
        return None
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


class Store:
    """Repository over an injected Engine. Thread-safe: each call uses its own session."""

    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self._now = now
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})

    def close(self) -> None:
        """Close the engine's pooled connections (the Store is unusable afterwards)."""
        self.engine.dispose()

    # --- plumbing --------------------------------------------------------------------------

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one write transaction and commit; retried on transient lock errors."""

        def attempt() -> T:
            with Session(self._write_engine, expire_on_commit=False) as s:
                result = fn(s)
                s.commit()
                return result

        return retrying(attempt)

    @staticmethod
    def _get(s: Session, model: type[T], ident: int) -> T:
        obj = s.get(model, ident)
        if obj is None:
            raise NotFound(f"{model.__name__.lower()} {ident} not found")
        return obj

    def _touch(self, s: Session, conversation_id: int) -> None:
        s.execute(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(updated_at=self._now())
        )

    # --- conversations ---------------------------------------------------------------------

    def create_conversation(
        self, persona: str, title: str | None = None, *, uid: str | None = None
    ) -> Conversation:
        now = self._now()
        conv = Conversation(
            persona=persona,
            title=title,
            uid=uid or uuid.uuid4().hex,
            created_at=now,
            updated_at=now,
        )

        def do(s: Session) -> Conversation:
            s.add(conv)
            s.flush()
            return conv

        return self._write(do)

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        with self._session() as s:
            return s.get(Conversation, conversation_id)

    def list_conversations(
        self, search: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Conversation]:
        """Newest activity first. `search` matches the title or any message text,
        case-insensitively, as a plain substring (no wildcards)."""
        stmt = select(Conversation)
        if search:
            in_messages = (
                sa_select(col(Message.id))
                .where(col(Message.conversation_id) == Conversation.id)
                .where(col(Message.text).icontains(search, autoescape=True))
                .exists()
            )
            stmt = stmt.where(
                or_(col(Conversation.title).icontains(search, autoescape=True), in_messages)
            )
        stmt = (
            stmt.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
            .offset(offset)
            .limit(limit)
        )
        with self._session() as s:
            return list(s.exec(stmt))

    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        def do(s: Session) -> Conversation:
            conv = self._get(s, Conversation, conversation_id)
            conv.title = title
            conv.updated_at = self._now()
            s.add(conv)
            return conv

        return self._write(do)

    def delete_conversation(self, conversation_id: int) -> bool:
        """Delete a conversation and everything in it (derived pairs too). False if absent."""

        def do(s: Session) -> bool:
            res = s.execute(delete(Conversation).where(col(Conversation.id) == conversation_id))
            return bool(res.rowcount)  # type: ignore[attr-defined]

        return self._write(do)

    def set_never_train(self, conversation_id: int, value: bool = True) -> int:
        """Mark a conversation as never to be trained on; drops its pairs. Returns how many."""

        def do(s: Session) -> int:
            conv = self._get(s, Conversation, conversation_id)
            conv.never_train = value
            s.add(conv)
            if not value:
                return 0
            res = s.execute(
                delete(PreferencePair).where(col(PreferencePair.conversation_id) == conversation_id)
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        return self._write(do)

    # --- messages --------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        parent_id: int | None = None,
        status: str = "complete",
    ) -> Message:
        """Append a message. A user message in an untitled conversation titles it."""
        _check(role, ROLES, "role")
        _check(status, MESSAGE_STATUSES, "status")
        now = self._now()

        def do(s: Session) -> Message:
            conv = self._get(s, Conversation, conversation_id)
            if parent_id is not None:
                parent = self._get(s, Message, parent_id)
                if parent.conversation_id != conversation_id:
                    raise ValueError(f"parent message {parent_id} is in another conversation")
            msg = Message(
                conversation_id=conversation_id,
                parent_id=parent_id,
                role=role,
                text=text,
                status=status,
                created_at=now,
            )
            s.add(msg)
            conv.updated_at = now
            if conv.title is None and role == "user":
                conv.title = _title_from(text)
            s.add(conv)
            s.flush()
            return msg

        return self._write(do)

    def get_message(self, message_id: int) -> Message | None:
        with self._session() as s:
            return s.get(Message, message_id)

    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation (all branches), oldest first."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.id))
        )
        with self._session() as s:
            return list(s.exec(stmt))

    def update_message(
        self, message_id: int, *, text: str | None = None, status: str | None = None
    ) -> Message:
        if status is not None:
            _check(status, MESSAGE_STATUSES, "status")

        def do(s: Session) -> Message:
            msg = self._get(s, Message, message_id)
            if text is not None:
                msg.text = text
            if status is not None:
                msg.status = status
            s.add(msg)
            self._touch(s, msg.conversation_id)
            return msg

        return self._write(do)

    def delete_message(self, message_id: int) -> int:
        """Delete a turn: the message and all its descendants. Returns how many went."""

        def do(s: Session) -> int:
            msg = self._get(s, Message, message_id)
            ids = [message_id]
            frontier = [message_id]
            while frontier:
                found = s.exec(select(col(Message.id)).where(col(Message.parent_id).in_(frontier)))
                frontier = [i for i in found if i is not None]
                ids.extend(frontier)
            # ON DELETE CASCADE removes descendants, candidates, ratings and choices.
            s.execute(delete(Message).where(col(Message.id) == message_id))
            self._touch(s, msg.conversation_id)
            return len(ids)

        return self._write(do)

    def branch_path(self, message_id: int) -> list[Message]:
        """The messages from the root down to `message_id`, inclusive."""
        anc = (
            sa_select(col(Message.id), col(Message.parent_id))
            .where(col(Message.id) == message_id)
            .cte("ancestors", recursive=True)
        )
        anc = anc.union_all(
            sa_select(col(Message.id), col(Message.parent_id)).join(
                anc, col(Message.id) == anc.c.parent_id
            )
        )
        # A parent always exists before its child, so id order is root-first.
        stmt = (
            select(Message)
            .where(col(Message.id).in_(sa_select(anc.c.id)))
            .order_by(col(Message.id))
        )
        with self._session() as s:
            path = list(s.exec(stmt))
        if not path:
            raise NotFound(f"message {message_id} not found")
        return path

    def children(self, message_id: int) -> list[Message]:
        """Direct replies to a message; more than one means branches. Oldest first."""
        stmt = select(Message).where(col(Message.parent_id) == message_id).order_by(col(Message.id))
        with self._session() as s:
            return list(s.exec(stmt))

    def roots(self, conversation_id: int) -> list[Message]:
        """The first messages of a conversation (several when the first message was edited)."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .where(col(Message.parent_id).is_(None))
            .order_by(col(Message.id))
        )
        with self._session() as s:
            return list(s.exec(stmt))

    def latest_leaf(self, conversation_id: int) -> Message | None:
        """The most recently written message: the end of the branch to resume."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        with self._session() as s:
            return s.exec(stmt).first()

    def recover_interrupted(self) -> int:
        """Mark replies left ``generating`` by a crash as ``interrupted``. Call at start."""

        def do(s: Session) -> int:
            res = s.execute(
                update(Message)
                .where(col(Message.status) == "generating")
                .values(status="interrupted")
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        return self._write(do)

    # --- candidates ------------------------------------------------------------------------

    def add_candidate(
        self,
        message_id: int,
        text: str,
        *,
        raw_text: str | None = None,
        params: dict[str, Any] | None = None,
        base_model: str | None = None,
        adapter_version: str | None = None,
        safety: dict[str, Any] | None = None,
        safety_action: str = "none",
        latency: dict[str, Any] | None = None,
        shown: bool = False,
    ) -> Candidate:
        """Record a generated reply for an assistant turn. ``shown=True`` also makes it the
        message's text (as `show_candidate` does)."""
        _check(safety_action, SAFETY_ACTIONS, "safety_action")
        now = self._now()

        def do(s: Session) -> Candidate:
            msg = self._get(s, Message, message_id)
            if msg.role != "assistant":
                raise ValueError(f"message {message_id} is a {msg.role} message, not a reply")
            last = s.exec(
                select(func.max(Candidate.index)).where(col(Candidate.message_id) == message_id)
            ).one()
            cand = Candidate(
                message_id=message_id,
                index=0 if last is None else last + 1,
                text=text,
                raw_text=raw_text,
                params=dict(params or {}),
                base_model=base_model,
                adapter_version=adapter_version,
                safety=dict(safety or {}),
                safety_action=safety_action,
                latency=dict(latency or {}),
                shown=shown,
                created_at=now,
            )
            s.add(cand)
            s.flush()
            if shown:
                msg.shown_candidate_id = cand.id
                msg.text = text
                s.add(msg)
            self._touch(s, msg.conversation_id)
            return cand

        return self._write(do)

    def update_candidate(
        self,
        candidate_id: int,
        *,
        text: str | None = None,
        raw_text: str | None = None,
        safety: dict[str, Any] | None = None,
        safety_action: str | None = None,
        latency: dict[str, Any] | None = None,
    ) -> Candidate:
        """Fill in a candidate recorded before its generation finished (None = unchanged)."""
        if safety_action is not None:
            _check(safety_action, SAFETY_ACTIONS, "safety_action")

        def do(s: Session) -> Candidate:
            cand = self._get(s, Candidate, candidate_id)
            if text is not None:
                cand.text = text
            if raw_text is not None:
                cand.raw_text = raw_text
            if safety is not None:
                cand.safety = dict(safety)
            if safety_action is not None:
                cand.safety_action = safety_action
            if latency is not None:
                cand.latency = dict(latency)
            s.add(cand)
            if text is not None:
                msg = self._get(s, Message, cand.message_id)
                if msg.shown_candidate_id == cand.id:
                    msg.text = text
                    s.add(msg)
            return cand

        return self._write(do)

    def get_candidate(self, candidate_id: int) -> Candidate | None:
        with self._session() as s:
            return s.get(Candidate, candidate_id)

    def candidates(self, message_id: int) -> list[Candidate]:
        stmt = (
            select(Candidate)
            .where(col(Candidate.message_id) == message_id)
            .order_by(col(Candidate.index))
        )
        with self._session() as s:
            return list(s.exec(stmt))

    def candidates_for_conversation(self, conversation_id: int) -> dict[int, list[Candidate]]:
        """Every candidate of a conversation by message id, in index order (one query, for
        rendering a whole conversation)."""
        stmt = (
            select(Candidate)
            .join(Message, col(Message.id) == col(Candidate.message_id))
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Candidate.message_id), col(Candidate.index))
        )
        out: dict[int, list[Candidate]] = {}
        with self._session() as s:
            for cand in s.exec(stmt):
                out.setdefault(cand.message_id, []).append(cand)
        return out

    def ratings_for_conversation(self, conversation_id: int) -> dict[int, Rating]:
        """Current ratings of a conversation's candidates, by candidate id (one query)."""
        stmt = (
            select(Rating)
            .join(Candidate, col(Candidate.id) == col(Rating.candidate_id))
            .join(Message, col(Message.id) == col(Candidate.message_id))
            .where(col(Message.conversation_id) == conversation_id)
        )
        with self._session() as s:
            return {r.candidate_id: r for r in s.exec(stmt)}

    def _own_candidate(self, s: Session, message_id: int, candidate_id: int) -> Candidate:
        cand = self._get(s, Candidate, candidate_id)
        if cand.message_id != message_id:
            raise ValueError(f"candidate {candidate_id} is not a reply of message {message_id}")
        return cand

    def show_candidate(self, message_id: int, candidate_id: int) -> Message:
        """The user is looking at this alternative: mark it shown, make it the message text."""

        def do(s: Session) -> Message:
            cand = self._own_candidate(s, message_id, candidate_id)
            msg = self._get(s, Message, message_id)
            cand.shown = True
            msg.shown_candidate_id = cand.id
            msg.text = cand.text
            s.add_all([cand, msg])
            return msg

        return self._write(do)

    def choose(self, message_id: int, candidate_id: int) -> Choice:
        """Record that the user picked this alternative; it becomes part of the history."""
        now = self._now()

        def do(s: Session) -> Choice:
            cand = self._own_candidate(s, message_id, candidate_id)
            msg = self._get(s, Message, message_id)
            cand.shown = True
            msg.shown_candidate_id = cand.id
            msg.chosen_candidate_id = cand.id
            msg.text = cand.text
            choice = Choice(message_id=message_id, candidate_id=candidate_id, created_at=now)
            s.add_all([cand, msg, choice])
            s.flush()
            self._touch(s, msg.conversation_id)
            return choice

        return self._write(do)

    # --- ratings ---------------------------------------------------------------------------

    def rate(
        self,
        candidate_id: int,
        value: int | None,
        reason: str | None = None,
        comment: str | None = None,
    ) -> Rating | None:
        """Set (or change) the rating of a candidate; ``value=None`` undoes it.

        Every call is also appended to the rating_event audit trail.
        """
        if value not in (1, -1, None):
            raise ValueError(f"a rating is +1, -1 or None (undo), not {value!r}")
        now = self._now()

        def do(s: Session) -> Rating | None:
            self._get(s, Candidate, candidate_id)
            s.add(
                RatingEvent(
                    candidate_id=candidate_id,
                    value=value,
                    reason=reason,
                    comment=comment,
                    created_at=now,
                )
            )
            current = s.exec(select(Rating).where(col(Rating.candidate_id) == candidate_id)).first()
            if value is None:
                if current is not None:
                    s.delete(current)
                return None
            if current is None:
                current = Rating(candidate_id=candidate_id, value=value, created_at=now)
            current.value = value
            current.reason = reason
            current.comment = comment
            current.updated_at = now
            s.add(current)
            s.flush()
            return current

        return self._write(do)

    def rating_of(self, candidate_id: int) -> Rating | None:
        with self._session() as s:
            return s.exec(select(Rating).where(col(Rating.candidate_id) == candidate_id)).first()

    def ratings_for_message(self, message_id: int) -> dict[int, Rating]:
        """Current ratings of a turn's candidates, by candidate id."""
        stmt = (
            select(Rating)
            .join(Candidate, col(Candidate.id) == col(Rating.candidate_id))
            .where(col(Candidate.message_id) == message_id)
        )
        with self._session() as s:
            return {r.candidate_id: r for r in s.exec(stmt)}

    def rating_history(self, candidate_id: int) -> list[RatingEvent]:
        stmt = (
            select(RatingEvent)
            .where(col(RatingEvent.candidate_id) == candidate_id)
            .order_by(col(RatingEvent.id))
        )
        with self._session() as s:
            return list(s.exec(stmt))

    def choices(self, message_id: int) -> list[Choice]:
        stmt = select(Choice).where(col(Choice.message_id) == message_id).order_by(col(Choice.id))
        with self._session() as s:
            return list(s.exec(stmt))

    def feedback_count_since(self, ts: datetime | None) -> int:
        """Ratings set or changed, plus choices made, after `ts` (everything when None)."""
        r_stmt = sa_select(func.count()).select_from(Rating)
        c_stmt = sa_select(func.count()).select_from(Choice)
        if ts is not None:
            r_stmt = r_stmt.where(col(Rating.updated_at) > ts)
            c_stmt = c_stmt.where(col(Choice.created_at) > ts)
        with self._session() as s:
            return int(s.execute(r_stmt).scalar_one()) + int(s.execute(c_stmt).scalar_one())

    # --- safety ----------------------------------------------------------------------------

    def record_safety_event(
        self,
        conversation_id: int,
        kind: str,
        action: str,
        *,
        message_id: int | None = None,
        candidate_id: int | None = None,
        scores: dict[str, Any] | None = None,
        thresholds: dict[str, Any] | None = None,
        original_text: str | None = None,
        final_text: str | None = None,
    ) -> SafetyEvent:
        """Record a safety decision. A ``crisis`` event also marks the conversation as never
        to be trained on (and drops pairs already built from it), in the same transaction."""
        now = self._now()

        def do(s: Session) -> SafetyEvent:
            conv = self._get(s, Conversation, conversation_id)
            event = SafetyEvent(
                conversation_id=conversation_id,
                message_id=message_id,
                candidate_id=candidate_id,
                kind=kind,
                action=action,
                scores=dict(scores or {}),
                thresholds=dict(thresholds or {}),
                original_text=original_text,
                final_text=final_text,
                created_at=now,
            )
            s.add(event)
            if kind == "crisis":
                conv.never_train = True
                s.add(conv)
                s.execute(
                    delete(PreferencePair).where(
                        col(PreferencePair.conversation_id) == conversation_id
                    )
                )
            s.flush()
            return event

        return self._write(do)

    def safety_events(
        self, conversation_id: int | None = None, message_id: int | None = None
    ) -> list[SafetyEvent]:
        stmt = select(SafetyEvent)
        if conversation_id is not None:
            stmt = stmt.where(col(SafetyEvent.conversation_id) == conversation_id)
        if message_id is not None:
            stmt = stmt.where(col(SafetyEvent.message_id) == message_id)
        with self._session() as s:
            return list(s.exec(stmt.order_by(col(SafetyEvent.id))))

    # --- the scan align makes --------------------------------------------------------------

    def iter_turns(
        self,
        batch_size: int = 1000,
        *,
        include_never_train: bool = True,
        conversation_id: int | None = None,
    ) -> Iterator[TurnRecord]:
        """Every assistant turn that has candidates, conversation by conversation (or only
        those of `conversation_id`, for an incremental build when a conversation ends).

        Streamed: two ordered cursors (messages, candidates) are merged, and only the current
        conversation's messages are held in memory, so a million rows never load at once.
        Both cursors read one snapshot of the database.
        """
        conv_t = Conversation.__table__  # type: ignore[attr-defined]
        msg_t = Message.__table__  # type: ignore[attr-defined]
        cand_t = Candidate.__table__  # type: ignore[attr-defined]
        rating_t = Rating.__table__  # type: ignore[attr-defined]
        msg_stmt: Select[Any] = sa_select(
            msg_t.c.id, msg_t.c.conversation_id, msg_t.c.parent_id, msg_t.c.role, msg_t.c.text
        ).order_by(msg_t.c.conversation_id, msg_t.c.id)
        cand_stmt: Select[Any] = (
            sa_select(
                msg_t.c.conversation_id,
                cand_t.c.message_id,
                msg_t.c.parent_id,
                msg_t.c.status,
                msg_t.c.created_at.label("message_created_at"),
                msg_t.c.chosen_candidate_id,
                conv_t.c.persona,
                conv_t.c.never_train,
                cand_t.c.id,
                cand_t.c.index,
                cand_t.c.text,
                cand_t.c.raw_text,
                cand_t.c.shown,
                cand_t.c.safety_action,
                cand_t.c.adapter_version,
                cand_t.c.created_at,
                rating_t.c.value.label("rating"),
                rating_t.c.reason,
            )
            .join(msg_t, msg_t.c.id == cand_t.c.message_id)
            .join(conv_t, conv_t.c.id == msg_t.c.conversation_id)
            .outerjoin(rating_t, rating_t.c.candidate_id == cand_t.c.id)
            .order_by(msg_t.c.conversation_id, msg_t.c.id, cand_t.c.index)
        )
        if not include_never_train:
            cand_stmt = cand_stmt.where(conv_t.c.never_train.is_(False))
        if conversation_id is not None:
            msg_stmt = msg_stmt.where(msg_t.c.conversation_id == conversation_id)
            cand_stmt = cand_stmt.where(msg_t.c.conversation_id == conversation_id)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot for both statements (SQLite's transaction already is one).
                conn.execution_options(isolation_level="REPEATABLE READ")
            streaming = conn.execution_options(yield_per=batch_size)
            msg_rows = iter(streaming.execute(msg_stmt))
            cand_rows = streaming.execute(cand_stmt)
            pending_msg: Any = next(msg_rows, None)
            conv_id: int | None = None
            nodes: dict[int, tuple[int | None, str, str]] = {}
            turn_rows: list[Any] = []

            def flush() -> TurnRecord:
                first = turn_rows[0]
                context: list[dict[str, str]] = []
                node = first.parent_id
                while node is not None and node in nodes:
                    parent, role, text = nodes[node]
                    context.append({"role": role, "content": text})
                    node = parent
                context.reverse()
                cands = tuple(
                    CandidateRecord(
                        id=r.id,
                        index=r.index,
                        text=r.text,
                        raw_text=r.raw_text,
                        rating=r.rating,
                        reason=r.reason,
                        chosen=r.chosen_candidate_id == r.id,
                        shown=bool(r.shown),
                        safety_action=r.safety_action,
                        adapter_version=r.adapter_version,
                        created_at=r.created_at,
                    )
                    for r in turn_rows
                )
                return TurnRecord(
                    conversation_id=first.conversation_id,
                    message_id=first.message_id,
                    persona=first.persona,
                    never_train=bool(first.never_train),
                    status=first.status,
                    context=context,
                    candidates=cands,
                    created_at=first.message_created_at,
                )

            for row in cand_rows:
                # Finish the previous turn before its conversation's messages are dropped.
                if turn_rows and turn_rows[0].message_id != row.message_id:
                    yield flush()
                    turn_rows = []
                if row.conversation_id != conv_id:
                    conv_id = row.conversation_id
                    nodes = {}
                    # Both cursors are ordered by conversation: skip to this one, keep it.
                    while pending_msg is not None and pending_msg.conversation_id < conv_id:
                        pending_msg = next(msg_rows, None)
                    while pending_msg is not None and pending_msg.conversation_id == conv_id:
                        nodes[pending_msg.id] = (
                            pending_msg.parent_id,
                            pending_msg.role,
                            pending_msg.text,
                        )
                        pending_msg = next(msg_rows, None)
                turn_rows.append(row)
            if turn_rows:
                yield flush()

    # --- preference pairs ------------------------------------------------------------------

    def add_pairs(self, pairs: Iterable[PreferencePair], *, batch_size: int = 500) -> int:
        """Insert pairs, skipping any whose hash is already stored. Returns how many were new.

        Each batch commits on its own, so a long stream makes progress durably.
        """
        insert_fn = sqlite_insert if is_sqlite(self.engine) else pg_insert
        table = PreferencePair.__table__  # type: ignore[attr-defined]
        added = 0
        batch: dict[str, dict[str, Any]] = {}

        def write(rows: list[dict[str, Any]]) -> int:
            def do(s: Session) -> int:
                stmt = (
                    insert_fn(table)
                    .on_conflict_do_nothing(index_elements=["hash"])
                    .returning(table.c.id)
                )
                # RETURNING yields only the inserted rows (rowcount is -1 on psycopg).
                return len(s.execute(stmt, rows).all())

            return self._write(do)

        now = self._now()
        for p in pairs:
            _check(p.split, SPLITS, "split")
            h = p.hash or pair_hash(p.prompt, p.chosen, p.rejected)
            batch[h] = {
                "conversation_id": p.conversation_id,
                "message_id": p.message_id,
                "prompt": p.prompt,
                "chosen": p.chosen,
                "rejected": p.rejected,
                "source": p.source,
                "split": p.split,
                "hash": h,
                "chosen_candidate_id": p.chosen_candidate_id,
                "rejected_candidate_id": p.rejected_candidate_id,
                "created_at": p.created_at or now,
            }
            if len(batch) >= batch_size:
                added += write(list(batch.values()))
                batch = {}
        if batch:
            added += write(list(batch.values()))
        return added

    def iter_pairs(
        self, split: str | None = None, *, source: str | None = None, batch_size: int = 1000
    ) -> Iterator[PreferencePair]:
        """Stored pairs in insertion order, streamed; detached plain objects."""
        stmt = select(PreferencePair).order_by(col(PreferencePair.id))
        if split is not None:
            stmt = stmt.where(col(PreferencePair.split) == split)
        if source is not None:
            stmt = stmt.where(col(PreferencePair.source) == source)
        with self._session() as s:
            for pair in s.exec(stmt.execution_options(yield_per=batch_size)):
                s.expunge(pair)
                yield pair

    def count_pairs(self, split: str | None = None, *, since: datetime | None = None) -> int:
        """Stored pairs (of one split; created after `since`)."""
        stmt = sa_select(func.count()).select_from(PreferencePair)
        if split is not None:
            stmt = stmt.where(col(PreferencePair.split) == split)
        if since is not None:
            stmt = stmt.where(col(PreferencePair.created_at) > since)
        with self._session() as s:
            return int(s.execute(stmt).scalar_one())

    def pair_hashes(self, conversation_id: int | None = None) -> set[str]:
        """Content hashes of the stored pairs (of one conversation); only the hash column."""
        stmt = sa_select(col(PreferencePair.hash))
        if conversation_id is not None:
            stmt = stmt.where(col(PreferencePair.conversation_id) == conversation_id)
        with self._session() as s:
            return set(s.execute(stmt).scalars())

    def delete_pairs(self, hashes: Iterable[str]) -> int:
        """Drop pairs by content hash (pairs whose feedback has changed since)."""
        wanted = list(hashes)
        if not wanted:
            return 0

        def do(s: Session) -> int:
            stmt = delete(PreferencePair).where(col(PreferencePair.hash).in_(wanted))
            return int(s.execute(stmt).rowcount or 0)

        return self._write(do)

    def count_pairs_by_source(self) -> dict[str, int]:
        stmt = sa_select(col(PreferencePair.source), func.count()).group_by(PreferencePair.source)
        with self._session() as s:
            return {src: int(n) for src, n in s.execute(stmt)}

    def delete_pairs_for_conversation(self, conversation_id: int) -> int:
        def do(s: Session) -> int:
            res = s.execute(
                delete(PreferencePair).where(col(PreferencePair.conversation_id) == conversation_id)
            )
            return int(res.rowcount)  # type: ignore[attr-defined]

        return self._write(do)

    def clear_pairs(self) -> int:
        """Delete every stored pair (align rebuilding from scratch)."""

        def do(s: Session) -> int:
            return int(s.execute(delete(PreferencePair)).rowcount)  # type: ignore[attr-defined]

        return self._write(do)

    # --- training runs ---------------------------------------------------------------------

    def add_training_run(
        self,
        method: str = "dpo",
        config: dict[str, Any] | None = None,
        counts: dict[str, Any] | None = None,
        status: str = "running",
    ) -> TrainingRun:
        run = TrainingRun(
            method=method,
            status=status,
            config=dict(config or {}),
            counts=dict(counts or {}),
            started_at=self._now(),
        )

        def do(s: Session) -> TrainingRun:
            s.add(run)
            s.flush()
            return run

        return self._write(do)

    def update_training_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        counts: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        error: str | None = None,
        adapter_version: str | None = None,
    ) -> TrainingRun:
        """Update a run (None = unchanged); a terminal status stamps ``finished_at``."""

        def do(s: Session) -> TrainingRun:
            run = self._get(s, TrainingRun, run_id)
            if status is not None:
                run.status = status
                if status in _TERMINAL_RUN_STATUSES and run.finished_at is None:
                    run.finished_at = self._now()
            if counts is not None:
                run.counts = dict(counts)
            if metrics is not None:
                run.metrics = dict(metrics)
            if error is not None:
                run.error = error
            if adapter_version is not None:
                run.adapter_version = adapter_version
            s.add(run)
            return run

        return self._write(do)

    def get_training_run(self, run_id: int) -> TrainingRun | None:
        with self._session() as s:
            return s.get(TrainingRun, run_id)

    def list_training_runs(self, limit: int = 50) -> list[TrainingRun]:
        """Newest first."""
        stmt = select(TrainingRun).order_by(col(TrainingRun.id).desc()).limit(limit)
        with self._session() as s:
            return list(s.exec(stmt))

    def last_training_run(self, status: str | None = None) -> TrainingRun | None:
        stmt = select(TrainingRun).order_by(col(TrainingRun.id).desc()).limit(1)
        if status is not None:
            stmt = stmt.where(col(TrainingRun.status) == status)
        with self._session() as s:
            return s.exec(stmt).first()

    # --- adapter versions ------------------------------------------------------------------

    def add_adapter_version(
        self,
        version: str,
        path: str | Path,
        *,
        kind: str = "dpo",
        parent_version: str | None = None,
        metrics: dict[str, Any] | None = None,
        merged_path: str | Path | None = None,
        training_run_id: int | None = None,
    ) -> AdapterVersion:
        """Register a trained adapter (inactive; promote it with `set_active_adapter`)."""
        adapter = AdapterVersion(
            version=version,
            kind=kind,
            path=str(path),
            parent_version=parent_version,
            metrics=dict(metrics or {}),
            merged_path=None if merged_path is None else str(merged_path),
            training_run_id=training_run_id,
            active=False,
            created_at=self._now(),
        )

        def do(s: Session) -> AdapterVersion:
            s.add(adapter)
            s.flush()
            return adapter

        return self._write(do)

    def update_adapter_version(
        self,
        version: str,
        *,
        merged_path: str | Path | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> AdapterVersion:
        def do(s: Session) -> AdapterVersion:
            adapter = self._adapter(s, version)
            if merged_path is not None:
                adapter.merged_path = str(merged_path)
            if metrics is not None:
                adapter.metrics = dict(metrics)
            s.add(adapter)
            return adapter

        return self._write(do)

    @staticmethod
    def _adapter(s: Session, version: str) -> AdapterVersion:
        adapter = s.exec(
            select(AdapterVersion).where(col(AdapterVersion.version) == version)
        ).first()
        if adapter is None:
            raise NotFound(f"adapter version {version} not found")
        return adapter

    def get_adapter_version(self, version: str) -> AdapterVersion | None:
        with self._session() as s:
            return s.exec(
                select(AdapterVersion).where(col(AdapterVersion.version) == version)
            ).first()

    def list_adapter_versions(self) -> list[AdapterVersion]:
        """Oldest first."""
        with self._session() as s:
            return list(s.exec(select(AdapterVersion).order_by(col(AdapterVersion.id))))

    def active_adapter(self) -> AdapterVersion | None:
        stmt = select(AdapterVersion).where(col(AdapterVersion.active).is_(True))
        with self._session() as s:
            return s.exec(stmt).first()

    def set_active_adapter(self, version: str | None) -> AdapterVersion | None:
        """Make `version` the one active adapter (None: the base model, none active).

        One transaction: readers see the old or the new active adapter, never zero or two
        (a partial unique index enforces at most one).
        """

        def do(s: Session) -> AdapterVersion | None:
            target = None if version is None else self._adapter(s, version)
            s.execute(
                update(AdapterVersion)
                .where(col(AdapterVersion.active).is_(True))
                .values(active=False)
            )
            if target is None:
                return None
            s.execute(
                update(AdapterVersion)
                .where(col(AdapterVersion.id) == target.id)
                .values(active=True)
            )
            s.refresh(target)
            return target

        return self._write(do)

    def next_adapter_version(self) -> str:
        """``v<N+1>`` where N is the number of adapters registered so far."""
        with self._session() as s:
            n = s.execute(sa_select(func.count()).select_from(AdapterVersion)).scalar_one()
        return f"v{int(n) + 1}"

    # --- forgetting and stats --------------------------------------------------------------

    _COUNTED: tuple[tuple[str, type[Any]], ...] = (
        ("conversations", Conversation),
        ("messages", Message),
        ("candidates", Candidate),
        ("ratings", Rating),
        ("rating_events", RatingEvent),
        ("choices", Choice),
        ("safety_events", SafetyEvent),
        ("pairs", PreferencePair),
    )

    def _counts(self, s: Session, conversation_id: int | None) -> dict[str, int]:
        out: dict[str, int] = {}
        msg_ids = sa_select(col(Message.id)).where(col(Message.conversation_id) == conversation_id)
        cand_ids = sa_select(col(Candidate.id)).where(col(Candidate.message_id).in_(msg_ids))
        for name, model in self._COUNTED:
            stmt = sa_select(func.count()).select_from(model)
            if conversation_id is not None:
                if model is Conversation:
                    stmt = stmt.where(col(Conversation.id) == conversation_id)
                elif model in (Message, SafetyEvent, PreferencePair):
                    stmt = stmt.where(model.conversation_id == conversation_id)
                elif model in (Candidate, Choice):
                    stmt = stmt.where(model.message_id.in_(msg_ids))
                else:
                    stmt = stmt.where(model.candidate_id.in_(cand_ids))
            out[name] = int(s.execute(stmt).scalar_one())
        return out

    def stats(self) -> dict[str, int]:
        """Row counts of the user's data, for doctor/status displays."""
        with self._session() as s:
            return self._counts(s, None)

    def forget_conversation(self, conversation_id: int) -> dict[str, int]:
        """Delete a conversation and all that derives from it; returns what was removed."""

        def do(s: Session) -> dict[str, int]:
            self._get(s, Conversation, conversation_id)
            counts = self._counts(s, conversation_id)
            s.execute(delete(Conversation).where(col(Conversation.id) == conversation_id))
            return counts

        counts = self._write(do)
        self._checkpoint()
        return counts

    def forget_all(self) -> dict[str, int]:
        """Delete every conversation, rating and pair. Training runs and adapters stay."""

        def do(s: Session) -> dict[str, int]:
            counts = self._counts(s, None)
            s.execute(delete(PreferencePair))
            s.execute(delete(Conversation))
            return counts

        counts = self._write(do)
        self._checkpoint()
        return counts

    def _checkpoint(self) -> None:
        """Fold the WAL into the main file so deleted text does not linger in the log."""
        if sqlite_path(self.engine) is None:
            return
        raw = self.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()


def open_store(
    database_url: str, *, backup_dir: Path | None = None, now: Callable[[], datetime] = utcnow
) -> Store:
    """Engine + migration (after a backup when one is due) + crash recovery, in one call."""
    engine = make_engine(database_url)
    migrate(engine, backup_dir)
    store = Store(engine, now=now)
    store.recover_interrupted()
    return store
