"""Recall: before a reply, the memories and earlier turns that this message calls for.

:meth:`Recall.notes` returns the lines for the prompt's ``memory_notes`` hook, within a token
budget: the user's memories first (the name and boundaries always; the rest when they are
close in meaning to the message), then what was said in earlier conversations. Those come
from two signals, the semantic index (:mod:`companion.memory.index`) and the database's full
text search, fused by reciprocal rank; every candidate is re-scored exactly against the
message and kept only above a similarity floor, so a message about something else recalls
nothing. The current conversation and any conversation with a crisis event are never
recalled (the store's filter, checked again at read time).

The ranking, the thresholds and the budget are pure functions; :class:`Recall` does the I/O.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from companion.memory.index import (
    EMBED_CHARS,
    FloatArray,
    MessageIndex,
    MessageSource,
    TextEmbedder,
    reduce,
)
from companion.prompt import TokenCounter
from feedback.store.search import SearchHit, search_terms

ALWAYS_KINDS: frozenset[str] = frozenset({"name", "boundary"})
"""Cheap and always relevant: who the user is, and what the companion must not do."""
RRF_K = 60


class MemoryNote(Protocol):
    """A stored memory (``feedback.models.Memory``)."""

    @property
    def id(self) -> int | None: ...

    @property
    def text(self) -> str: ...

    @property
    def kind(self) -> str: ...


class PastMessages(MessageSource, Protocol):
    """What recall reads from the database (``feedback.repo.Store``)."""

    def search_messages(
        self, query: str, *, exclude_conversation: int | None, limit: int
    ) -> list[SearchHit]: ...

    def recallable_messages(
        self, ids: Sequence[int], *, exclude_conversation: int | None
    ) -> list[SearchHit]: ...


@dataclass(frozen=True, slots=True)
class RecallSettings:
    semantic_k: int = 24
    """Index hits considered (re-scored exactly; the index is approximate and quantized)."""
    lexical_k: int = 16
    turn_similarity: float = 0.35
    """WordLlama cosine: related sentences score about 0.3-0.5, unrelated ones under 0.2."""
    lexical_similarity: float = 0.25
    """A lower floor for a turn that also shares a word with the message."""
    memory_similarity: float = 0.25
    assistant_weight: float = 0.4
    """What the user said is what is remembered; the companion's replies rank after it."""
    max_turns: int = 4
    max_memories: int | None = None
    """Close notes recalled per message (None: every one above the floor). A small model
    answers from one relevant note far more often than from several (bench/memory.py)."""
    always_kinds: frozenset[str] = ALWAYS_KINDS
    """Kinds recalled for every message; empty when the caller puts them elsewhere."""
    turn_chars: int = 240
    min_turn_words: int = 3
    """Shorter turns ("ok", "how are you?") match everything and recall nothing."""
    catch_up_rows: int = 2000
    """Messages embedded per call at most, so a first start with a long history spreads
    the index's build over several replies (or a background :meth:`MessageIndex.catch_up`)."""


# --- pure ----------------------------------------------------------------------------------


