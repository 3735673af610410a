"""Ratings (thumbs, with their audit trail) and choices: the feedback align learns from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feedback.models import Candidate, Choice, Message, Rating, RatingEvent
from feedback.store.base import StoreBase


class RatingRepo(StoreBase):
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
        return self._first(select(Rating).where(col(Rating.candidate_id) == candidate_id))

    def ratings_for_message(self, message_id: int) -> dict[int, Rating]:
        """Current ratings of a turn's candidates, by candidate id."""
        stmt = (
            select(Rating)
            .join(Candidate, col(Candidate.id) == col(Rating.candidate_id))
            .where(col(Candidate.message_id) == message_id)
        )
        with self._session() as s:
            return {r.candidate_id: r for r in s.exec(stmt)}

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

    def rating_history(self, candidate_id: int) -> list[RatingEvent]:
        stmt = (
            select(RatingEvent)
            .where(col(RatingEvent.candidate_id) == candidate_id)
            .order_by(col(RatingEvent.id))
        )
        return self._all(stmt)

    def choices(self, message_id: int) -> list[Choice]:
        stmt = select(Choice).where(col(Choice.message_id) == message_id).order_by(col(Choice.id))
        return self._all(stmt)

    def feedback_count_since(self, ts: datetime | None) -> int:
        """Ratings set or changed, plus choices made, after `ts` (everything when None)."""
        r_stmt = sa_select(func.count()).select_from(Rating)
        c_stmt = sa_select(func.count()).select_from(Choice)
        if ts is not None:
            r_stmt = r_stmt.where(col(Rating.updated_at) > ts)
            c_stmt = c_stmt.where(col(Choice.created_at) > ts)
        with self._session() as s:
            return int(s.execute(r_stmt).scalar_one()) + int(s.execute(c_stmt).scalar_one())
