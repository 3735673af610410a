"""Long-term memory: short notes about the user, per persona or shared by all.

A note's text arrives cleaned (companion.memory.notes); the store still refuses what must
never be stored. Notes are deduplicated by :func:`feedback.models.memory_key` within one
scope (one persona, or shared), so saying a thing twice keeps one note.
"""

from __future__ import annotations

import enum
import uuid
from typing import Final, Literal

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from feedback.models import (
    MAX_MEMORY_CHARS,
    MEMORY_KINDS,
    MEMORY_SOURCES,
    MEMORY_STATUSES,
    Memory,
    dismissed_text,
    memory_key,
)
from feedback.store.base import StoreBase, check_choice


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""`edit_memory(persona=KEEP)`: leave the scope as it is (None means shared)."""


def check_memory_text(text: str) -> str:
    """`text` stripped; ValueError if no store may keep it (empty, too long, controls)."""
    text = text.strip()
    if not text:
        raise ValueError("a memory needs some text")
    if len(text) > MAX_MEMORY_CHARS:
        raise ValueError(f"a memory is at most {MAX_MEMORY_CHARS} characters, not {len(text)}")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise ValueError("a memory cannot hold control characters")
    return text


def _scope_is(persona: str | None) -> ColumnElement[bool]:
    return col(Memory.persona).is_(None) if persona is None else col(Memory.persona) == persona


def _in_scope(
    stmt: SelectOfScalar[Memory], persona: str | None, include_shared: bool
) -> SelectOfScalar[Memory]:
    if persona is None:
        return stmt
    if include_shared:
        return stmt.where(or_(col(Memory.persona) == persona, col(Memory.persona).is_(None)))
    return stmt.where(col(Memory.persona) == persona)


def _newest_first(stmt: SelectOfScalar[Memory]) -> SelectOfScalar[Memory]:
    return stmt.order_by(col(Memory.created_at).desc(), col(Memory.id).desc())


class MemoryRepo(StoreBase):
    def add_memory(
        self,
        text: str,
        kind: str = "note",
        *,
        persona: str | None = None,
        status: str = "active",
        source: str = "user",
        conversation_id: int | None = None,
        message_id: int | None = None,
    ) -> Memory:
        """Store a note (`persona` None: shared). A note already in that scope comes back
        instead of a second one; an active note confirms a suggestion of the same text."""
        text = check_memory_text(text)
        check_choice(kind, MEMORY_KINDS, "kind")
        check_choice(status, MEMORY_STATUSES, "status")
        check_choice(source, MEMORY_SOURCES, "source")
        key = memory_key(text)

        def do(s: Session) -> Memory:
            same = [
                m
                for m in s.exec(select(Memory).where(_scope_is(persona)))
                if memory_key(m.text) == key
            ]
            existing = next((m for m in same if m.status == "active"), None)
            if existing is None and same:
                existing = same[0]
            if existing is None:
                now = self._now()
                row = Memory(
                    text=text,
                    kind=kind,
                    persona=persona,
                    status=status,
                    source=source,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    uid=uuid.uuid4().hex,
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
                s.flush()
                return row
            changed = False
            if existing.conversation_id is not None and existing.conversation_id != (
                conversation_id
            ):
                # Said again elsewhere (or by hand): it no longer came only from that
                # conversation, so forgetting that one must not take it.
                existing.conversation_id = None
                existing.message_id = None
                changed = True
            if status == "active" and existing.status != "active":
                existing.status = "active"
                changed = True
            if changed:
                existing.updated_at = self._now()
                s.add(existing)
            return existing

        return self._write(do)

    def get_memory(self, memory_id: int) -> Memory | None:
        return self._find(Memory, memory_id)

    def list_memories(
        self,
        *,
        persona: str | None = None,
        status: str | None = "active",
        include_shared: bool = True,
    ) -> list[Memory]:
        """Newest first. `persona` None: every note of every scope; a persona: its own, and
        the shared ones unless `include_shared` is False. `status` None: any status."""
        stmt = _in_scope(select(Memory), persona, include_shared)
        if status is not None:
            check_choice(status, MEMORY_STATUSES, "status")
            stmt = stmt.where(col(Memory.status) == status)
        return self._all(_newest_first(stmt))

    def active_memories(self, persona: str) -> list[Memory]:
        """Exactly the active notes that apply to `persona` (its own and the shared ones),
        newest first: what recall may put into that persona's prompt."""
        return self.list_memories(persona=persona, status="active")

    def suggested_memories(self, persona: str | None = None) -> list[Memory]:
        """Suggestions waiting for the user (for `persona`: its own and the shared ones)."""
        return self.list_memories(persona=persona, status="suggested")

    def edit_memory(
        self,
        memory_id: int,
        *,
        text: str | None = None,
        kind: str | None = None,
        persona: str | None | Literal[_Keep.KEEP] = KEEP,
    ) -> Memory:
        """Change a note's text, kind or scope (`persona` None: shared; KEEP: unchanged)."""
        new_text = None if text is None else check_memory_text(text)
        if kind is not None:
            check_choice(kind, MEMORY_KINDS, "kind")

        def do(s: Session) -> Memory:
            m = self._get(s, Memory, memory_id)
            if new_text is not None:
                m.text = new_text
            if kind is not None:
                m.kind = kind
            if persona is not KEEP:
                m.persona = persona
            m.updated_at = self._now()
            s.add(m)
            return m

        return self._write(do)

    def forget_memory(self, memory_id: int) -> Memory:
        """Delete a note (active or suggested); returns what it was. A note that was
        suggested from a conversation leaves a hash behind (`dismissed_text`), so that
        conversation ending again does not suggest it anew."""
        return self._write(lambda s: self._dismiss(s, memory_id, suggested_only=False))

    def _dismiss(self, s: Session, memory_id: int, *, suggested_only: bool) -> Memory:
        m = self._get(s, Memory, memory_id)
        if suggested_only and m.status != "suggested":
            raise ValueError(f"memory {memory_id} is not a suggestion; forget it instead")
        was = Memory.model_validate(m.model_dump())
        if m.source == "suggested" and m.conversation_id is not None and m.status != "dismissed":
            m.text = dismissed_text(m.text)
            m.status = "dismissed"
            m.message_id = None
            m.updated_at = self._now()
            s.add(m)
        else:
            s.delete(m)
        return was

    def accept_memory(self, memory_id: int) -> Memory:
        """A suggestion becomes an active note (an active one stays as it is)."""

        def do(s: Session) -> Memory:
            m = self._get(s, Memory, memory_id)
            if m.status != "active":
                m.status = "active"
                m.updated_at = self._now()
                s.add(m)
            return m

        return self._write(do)

    def reject_memory(self, memory_id: int) -> Memory:
        """Drop a suggestion (only its hash stays, see `forget_memory`); an active note is
        refused (that is `forget_memory`)."""
        return self._write(lambda s: self._dismiss(s, memory_id, suggested_only=True))
