"""Recall: the pure ranking and budget, then Recall and the index on a real SQLite store with
the real WordLlama embedding."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.memory.index import IndexSettings, MessageIndex, reduce
from companion.memory.recall import (
    Recall,
    RecallSettings,
    choose_memories,
    choose_turns,
    rrf,
    shorten,
    turn_line,
    when,
    within_budget,
)
from companion.safety.semantic import Embedder, load_wordllama
from feedback.db import make_engine, migrate
from feedback.repo import Store
from feedback.store.search import SearchHit

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@dataclass
class Note:
    id: int | None
    text: str
    kind: str


def words(line: str) -> int:
    return len(line.split())


# --- pure ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rankings", "expected"),
    [
        ([[1, 2, 3]], [1, 2, 3]),
        ([[1, 2], [2, 1]], [1, 2]),  # a tie: both 1/61 + 1/62; order by id then
        ([[1, 2, 3], [3]], [3, 1, 2]),  # found by both beats first by one
        ([[], [5, 4]], [5, 4]),
        ([[7, 7, 8]], [7, 8]),  # a repeat counts once
    ],
)
def test_rrf(rankings: list[list[int]], expected: list[int]) -> None:
    scores = rrf(rankings)
    assert sorted(scores, key=lambda i: (-scores[i], i)) == expected


S = RecallSettings(turn_similarity=0.35, lexical_similarity=0.25, max_turns=3)


@pytest.mark.parametrize(
    ("similarity", "lexical", "expected"),
    [
        ({1: 0.6, 2: 0.4, 3: 0.1}, [], [1, 2]),  # under the floor: out
        ({1: 0.6, 2: 0.3}, [2], [1, 2]),  # a lexical hit has a lower floor
        ({1: 0.6, 2: 0.2}, [2], [1]),  # but still one
        ({1: 0.5, 2: 0.45}, [2], [2, 1]),  # both signals beat one
        ({1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6}, [], [1, 2, 3]),  # max_turns
        ({}, [1], []),
    ],
)
def test_choose_turns(
    similarity: dict[int, float], lexical: list[int], expected: list[int]
) -> None:
    assert choose_turns(similarity, lexical, S) == expected


def test_choose_turns_weights() -> None:
    # Found by both signals, but the companion's own words: the user's turn goes first.
    assert choose_turns({1: 0.5, 2: 0.6}, [2, 1], S, {2: 0.5}) == [1, 2]
    assert choose_turns({1: 0.5, 2: 0.6}, [2, 1], S) == [2, 1]


def test_choose_memories_keeps_name_and_boundaries_always() -> None:
    notes = [
        Note(1, "The user likes jazz.", "like"),
        Note(2, "The user's name is Sam.", "name"),
        Note(3, "Don't call the user sweetie.", "boundary"),
        Note(4, "The user has a cat called Miso.", "pet"),
        Note(5, "The user is moving to Berlin.", "plan"),
    ]
    picked = choose_memories(notes, [0.1, 0.0, -0.2, 0.5, 0.3], threshold=0.25)
    assert [n.id for n in picked] == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("lines", "budget", "expected"),
    [
        (["a b", "c d e", "f"], 10, ["a b", "c d e", "f"]),
        (["a b", "c d e", "f"], 3, ["a b", "f"]),  # the long one is skipped, not the rest
        (["a b c d"], 3, []),
        ([], 5, []),
    ],
)
def test_within_budget(lines: list[str], budget: int, expected: list[str]) -> None:
    assert within_budget(lines, words, budget) == expected


def test_shorten_and_dates() -> None:
    assert shorten("one  two\nthree", 50) == "one two three"
    assert shorten("alpha beta gamma delta epsilon", 16) == "alpha beta…"
    assert len(shorten("x" * 300, 40)) == 40
    assert when(NOW - timedelta(hours=2), NOW) == "earlier today"
    assert when(NOW - timedelta(days=1), NOW) == "yesterday"
    assert when(datetime(2026, 11, 3, tzinfo=UTC), NOW) == "2026-11-03"
    hit = SearchHit(1, 1, "user", "My sister Ana", datetime(2026, 11, 3, tzinfo=UTC))
    assert turn_line(hit, NOW, 100) == 'Earlier (2026-11-03) the user said: "My sister Ana"'


# --- on a real store -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(load_wordllama())


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'companion.db'}")
    migrate(engine)
    yield Store(engine, now=Clock())
    engine.dispose()


def _chat(store: Store, *texts: str) -> int:
    conv = store.create_conversation("default")
    assert conv.id is not None
    parent = None
    for i, t in enumerate(texts):
        parent = store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", t, parent).id
    return conv.id


def _recall(
    store: Store, embedder: Embedder, path: Path, notes: list[Note] | None = None
) -> Recall:
    index = MessageIndex(path, embedder, notice=lambda _line: None)
    return Recall(
        store=store,
        memories=lambda _persona: notes or [],
        embedder=embedder,
        index=index,
        count_tokens=words,
        clock=lambda: NOW,
    )


@pytest.fixture
def history(store: Store) -> dict[str, int]:
    return {
        "ana": _chat(
            store,
            "My sister Ana got a new job at a hospital in Lisbon and she is nervous.",
            "That is exciting for Ana! Starting somewhere new can be scary.",
        ),
        "hiking": _chat(
            store,
            "I went hiking in the mountains with my friends last weekend.",
            "That sounds like a wonderful way to spend a weekend.",
        ),
        "crisis": _chat(store, "My sister Ana and I had a terrible fight and I can't go on."),
    }


def test_a_past_conversation_is_recalled_when_it_is_relevant(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path
) -> None:
    conv = store.create_conversation("default")
    assert conv.id is not None
    crisis_msg = store.messages(history["crisis"])[0]
    store.record_safety_event(history["crisis"], "crisis", "replaced", message_id=crisis_msg.id)
    recall = _recall(store, embedder, tmp_path / "index" / "messages.usearch")

    lines = recall.notes("default", conv.id, "how is Ana doing?", budget_tokens=200)
    assert lines and "Ana got a new job" in lines[0]
    assert lines[0].startswith('Earlier (2026-11-03) the user said: "My sister Ana')
    assert not any("terrible fight" in line for line in lines)  # never from a crisis

    assert recall.notes("default", conv.id, "what's the weather", budget_tokens=200) == []
    assert recall.notes("default", conv.id, "hi", budget_tokens=200) == []


def test_the_current_conversation_is_never_recalled(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path
) -> None:
    recall = _recall(store, embedder, tmp_path / "i.usearch")
    lines = recall.notes("default", history["ana"], "how is Ana doing?", budget_tokens=200)
    assert not any("Lisbon" in line or "exciting for Ana" in line for line in lines)


def test_memories_come_first_and_the_budget_holds(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path
) -> None:
    notes = [
        Note(1, "The user's name is Sam.", "name"),
        Note(2, "The user likes jazz music.", "like"),
        Note(3, "The user's sister is called Ana.", "person"),
    ]
    conv = _chat(store, "hello")
    recall = _recall(store, embedder, tmp_path / "i.usearch", notes)
    lines = recall.notes("default", conv, "how is my sister Ana doing?", budget_tokens=200)
    assert lines[:2] == ["The user's name is Sam.", "The user's sister is called Ana."]
    assert any("Lisbon" in line for line in lines[2:])
    for budget in (0, 3, 8, 12, 20, 40):
        lines = recall.notes("default", conv, "how is my sister Ana doing?", budget_tokens=budget)
        assert sum(words(line) for line in lines) <= budget


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(max_size=120)
    | st.sampled_from(['"AND OR NEAR( *', '"', "NEAR(a b, 2)", "* OR *", "ana*", "\x00", "🙂 ana"])
)
def test_any_query_never_raises(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path, query: str
) -> None:
    recall = _recall(store, embedder, tmp_path / "i.usearch")
    lines = recall.notes("default", history["hiking"], query, budget_tokens=100)
    assert isinstance(lines, list)
    assert store.search_messages(query, exclude_conversation=None, limit=5) is not None


# --- the index -------------------------------------------------------------------------------


def test_the_index_catches_up_saves_and_reloads(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "i.usearch"
    index = MessageIndex(path, embedder)
    assert index.catch_up(store) == 5  # the crisis conversation is not marked here
    index.save()
    again = MessageIndex(path, embedder)
    assert len(again) == 5 and again.watermark == index.watermark
    _chat(store, "My dog Rex is sick and the vet is worried about him.")
    assert again.catch_up(store) == 1
    query = again.embed(["is my dog feeling better?"])[0]
    best, sim = again.search(query, 1)[0]
    assert store.get_message(best).text.startswith("My dog Rex")  # type: ignore[union-attr]
    assert sim > 0.3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "no_meta", "bad_meta"])
def test_a_corrupt_index_is_rebuilt_with_a_notice(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "i.usearch"
    index = MessageIndex(path, embedder)
    index.catch_up(store)
    index.save()
    meta = path.with_name(path.name + ".json")
    if damage == "garbage":
        path.write_bytes(b"\x00not an index" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no_meta":
        meta.unlink()
    else:
        meta.write_text("{not json")
    notices: list[str] = []
    rebuilt = MessageIndex(path, embedder, notice=notices.append)
    assert rebuilt.catch_up(store) == 5
    assert len(notices) == 1 and "rebuilding" in notices[0] and "\n" not in notices[0]
    rebuilt.save()
    assert len(MessageIndex(path, embedder, notice=notices.append)) == 5 and len(notices) == 1


def test_other_settings_rebuild_and_a_younger_database_starts_over(
    store: Store, embedder: Embedder, history: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "i.usearch"
    index = MessageIndex(path, embedder, IndexSettings(dims=64))
    index.catch_up(store)
    index.save()
    notices: list[str] = []
    other = MessageIndex(path, embedder, IndexSettings(dims=128), notice=notices.append)
    assert other.catch_up(store) == 5 and len(notices) == 1

    fresh_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(fresh_engine)
    fresh = Store(fresh_engine)
    _chat(fresh, "only one message here about tea")
    assert other.catch_up(fresh) == 1 and len(other) == 1
    fresh_engine.dispose()


def test_reduce_keeps_unit_length() -> None:
    v = np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    out = reduce(v, 2)
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_choose_memories_keeps_the_closest_few_and_may_leave_the_standing_kinds_out() -> None:
    notes = [
        Note(1, "The user likes jazz.", "like"),
        Note(2, "The user's name is Sam.", "name"),
        Note(4, "The user has a cat called Miso.", "pet"),
        Note(5, "The user is moving to Berlin.", "plan"),
    ]
    sims = [0.3, 0.9, 0.5, 0.4]
    assert [n.id for n in choose_memories(notes, sims, 0.25, limit=1)] == [2, 4]
    none_always = choose_memories(notes, sims, 0.25, always_kinds=frozenset(), limit=2)
    assert [n.id for n in none_always] == [2, 4]
    assert [n.id for n in choose_memories(notes, sims, 0.35, always_kinds=frozenset())] == [2, 4, 5]
