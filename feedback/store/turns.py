"""The scan align makes: every assistant turn with its context and candidates, streamed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import select as sa_select

from feedback.models import EDITED_FROM, Candidate, Conversation, Message, Rating, table_of
from feedback.store.base import StoreBase


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
    edited_from: int | None = None
    """The candidate this one is the user's edit of (the reply they wanted), or None."""


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


class _MessageRow(Protocol):
    """A row of the message cursor in `iter_turns` (the labels it selects)."""

    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    text: str


class _CandidateRow(Protocol):
    """A row of the candidate cursor in `iter_turns`: the candidate, its turn and rating."""

    conversation_id: int
    message_id: int
    parent_id: int | None
    status: str
    message_created_at: datetime
    chosen_candidate_id: int | None
    persona: str
    never_train: bool
    id: int
    index: int
    text: str
    raw_text: str | None
    shown: bool
    safety_action: str
    adapter_version: str | None
    created_at: datetime
    params: dict[str, object] | None
    rating: int | None
    reason: str | None


def edited_from(params: object) -> int | None:
    """The original's id in an edited candidate's params, or None (also for bad data)."""
    value = params.get(EDITED_FROM) if isinstance(params, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _turn(rows: list[_CandidateRow], nodes: dict[int, tuple[int | None, str, str]]) -> TurnRecord:
    """One turn from its candidate rows and the messages of its conversation."""
    first = rows[0]
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
            edited_from=edited_from(r.params),
        )
        for r in rows
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


class TurnRepo(StoreBase):
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
        conv_t = table_of(Conversation)
        msg_t = table_of(Message)
        cand_t = table_of(Candidate)
        rating_t = table_of(Rating)
        msg_stmt = sa_select(
            msg_t.c.id, msg_t.c.conversation_id, msg_t.c.parent_id, msg_t.c.role, msg_t.c.text
        ).order_by(msg_t.c.conversation_id, msg_t.c.id)
        cand_stmt = (
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
                cand_t.c.params,
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
            # The rows carry the labels selected above; the Protocols name their types.
            msg_rows = iter(cast(Iterable[_MessageRow], streaming.execute(msg_stmt)))
            cand_rows = cast(Iterable[_CandidateRow], streaming.execute(cand_stmt))
            pending_msg = next(msg_rows, None)
            conv_id: int | None = None
            nodes: dict[int, tuple[int | None, str, str]] = {}
            turn_rows: list[_CandidateRow] = []
            for row in cand_rows:
                # Finish the previous turn before its conversation's messages are dropped.
                if turn_rows and turn_rows[0].message_id != row.message_id:
                    yield _turn(turn_rows, nodes)
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
                yield _turn(turn_rows, nodes)
