"""Messages: a conversation is a tree (siblings are branches); append, edit, walk, recover."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feedback.models import MESSAGE_STATUSES, ROLES, Conversation, Message
from feedback.store.base import NotFound, StoreBase, check_choice
from feedback.store.conversations import title_from


class MessageRepo(StoreBase):
    def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        parent_id: int | None = None,
        status: str = "complete",
    ) -> Message:
        """Append a message. A user message in an untitled conversation titles it."""
        check_choice(role, ROLES, "role")
        check_choice(status, MESSAGE_STATUSES, "status")
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
                conv.title = title_from(text)
            s.add(conv)
            s.flush()
            return msg

        return self._write(do)

    def get_message(self, message_id: int) -> Message | None:
        return self._find(Message, message_id)

    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation (all branches), oldest first."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.id))
        )
        return self._all(stmt)

    def update_message(
        self, message_id: int, *, text: str | None = None, status: str | None = None
    ) -> Message:
        if status is not None:
            check_choice(status, MESSAGE_STATUSES, "status")

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
            s.exec(delete(Message).where(col(Message.id) == message_id))
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
        path = self._all(stmt)
        if not path:
            raise NotFound(f"message {message_id} not found")
        return path

    def children(self, message_id: int) -> list[Message]:
        """Direct replies to a message; more than one means branches. Oldest first."""
        stmt = select(Message).where(col(Message.parent_id) == message_id).order_by(col(Message.id))
        return self._all(stmt)

    def roots(self, conversation_id: int) -> list[Message]:
        """The first messages of a conversation (several when the first message was edited)."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .where(col(Message.parent_id).is_(None))
            .order_by(col(Message.id))
        )
        return self._all(stmt)

    def latest_leaf(self, conversation_id: int) -> Message | None:
        """The most recently written message: the end of the branch to resume."""
        stmt = (
            select(Message)
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        return self._first(stmt)

    def recover_interrupted(self) -> int:
        """Mark replies left ``generating`` by a crash as ``interrupted``. Call at start."""

        def do(s: Session) -> int:
            res = s.exec(
                update(Message)
                .where(col(Message.status) == "generating")
                .values(status="interrupted")
            )
            return int(res.rowcount)

        return self._write(do)