def rrf(rankings: Iterable[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each id scores the sum of 1/(k + rank) over the rankings
    that hold it (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, ident in enumerate(dict.fromkeys(ranking), start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (k + rank)
    return scores


def choose_turns(
    similarity: Mapping[int, float],
    lexical: Sequence[int],
    settings: RecallSettings,
    weight: Mapping[int, float] | None = None,
) -> list[int]:
    """The ids worth recalling, best first: above the similarity floor (a lower one for a
    lexical hit), ranked by the fusion of similarity order and lexical order, each fused
    score times its `weight` (1 when not given)."""
    lexical_set = set(lexical)
    kept = {
        i: s
        for i, s in similarity.items()
        if s >= settings.turn_similarity or (i in lexical_set and s >= settings.lexical_similarity)
    }
    # Only a turn close in meaning counts as found by meaning; lexical ones ride on words.
    close = [i for i in kept if kept[i] >= settings.turn_similarity]
    by_meaning = sorted(close, key=lambda i: (-kept[i], -i))
    fused = rrf([by_meaning, [i for i in lexical if i in kept]])
    for i, w in (weight or {}).items():
        if i in fused:
            fused[i] *= w
    return sorted(kept, key=lambda i: (-fused[i], -kept[i], -i))[: settings.max_turns]


def choose_memories(
    notes: Sequence[MemoryNote],
    similarity: Sequence[float],
    threshold: float,
    *,
    always_kinds: frozenset[str] = ALWAYS_KINDS,
    limit: int | None = None,
) -> list[MemoryNote]:
    """The name and boundaries first (in their order), then the notes close to the message,
    closest first, at most `limit` of those (None: all above the threshold)."""
    always = [n for n in notes if n.kind in always_kinds]
    close = sorted(
        (
            (s, i)
            for i, (n, s) in enumerate(zip(notes, similarity, strict=True))
            if n.kind not in always_kinds and s >= threshold
        ),
        key=lambda p: (-p[0], p[1]),
    )
    return always + [notes[i] for _s, i in close[:limit]]


def within_budget(lines: Sequence[str], count: Callable[[str], int], budget: int) -> list[str]:
    """The lines, in order, that fit in `budget` tokens together; one that does not fit is
    left out and the shorter ones after it still get their chance."""
    out: list[str] = []
    used = 0
    for line in lines:
        cost = count(line)
        if used + cost <= budget:
            out.append(line)
            used += cost
    return out


_SPACE = re.compile(r"\s+")


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    flat = _SPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.") + "…"


def when(created: datetime, now: datetime) -> str:
    day, today = created.date(), now.date()
    if day == today:
        return "earlier today"
    if day == today - timedelta(days=1):
        return "yesterday"
    return day.isoformat()


def turn_line(hit: SearchHit, now: datetime, chars: int) -> str:
    """``Earlier (2026-11-03) the user said: "…"``; the companion's own words as "you"."""
    who = "the user said" if hit.role == "user" else "you said"
    return f'Earlier ({when(hit.created_at, now)}) {who}: "{shorten(hit.text, chars)}"'


def line_counter(count_tokens: TokenCounter) -> Callable[[str], int]:
    """A note's cost in the system prompt, where it stands as ``- note`` on its own line."""
    empty = count_tokens([{"role": "system", "content": ""}])

    def count(line: str) -> int:
        return max(count_tokens([{"role": "system", "content": f"- {line}\n"}]) - empty, 1)

    return count


def _cosine(query: FloatArray, rows: FloatArray) -> list[float]:
    return [float(x) for x in (rows @ query)]


# --- I/O -----------------------------------------------------------------------------------


@dataclass
class Recall:
    """Memories and earlier turns for the prompt. Does I/O (database, embedding): call it
    off the event loop. Never raises for a query's text; a failing index or search costs
    the earlier turns (with a notice), not the reply."""

    store: PastMessages
    memories: Callable[[str], Sequence[MemoryNote]]
    embedder: TextEmbedder
    index: MessageIndex
    count_tokens: Callable[[str], int]
    clock: Callable[[], datetime]
    settings: RecallSettings = field(default_factory=RecallSettings)
    notice: Callable[[str], None] = field(default=lambda _line: None)
    _note_vectors: dict[str, FloatArray] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def notes(
        self,
        persona: str,
        conversation_id: int,
        query: str,
        *,
        budget_tokens: int,
        memories: Sequence[MemoryNote] | None = None,
    ) -> list[str]:
        """`memories`: the notes to rank, when the caller has read them already (default:
        ``self.memories(persona)``)."""
        if budget_tokens <= 0:
            return []
        query_vec = self._embed([query])[0]
        notes = list(self.memories(persona) if memories is None else memories)
        memory_lines = [n.text.strip() for n in self._rank(notes, query_vec)]
        lines = within_budget([m for m in memory_lines if m], self.count_tokens, budget_tokens)
        left = budget_tokens - sum(self.count_tokens(line) for line in lines)
        if left > 0 and search_terms(query):
            try:
                turns = self._turns(conversation_id, query, query_vec)
            except Exception as e:  # noqa: BLE001 - recall is a bonus: the reply goes on without it
                self.notice(f"earlier conversations were not searched: {type(e).__name__}: {e}")
                turns = []
            now = self.clock()
            turn_lines = [turn_line(h, now, self.settings.turn_chars) for h in turns]
            lines += within_budget(turn_lines, self.count_tokens, left)
        return lines

    def _embed(self, texts: Sequence[str]) -> FloatArray:
        """Every dimension the embedder gives: re-scoring is exact (the index may keep fewer)."""
        vectors = self.embedder.embed([t[:EMBED_CHARS] for t in texts])
        return reduce(vectors, vectors.shape[1])

    def _rank(self, notes: Sequence[MemoryNote], query_vec: FloatArray) -> list[MemoryNote]:
        if not notes:
            return []
        with self._lock:
            missing = [n.text for n in notes if n.text not in self._note_vectors]
            if missing:
                for text, vec in zip(missing, self._embed(missing), strict=True):
                    self._note_vectors[text] = vec
            vectors = np.stack([self._note_vectors[n.text] for n in notes])
        return choose_memories(
            notes,
            _cosine(query_vec, vectors),
            self.settings.memory_similarity,
            always_kinds=self.settings.always_kinds,
            limit=self.settings.max_memories,
        )

    def _turns(self, conversation_id: int, query: str, query_vec: FloatArray) -> list[SearchHit]:
        s = self.settings
        self.index.catch_up(self.store, limit=s.catch_up_rows)
        near = self.index.search(
            reduce(query_vec[None, :], self.index.settings.dims)[0], s.semantic_k
        )
        lexical = self.store.search_messages(
            query, exclude_conversation=conversation_id, limit=s.lexical_k
        )
        hits = {h.message_id: h for h in lexical}
        wanted = [i for i, _sim in near if i not in hits]
        for h in self.store.recallable_messages(wanted, exclude_conversation=conversation_id):
            hits[h.message_id] = h
        hits = {
            i: h
            for i, h in hits.items()
            if h.conversation_id != conversation_id and len(h.text.split()) >= s.min_turn_words
        }
        if not hits:
            return []
        ids = list(hits)
        sims = _cosine(query_vec, self._embed([hits[i].text for i in ids]))
        weight = {i: s.assistant_weight for i in ids if hits[i].role != "user"}
        chosen = choose_turns(
            dict(zip(ids, sims, strict=True)), [h.message_id for h in lexical], s, weight
        )
        return _distinct([hits[i] for i in chosen])


def _distinct(hits: Sequence[SearchHit]) -> list[SearchHit]:
    seen: set[str] = set()
    out = []
    for h in hits:
        key = _SPACE.sub(" ", h.text).strip().lower()
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out
