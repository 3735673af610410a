"""Safety events: what the safety pipeline decided, and the crisis rule (never train)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from feedback.models import Conversation, JSONObject, SafetyEvent
from feedback.store.base import StoreBase
from feedback.store.pairs import delete_conversation_pairs


class SafetyRepo(StoreBase):
    def record_safety_event(
        self,
        conversation_id: int,
        kind: str,
        action: str,
        *,
        message_id: int | None = None,
        candidate_id: int | None = None,
        scores: JSONObject | None = None,
        thresholds: JSONObject | None = None,
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
                delete_conversation_pairs(s, conversation_id)
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
        return self._all(stmt.order_by(col(SafetyEvent.id)))
