"""What the engine and the chat do with memory: store what the user asks to be remembered,
suggest memories when a conversation ends, and choose the notes each reply's prompt gets.

The store holds the notes (``feedback.store.memories``); :mod:`companion.memory.extract`
finds facts in the user's own words; a recall source (:mod:`companion.memory.recall`)
ranks memories and earlier turns by meaning. Without one, every active memory goes in, newest
first, within the token budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from companion.memory.extract import Fact, extract
from companion.memory.notes import BadMemory, clean_note
from companion.memory.wording import about_user
from feedback.models import dismissed_text

if TYPE_CHECKING:
    from companion.config import MemoryConfig
    from feedback.models import Memory
    from feedback.repo import Store

TokenCounter = Callable[[str], int]


class RecallSource(Protocol):
    def notes(
        self, persona: str, conversation_id: int, query: str, *, budget_tokens: int
    ) -> list[str]: ...


@dataclass(frozen=True)
class Stored:
    """Notes just stored (as the user reads them), and their ids."""

    notes: tuple[str, ...]
    ids: tuple[int, ...]


def explicit_facts(text: str) -> list[Fact]:
    """What the user asked to be remembered in one message ("remember that ...").

    >>> [f.note for f in explicit_facts("Remember that my sister is called Ana.")]
    ['Your sister is called Ana.']
    >>> explicit_facts("My sister is called Ana.")  # stated, not asked: only a suggestion
    []
    """
    return [f for f in extract(text) if f.explicit]


def within_budget(lines: Sequence[str], budget_tokens: int, count: TokenCounter) -> list[str]:
    """The first lines that fit in ``budget_tokens`` together (a line that does not fit is
    skipped, a shorter later one may still go in).

    >>> within_budget(["a b", "c d e f", "g"], 3, lambda s: len(s.split()))
    ['a b', 'g']
    """
    out: list[str] = []
    used = 0
    for line in lines:
        cost = count(line)
        if used + cost <= budget_tokens:
            out.append(line)
            used += cost
    return out


class MemoryService:
    def __init__(
        self,
        store: Store,
        config: MemoryConfig,
        count_tokens: TokenCounter,
        *,
        recall: RecallSource | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.count_tokens = count_tokens
        self.recall = recall

    def _scope(self, persona: str) -> str | None:
        return None if self.config.shared else persona

    def remember_said(
        self, conversation_id: int, message_id: int, persona: str, text: str
    ) -> Stored:
        """Store what a user message asks to be remembered; nothing when it asks nothing."""
        notes: list[str] = []
        ids: list[int] = []
        for fact in explicit_facts(text):
            try:
                clean = clean_note(fact.note)
            except BadMemory:
                continue
            row = self.store.add_memory(
                clean.text,
                fact.kind,
                persona=self._scope(persona),
                status="active",
                source="chat",
                conversation_id=conversation_id,
                message_id=message_id,
            )
            notes.append(row.text)
            ids.append(_id(row))
        return Stored(tuple(notes), tuple(ids))

    def suggest(self, conversation_id: int, persona: str) -> list[Memory]:
        """Facts the user stated in a conversation, as suggestions (active with
        ``memory.auto_accept``). Never from a conversation with a crisis event; a fact
        already stored, suggested or rejected is not suggested again."""
        if not self.config.enabled:
            return []
        if any(e.kind == "crisis" for e in self.store.safety_events(conversation_id)):
            return []
        known = {
            m.text if m.status == "dismissed" else dismissed_text(m.text)
            for m in self.store.list_memories(persona=persona, status=None)
        }
        status = "active" if self.config.auto_accept else "suggested"
        out: list[Memory] = []
        for msg in self.store.messages(conversation_id):
            if msg.role != "user" or not msg.text.strip():
                continue
            for fact in extract(msg.text):
                if fact.explicit:
                    continue  # stored when it was said
                try:
                    clean = clean_note(fact.note)
                except BadMemory:
                    continue
                if dismissed_text(clean.text) in known:
                    continue
                known.add(dismissed_text(clean.text))
                out.append(
                    self.store.add_memory(
                        clean.text,
                        fact.kind,
                        persona=self._scope(persona),
                        status=status,
                        source="suggested",
                        conversation_id=conversation_id,
                        message_id=msg.id,
                    )
                )
        return out

    def notes_for(self, conversation_id: int, persona: str, query: str) -> list[str]:
        """The prompt's memory lines for one reply, within ``memory.budget_tokens``."""
        if not self.config.enabled or self.config.budget_tokens == 0:
            return []
        budget = self.config.budget_tokens
        if self.recall is not None:
            return self.recall.notes(persona, conversation_id, query, budget_tokens=budget)
        lines = [about_user(m.text) for m in self.store.active_memories(persona)]
        return within_budget(lines, budget, self.count_tokens)


def _id(row: Memory) -> int:
    assert row.id is not None  # committed rows have ids
    return row.id
