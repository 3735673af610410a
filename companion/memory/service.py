"""What the engine and the chat do with memory: store what the user asks to be remembered,
suggest memories when a conversation ends, and choose the notes each reply's prompt gets.

The store holds the notes (``feedback.store.memories``); :mod:`companion.memory.extract`
finds facts in the user's own words; a recall source (:mod:`companion.memory.recall`)
ranks memories and earlier turns by meaning. Without one, every active memory goes in, newest
first, within the token budget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from companion.memory.extract import Fact, extract
from companion.memory.notes import BadMemory, clean_note
from companion.memory.recall import within_budget
from companion.memory.wording import about_user
from feedback.models import dismissed_text

if TYPE_CHECKING:
    from companion.config import MemoryConfig
    from companion.memory.recall import Recall
    from feedback.models import Memory
    from feedback.repo import Store

TokenCounter = Callable[[str], int]
log = logging.getLogger(__name__)


class RecallSource(Protocol):
    def notes(
        self,
        persona: str,
        conversation_id: int,
        query: str,
        *,
        budget_tokens: int,
        memories: Sequence[PromptNote],
    ) -> list[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PromptNote:
    """A memory as recall ranks it: its text already about the user."""

    id: int | None
    text: str
    kind: str


class LazyRecall:
    """:class:`companion.memory.recall.Recall` built on first use: WordLlama and the message
    index load off the event loop, on the first reply, not at start. When they cannot load,
    it says so once and recalls nothing (the service then gives every note, newest first)."""

    def __init__(
        self,
        store: Store,
        index_path: Path,
        count_line: TokenCounter,
        *,
        past_turns: bool = True,
        max_notes: int | None = 1,
        max_turns: int = 2,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.max_notes = max_notes
        self.max_turns = max_turns
        self.store = store
        self.index_path = index_path
        self.count_line = count_line
        self.past_turns = past_turns
        self.notice = notice or _log
        self._recall: Recall | None = None
        self._failed = False
        self._lock = threading.Lock()

    def _get(self) -> Recall | None:
        with self._lock:
            if self._recall is None and not self._failed:
                try:
                    self._recall = self._build()
                except Exception as e:  # noqa: BLE001 - recall is an aid; the notes still go in
                    self._failed = True
                    self.notice(
                        f"memory recall is off ({type(e).__name__}: {e}); notes go in newest first"
                    )
            return self._recall

    def _build(self) -> Recall:
        from companion.memory.index import MessageIndex
        from companion.memory.recall import Recall, RecallSettings
        from companion.safety.semantic import Embedder, load_wordllama

        embedder = Embedder(load_wordllama())
        settings = RecallSettings(
            always_kinds=frozenset(),  # the service puts them in the system prompt
            max_memories=self.max_notes,
            max_turns=self.max_turns if self.past_turns else 0,
        )
        return Recall(
            store=self.store,
            memories=lambda _persona: (),  # the service hands each call its notes
            embedder=embedder,
            index=MessageIndex(self.index_path, embedder, notice=self.notice),
            count_tokens=self.count_line,
            clock=lambda: datetime.now(UTC),
            settings=settings,
            notice=self.notice,
        )

    @property
    def available(self) -> bool:
        return self._get() is not None

    def notes(
        self,
        persona: str,
        conversation_id: int,
        query: str,
        *,
        budget_tokens: int,
        memories: Sequence[PromptNote],
    ) -> list[str]:
        recall = self._get()
        if recall is None:
            raise RecallUnavailable
        return recall.notes(
            persona, conversation_id, query, budget_tokens=budget_tokens, memories=memories
        )

    def close(self) -> None:
        """Save the message index, so the next start does not embed the history again."""
        if self._recall is not None:
            self._recall.index.save()


def _log(line: str) -> None:
    # Logged, not printed: inside the chat, stray terminal output would tear the screen.
    log.warning("%s", line)


class RecallUnavailable(RuntimeError):
    """The embedding model or the index could not load: use the plain notes."""


STANDING_KINDS = frozenset({"name", "boundary"})
"""Who the user is and what the companion must not do: in every prompt."""


@dataclass(frozen=True)
class PromptMemory:
    standing: list[str]
    """For the system prompt: the user's name and boundaries."""
    recalled: list[str]
    """For right before the user's message: the notes and earlier turns it calls for."""


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

    def notes_for(self, conversation_id: int, persona: str, query: str) -> PromptMemory:
        """The prompt's memory for one reply, within ``memory.budget_tokens``: the user's
        name and boundaries for the system prompt (they change rarely, so its cached prefix
        holds), and what this message calls for, to go right before it."""
        if not self.config.enabled or self.config.budget_tokens == 0:
            return PromptMemory([], [])
        budget = self.config.budget_tokens
        active = self.store.active_memories(persona)
        standing = within_budget(
            [about_user(m.text) for m in active if m.kind in STANDING_KINDS],
            self.count_tokens,
            budget,
        )
        left = budget - sum(self.count_tokens(line) for line in standing)
        rest = [
            PromptNote(m.id, about_user(m.text), m.kind)
            for m in active
            if m.kind not in STANDING_KINDS
        ]
        if self.recall is not None and left > 0:
            try:
                recalled = self.recall.notes(
                    persona, conversation_id, query, budget_tokens=left, memories=rest
                )
                return PromptMemory(standing, recalled)
            except RecallUnavailable:
                pass
        lines = [n.text for n in rest]
        return PromptMemory(standing, within_budget(lines, self.count_tokens, max(left, 0)))

    def close(self) -> None:
        if self.recall is not None:
            self.recall.close()


def _id(row: Memory) -> int:
    assert row.id is not None  # committed rows have ids
    return row.id
