"""Forgetting and stats: row counts of the user's data, memories too, and deleting it."""

from __future__ import annotations

import sqlite3

from sqlalchemy import ColumnElement, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col

from feedback.db import sqlite_path
from feedback.models import (
    Candidate,
    Choice,
    Conversation,
    Memory,
    Message,
    PreferencePair,
    Rating,
    RatingEvent,
    SafetyEvent,
)
from feedback.store.base import StoreBase


def _scopes(conversation_id: int | None) -> dict[str, tuple[type[SQLModel], ColumnElement[bool]]]:
    """Each counted table, by its name in `stats`, with what puts a row in the conversation."""
    msg_ids = sa_select(col(Message.id)).where(col(Message.conversation_id) == conversation_id)
    cand_ids = sa_select(col(Candidate.id)).where(col(Candidate.message_id).in_(msg_ids))
    return {
        "conversations": (Conversation, col(Conversation.id) == conversation_id),
        "messages": (Message, col(Message.conversation_id) == conversation_id),
        "candidates": (Candidate, col(Candidate.message_id).in_(msg_ids)),
        "ratings": (Rating, col(Rating.candidate_id).in_(cand_ids)),
        "rating_events": (RatingEvent, col(RatingEvent.candidate_id).in_(cand_ids)),
        "choices": (Choice, col(Choice.message_id).in_(msg_ids)),
        "safety_events": (SafetyEvent, col(SafetyEvent.conversation_id) == conversation_id),
        "pairs": (PreferencePair, col(PreferencePair.conversation_id) == conversation_id),
        # A note keeps its link only while it came from that conversation alone (the store
        # clears it otherwise), so these are exactly what forgetting it must take.
        "memories": (Memory, col(Memory.conversation_id) == conversation_id),
    }


class ForgettingRepo(StoreBase):
    def _counts(self, s: Session, conversation_id: int | None) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, (model, in_conversation) in _scopes(conversation_id).items():
            stmt = sa_select(func.count()).select_from(model)
            if conversation_id is not None:
                stmt = stmt.where(in_conversation)
            out[name] = int(s.execute(stmt).scalar_one())
        return out

    def stats(self) -> dict[str, int]:
        """Row counts of the user's data, for doctor/status displays."""
        with self._session() as s:
            return self._counts(s, None)

    def forget_conversation(self, conversation_id: int) -> dict[str, int]:
        """Delete a conversation and all that derives from it (the memories that came only
        from it too; the foreign key cascades); returns what was removed."""

        def do(s: Session) -> dict[str, int]:
            self._get(s, Conversation, conversation_id)
            counts = self._counts(s, conversation_id)
            s.exec(delete(Conversation).where(col(Conversation.id) == conversation_id))
            return counts

        counts = self._write(do)
        self._checkpoint()
        return counts

    def forget_all(self) -> dict[str, int]:
        """Delete every conversation, rating, pair and memory (those added by hand too).
        Training runs and adapters stay."""

        def do(s: Session) -> dict[str, int]:
            counts = self._counts(s, None)
            s.exec(delete(Memory))
            s.exec(delete(PreferencePair))
            s.exec(delete(Conversation))
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
            conn = raw.driver_connection
            assert isinstance(conn, sqlite3.Connection)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
