"""The memory screen's view of the store: memories as plain rows, and the edits it makes.

Synchronous methods, called from thread workers. Bad input (an empty note, one with only
control characters) comes back as the one line the screen shows; a note that is too long is
trimmed, and the line says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from companion.memory.notes import BadMemory, clean_note

if TYPE_CHECKING:
    from companion.memory.service import MemoryService
    from feedback.models import Memory
    from feedback.repo import Store


@dataclass(frozen=True)
class MemoryView:
    id: int
    text: str
    kind: str
    suggested: bool
    shared: bool


@dataclass(frozen=True)
class Outcome:
    ok: bool
    line: str


def suggestion_line(new: Sequence[MemoryView], kept: bool) -> str:
    """The notification when a conversation that ended stated facts about the user.

    >>> v = MemoryView(1, "Your dog is called Rex.", "pet", True, False)
    >>> suggestion_line([v, v], kept=False)
    'Shall I remember this? Your dog is called Rex. and 1 more (F4 to keep or drop)'
    """
    first = new[0].text
    more = f" and {len(new) - 1} more" if len(new) > 1 else ""
    if kept:
        return f"Remembered from this conversation: {first}{more} (F4 to edit or forget)"
    return f"Shall I remember this? {first}{more} (F4 to keep or drop)"


class MemoryBackend:
    def __init__(self, store: Store, service: MemoryService) -> None:
        self.store = store
        self.service = service

    @staticmethod
    def _view(m: Memory) -> MemoryView:
        assert m.id is not None  # committed rows have ids
        return MemoryView(m.id, m.text, m.kind, m.status == "suggested", m.persona is None)

    def memories(self, persona: str) -> list[MemoryView]:
        """Suggestions first (they wait for the user), then the active notes."""
        suggested = self.store.list_memories(persona=persona, status="suggested")
        active = self.store.list_memories(persona=persona, status="active")
        return [self._view(m) for m in [*suggested, *active]]

    def suggest(self, conversation_id: int, persona: str) -> list[MemoryView]:
        """Suggestions from a conversation that ended (only the new ones)."""
        return [self._view(m) for m in self.service.suggest(conversation_id, persona)]

    def add(self, text: str, persona: str) -> Outcome:
        try:
            clean = clean_note(text)
        except BadMemory as e:
            return Outcome(False, str(e))
        scope = None if self.service.config.shared else persona
        self.store.add_memory(clean.text, "note", persona=scope, source="user")
        return Outcome(True, " ".join(["Remembered.", *clean.notices]))

    def edit(self, memory_id: int, text: str) -> Outcome:
        try:
            clean = clean_note(text)
        except BadMemory as e:
            return Outcome(False, str(e))
        self.store.edit_memory(memory_id, text=clean.text)
        return Outcome(True, " ".join(["Saved.", *clean.notices]))

    def forget(self, memory_id: int) -> Outcome:
        self.store.forget_memory(memory_id)
        return Outcome(True, "Forgotten.")

    def accept(self, memory_id: int) -> Outcome:
        self.store.accept_memory(memory_id)
        return Outcome(True, "Kept: it will be remembered.")

    def reject(self, memory_id: int) -> Outcome:
        self.store.reject_memory(memory_id)
        return Outcome(True, "Not kept.")
