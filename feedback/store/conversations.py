"""Conversations: create, find (newest activity first, searchable), rename, delete."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feedback.models import Conversation, Message
from feedback.store.base import StoreBase
from feedback.store.pairs import delete_conversation_pairs

TITLE_CHARS = 60


def title_from(text: str) -> str | None:
    """A conversation title from its first user message: the first line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not line:
        return None
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


class ConversationRepo(StoreBase):
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
        return self._add(conv)

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        return self._find(Conversation, conversation_id)

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
        return self._all(stmt)

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
            res = s.exec(delete(Conversation).where(col(Conversation.id) == conversation_id))
            return bool(res.rowcount)

        return self._write(do)

    def set_never_train(self, conversation_id: int, value: bool = True) -> int:
        """Mark a conversation as never to be trained on; drops its pairs. Returns how many."""

        def do(s: Session) -> int:
            conv = self._get(s, Conversation, conversation_id)
            conv.never_train = value
            s.add(conv)
            if not value:
                return 0
            return delete_conversation_pairs(s, conversation_id)

        return self._write(do)
