"""Memories in the store: scope per persona or shared, dedup, suggestions, forgetting, transfer."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedback.db import make_engine, migrate
from feedback.models import MAX_MEMORY_CHARS, Memory
from feedback.repo import KEEP, NotFound, Store
from feedback.transfer import export, forget, import_jsonl


def _texts(rows: list[Memory]) -> list[str]:
    return [m.text for m in rows]


def _conversation(store: Store, persona: str = "pirate") -> tuple[int, int]:
    conv = store.create_conversation(persona)
    assert conv.id is not None
    msg = store.add_message(conv.id, "user", "remember that my sister is called Ana")
    assert msg.id is not None
    return conv.id, msg.id


@pytest.fixture
def scoped(store: Store) -> Store:
    """Notes in every scope and status, added oldest first."""
    store.add_memory("Shared fact", "note")
    store.add_memory("Pirate fact", "like", persona="pirate")
    store.add_memory("Poet fact", "dislike", persona="poet")
    store.add_memory("Pirate suggestion", "plan", persona="pirate", status="suggested")
    store.add_memory("Shared suggestion", "pet", status="suggested", source="suggested")
    return store


@pytest.mark.parametrize(
    ("persona", "status", "include_shared", "expected"),
    [
        ("pirate", "active", True, ["Pirate fact", "Shared fact"]),
        ("pirate", "active", False, ["Pirate fact"]),
        ("poet", "active", True, ["Poet fact", "Shared fact"]),
        ("nobody", "active", True, ["Shared fact"]),
        ("nobody", "active", False, []),
        (None, "active", True, ["Poet fact", "Pirate fact", "Shared fact"]),
        ("pirate", "suggested", True, ["Shared suggestion", "Pirate suggestion"]),
        ("poet", "suggested", True, ["Shared suggestion"]),
        (
            None,
            None,
            True,
            ["Shared suggestion", "Pirate suggestion", "Poet fact", "Pirate fact", "Shared fact"],
        ),
    ],
)
def test_list_memories_by_scope_and_status(
    scoped: Store,
    persona: str | None,
    status: str | None,
    include_shared: bool,
    expected: list[str],
) -> None:
    got = scoped.list_memories(persona=persona, status=status, include_shared=include_shared)
    assert _texts(got) == expected


@pytest.mark.parametrize(
    ("persona", "active", "suggested"),
    [
        ("pirate", ["Pirate fact", "Shared fact"], ["Shared suggestion", "Pirate suggestion"]),
        ("poet", ["Poet fact", "Shared fact"], ["Shared suggestion"]),
        ("default", ["Shared fact"], ["Shared suggestion"]),
    ],
)
def test_active_and_suggested_memories_of_a_persona(
    scoped: Store, persona: str, active: list[str], suggested: list[str]
) -> None:
    assert _texts(scoped.active_memories(persona)) == active
    assert _texts(scoped.suggested_memories(persona)) == suggested


def test_a_memory_keeps_what_it_was_given(store: Store) -> None:
    conv_id, msg_id = _conversation(store)
    m = store.add_memory(
        "My sister is called Ana.",
        "person",
        persona="pirate",
        status="suggested",
        source="suggested",
        conversation_id=conv_id,
        message_id=msg_id,
    )
    got = store.get_memory(m.id)  # type: ignore[arg-type]
    assert got is not None
    assert (got.text, got.kind, got.persona, got.status, got.source) == (
        "My sister is called Ana.",
        "person",
        "pirate",
        "suggested",
        "suggested",
    )
    assert (got.conversation_id, got.message_id) == (conv_id, msg_id)
    assert len(got.uid) == 32 and got.created_at.tzinfo is not None
    assert store.add_memory("Another", persona="pirate").uid != got.uid


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (("I love tea.", None), ("I love tea.", None), True),
        (("I love tea.", None), ("  i LOVE   tea ", None), True),
        (("I love tea.", None), ("I love tea!", None), True),
        (("I love tea.", None), ("I love tea.", "pirate"), False),  # another scope
        (("I love tea.", "pirate"), ("I love tea.", "poet"), False),
        (("I love tea.", "pirate"), ("I love tea", "pirate"), True),
        (("I love tea.", None), ("I love coffee.", None), False),
    ],
)
def test_adding_a_duplicate_returns_the_existing_note(
    store: Store,
    first: tuple[str, str | None],
    second: tuple[str, str | None],
    same: bool,
) -> None:
    a = store.add_memory(first[0], persona=first[1])
    b = store.add_memory(second[0], persona=second[1])
    assert (a.id == b.id) is same
    assert len(store.list_memories(status=None)) == (1 if same else 2)
    if same:
        assert b.text == first[0].strip()  # the first wording stays


def test_an_active_duplicate_confirms_a_suggestion(store: Store) -> None:
    s = store.add_memory("I have a dog", "pet", status="suggested", source="suggested")
    again = store.add_memory("I have a dog", "pet", status="suggested", source="suggested")
    assert again.id == s.id and again.status == "suggested"
    confirmed = store.add_memory("I have a dog.", "pet")
    assert confirmed.id == s.id and confirmed.status == "active"
    # A suggestion of a note already kept is not a second note.
    assert store.add_memory("i have a dog", status="suggested").status == "active"
    assert len(store.list_memories(status=None)) == 1


@pytest.mark.parametrize(
    ("text", "kind", "status", "source", "message"),
    [
        ("", "note", "active", "user", "needs some text"),
        ("   ", "note", "active", "user", "needs some text"),
        ("x" * (MAX_MEMORY_CHARS + 1), "note", "active", "user", "at most 500"),
        ("bell\x07", "note", "active", "user", "control characters"),
        ("two\nlines", "note", "active", "user", "control characters"),
        ("fine", "pokemon", "active", "user", "kind must be one of"),
        ("fine", "note", "maybe", "user", "status must be one of"),
        ("fine", "note", "active", "rumour", "source must be one of"),
    ],
)
def test_the_store_refuses_what_it_must_not_keep(
    store: Store, text: str, kind: str, status: str, source: str, message: str
) -> None:
    store.add_memory("kept", "note")
    with pytest.raises(ValueError, match=message):
        store.add_memory(text, kind, status=status, source=source)
    assert _texts(store.list_memories(status=None)) == ["kept"]  # nothing else lost


def test_edit_changes_only_what_is_given(store: Store) -> None:
    m = store.add_memory("I like tea", "like", persona="pirate")
    assert m.id is not None
    cases: list[tuple[dict[str, object], tuple[str, str, str | None]]] = [
        ({"text": "I like green tea"}, ("I like green tea", "like", "pirate")),
        ({"kind": "note"}, ("I like green tea", "note", "pirate")),
        ({"persona": KEEP}, ("I like green tea", "note", "pirate")),
        ({"persona": None}, ("I like green tea", "note", None)),
        ({"persona": "poet", "kind": "like"}, ("I like green tea", "like", "poet")),
    ]
    for change, expected in cases:
        got = store.edit_memory(m.id, **change)  # type: ignore[arg-type]
        again = store.get_memory(m.id)
        assert again is not None
        assert (
            (got.text, got.kind, got.persona)
            == expected
            == (
                again.text,
                again.kind,
                again.persona,
            )
        ), change
    assert again.updated_at > again.created_at
    with pytest.raises(ValueError, match="kind must be one of"):
        store.edit_memory(m.id, kind="gossip")
    with pytest.raises(ValueError, match="needs some text"):
        store.edit_memory(m.id, text=" ")
    with pytest.raises(NotFound):
        store.edit_memory(424242, text="x")


def test_accept_reject_forget(store: Store) -> None:
    kept = store.add_memory("Kept", "note")
    s1 = store.add_memory("Suggestion one", status="suggested", source="suggested")
    s2 = store.add_memory("Suggestion two", status="suggested", source="suggested")
    assert kept.id and s1.id and s2.id

    assert store.accept_memory(s1.id).status == "active"
    assert store.accept_memory(s1.id).status == "active"  # again: unchanged
    assert store.reject_memory(s2.id).text == "Suggestion two"
    with pytest.raises(ValueError, match="not a suggestion"):
        store.reject_memory(kept.id)
    assert _texts(store.list_memories()) == ["Suggestion one", "Kept"]
    assert store.suggested_memories() == []

    assert store.forget_memory(kept.id).text == "Kept"
    assert _texts(store.list_memories(status=None)) == ["Suggestion one"]
    for op in (store.forget_memory, store.accept_memory, store.reject_memory):
        with pytest.raises(NotFound, match="memory 424242 not found"):
            op(424242)
        with pytest.raises(NotFound):
            op(kept.id)


# --- forgetting ------------------------------------------------------------------------------


def test_forgetting_a_conversation_takes_what_came_only_from_it(store: Store) -> None:
    conv_id, msg_id = _conversation(store)
    other_id, other_msg = _conversation(store)
    store.add_memory("From it", "person", source="chat", conversation_id=conv_id, message_id=msg_id)
    store.add_memory("Suggested from it", status="suggested", conversation_id=conv_id)
    store.add_memory("From the other", conversation_id=other_id, message_id=other_msg)
    store.add_memory("By hand", "like", persona="pirate")
    # Said in both conversations: it did not come only from the first.
    store.add_memory("Both", conversation_id=conv_id, message_id=msg_id)
    both = store.add_memory("Both", conversation_id=other_id, message_id=other_msg)
    assert (both.conversation_id, both.message_id) == (None, None)
    # Said there, then added by hand: the user's own note now.
    store.add_memory("Then by hand", conversation_id=conv_id)
    assert store.add_memory("Then by hand").conversation_id is None

    counts = forget(store, conv_id)
    assert counts["memories"] == 2 and counts["conversations"] == 1
    assert sorted(_texts(store.list_memories(status=None))) == [
        "Both",
        "By hand",
        "From the other",
        "Then by hand",
    ]
    assert store.stats()["memories"] == 4


def test_deleting_a_conversation_or_a_turn(store: Store) -> None:
    conv_id, msg_id = _conversation(store)
    store.add_memory("From it", conversation_id=conv_id, message_id=msg_id)
    other_id, other_msg = _conversation(store)
    m = store.add_memory("Kept when its turn goes", conversation_id=other_id, message_id=other_msg)
    assert store.delete_conversation(conv_id)
    assert _texts(store.list_memories()) == ["Kept when its turn goes"]
    store.delete_message(other_msg)
    got = store.get_memory(m.id)  # type: ignore[arg-type]
    assert got is not None and got.message_id is None and got.conversation_id == other_id


def test_forget_all_takes_every_memory(store: Store) -> None:
    conv_id, _ = _conversation(store)
    store.add_memory("From chat", source="chat", conversation_id=conv_id)
    store.add_memory("By hand", persona="poet")
    store.add_memory("Suggested", status="suggested")
    counts = forget(store, everything=True)
    assert counts["memories"] == 3
    assert store.list_memories(status=None) == []
    assert all(v == 0 for v in store.stats().values())


# --- export / import -------------------------------------------------------------------------


@pytest.fixture
def other_store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def _export(store: Store, conversation_id: int | None = None) -> list[str]:
    buf = io.StringIO()
    export(store, buf, conversation_id)
    return buf.getvalue().splitlines()


def _seen(store: Store) -> set[tuple[object, ...]]:
    """Each memory as the user knows it, its conversation by uid."""
    uids = {c.id: c.uid for c in store.list_conversations()}
    out = set()
    for m in store.list_memories(status=None):
        msg = None
        if m.message_id is not None:
            found = store.get_message(m.message_id)
            msg = found.text if found else "?"
        out.add(
            (m.uid, m.text, m.kind, m.persona, m.status, m.source, uids.get(m.conversation_id),
             msg, m.created_at, m.updated_at)
        )  # fmt: skip
    return out


def test_memories_round_trip_and_import_twice_is_a_no_op(store: Store, other_store: Store) -> None:
    conv_id, msg_id = _conversation(store)
    store.add_memory("Sister Ana", "person", persona="pirate", source="chat",
                     conversation_id=conv_id, message_id=msg_id)  # fmt: skip
    store.add_memory("Loves tea", "like", status="suggested", source="suggested")
    lines = _export(store)
    types = [json.loads(line)["type"] for line in lines]
    assert types[-2:] == ["memory", "memory"]

    first = import_jsonl(other_store, lines)
    assert first.ok, first.errors
    assert first.imported["memory"] == 2
    assert _seen(other_store) == _seen(store)
    second = import_jsonl(other_store, lines)
    assert second.ok and second.imported == {}
    assert second.duplicates == sum(first.imported.values())
    assert _seen(other_store) == _seen(store)


def test_a_memory_of_a_conversation_already_there_links_to_it(
    store: Store, other_store: Store
) -> None:
    conv_id, msg_id = _conversation(store)
    import_jsonl(other_store, _export(store))  # the conversation, no memory yet
    store.add_memory("Sister Ana", conversation_id=conv_id, message_id=msg_id)
    report = import_jsonl(other_store, _export(store))
    assert report.ok and report.imported == {"memory": 1}
    (m,) = other_store.list_memories()
    (conv,) = other_store.list_conversations()
    assert m.conversation_id == conv.id and m.message_id is None


def test_exporting_one_conversation_takes_its_memories_only(store: Store) -> None:
    conv_id, _ = _conversation(store)
    other_id, _ = _conversation(store)
    store.add_memory("Its own", conversation_id=conv_id)
    store.add_memory("The other's", conversation_id=other_id)
    store.add_memory("By hand")
    texts = [r["text"] for r in map(json.loads, _export(store, conv_id)) if r["type"] == "memory"]
    assert texts == ["Its own"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "x" * 100_000}, "memory: text: a memory is at most 500 characters"),
        ({"text": "beep\x1b[2J"}, "control characters"),
        ({"text": ""}, "needs some text"),
        ({"kind": "gossip"}, "memory: kind"),
        ({"status": "maybe"}, "memory: status"),
        ({"conversation_id": 4040}, "conversation 4040 is not in the file"),
        ({"message_id": 4040}, "message 4040 is not in the file"),
    ],
)
def test_a_bad_memory_line_is_reported_and_the_rest_imported(
    store: Store, other_store: Store, change: dict[str, object], message: str
) -> None:
    conv_id, msg_id = _conversation(store)
    store.add_memory("Good one", conversation_id=conv_id, message_id=msg_id)
    store.add_memory("Bad one")
    lines = _export(store)
    recs = [json.loads(line) for line in lines]
    bad = next(i for i, r in enumerate(recs) if r.get("text") == "Bad one")
    recs[bad].update(change)
    report = import_jsonl(other_store, [json.dumps(r) for r in recs])
    assert [(e.line, message in e.message) for e in report.errors] == [(bad + 1, True)]
    assert _texts(other_store.list_memories()) == ["Good one"]
