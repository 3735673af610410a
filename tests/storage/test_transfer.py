"""Export, import and forget."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from feedback.db import make_engine, migrate
from feedback.models import PreferencePair
from feedback.repo import NotFound, Store
from feedback.transfer import (
    BadLine,
    ConversationRecord,
    export,
    forget,
    import_jsonl,
    parse_line,
)


def _populate(store: Store) -> dict[str, int]:
    """Two conversations with branches, alternatives, feedback and safety events."""
    conv = store.create_conversation("pirate", "Treasure")
    cid = conv.id
    assert cid is not None
    u1 = store.add_message(cid, "user", "Where is the gold? ✨")
    a1 = store.add_message(cid, "assistant", "", parent_id=u1.id)
    assert a1.id is not None
    k0 = store.add_candidate(
        a1.id,
        "Buried, matey.",
        params={"temperature": 0.9},
        latency={"ttft_ms": 80},
        safety={"toxicity": 0.02},
        base_model="smollm2",
        adapter_version="v1",
        shown=True,
    )
    k1 = store.add_candidate(a1.id, "Calm seas.", raw_text="CALM SEAS!!!", safety_action="softened")
    store.rate(k0.id, -1, reason="vague", comment="say more")  # type: ignore[arg-type]
    store.rate(k1.id, 1)  # type: ignore[arg-type]
    store.choose(a1.id, k1.id)  # type: ignore[arg-type]
    u2 = store.add_message(cid, "user", "And then?", parent_id=a1.id)
    store.add_message(cid, "user", "Edited: and then??", parent_id=a1.id)  # a branch
    a2 = store.add_message(cid, "assistant", "We sai", parent_id=u2.id, status="interrupted")
    store.record_safety_event(
        cid,
        "intensity",
        "softened",
        message_id=a1.id,
        candidate_id=k1.id,
        scores={"intensity": 0.8},
        thresholds={"cap": 0.5},
        original_text="CALM SEAS!!!",
        final_text="Calm seas.",
    )
    other = store.create_conversation("default")
    assert other.id is not None
    store.add_message(other.id, "user", "hi")
    store.record_safety_event(other.id, "crisis", "replaced")
    m = store.add_memory("I have a parrot", "pet", persona="pirate", status="suggested",
                         source="suggested", conversation_id=cid, message_id=u1.id)  # fmt: skip
    store.edit_memory(m.id, text="I have a parrot called Polly")  # type: ignore[arg-type]
    store.add_memory("Call me Sam", "name")
    return {"conv": cid, "other": other.id, "a1": a1.id, "a2": a2.id or 0}


def _content(store: Store) -> list[dict[str, Any]]:
    """Everything a user would recognise, without database ids."""
    out = []
    for conv in sorted(store.list_conversations(), key=lambda c: c.uid):
        msgs = store.messages(conv.id)  # type: ignore[arg-type]
        index = {m.id: i for i, m in enumerate(msgs)}
        rendered = []
        for m in msgs:
            cands = store.candidates(m.id)  # type: ignore[arg-type]
            cand_index = {c.id: c.index for c in cands}
            rendered.append(
                {
                    "parent": index.get(m.parent_id),
                    "role": m.role,
                    "text": m.text,
                    "status": m.status,
                    "created_at": m.created_at,
                    "shown": cand_index.get(m.shown_candidate_id),
                    "chosen": cand_index.get(m.chosen_candidate_id),
                    "choices": [cand_index[c.candidate_id] for c in store.choices(m.id)],  # type: ignore[arg-type]
                    "candidates": [
                        {
                            **c.model_dump(exclude={"id", "message_id"}),
                            "rating": (r := store.rating_of(c.id))
                            and (r.value, r.reason, r.comment),  # type: ignore[arg-type]
                            "history": [e.value for e in store.rating_history(c.id)],  # type: ignore[arg-type]
                        }
                        for c in cands
                    ],
                }
            )
        events = [
            (e.kind, e.action, e.scores, e.thresholds, e.original_text, e.final_text,
             index.get(e.message_id), e.created_at)
            for e in store.safety_events(conv.id)
        ]  # fmt: skip
        out.append(
            {
                "conv": conv.model_dump(exclude={"id"}),
                "messages": rendered,
                "events": events,
            }
        )
    return out


@pytest.fixture
def other_store(tmp_path: Any) -> Any:
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def test_jsonl_round_trip_is_lossless(store: Store, other_store: Store) -> None:
    _populate(store)
    buf = io.StringIO()
    assert export(store, buf) == 2
    lines = buf.getvalue().splitlines()
    assert json.loads(lines[0])["type"] == "companion-export"

    report = import_jsonl(other_store, lines)
    assert report.ok, report.errors
    assert report.imported["conversation"] == 2 and report.imported["candidate"] == 2
    assert _content(other_store) == _content(store)
    # The imported data feeds align exactly like the original.
    strip = [(t.context, [(c.text, c.rating, c.chosen) for c in t.candidates], t.never_train)
             for t in store.iter_turns()]  # fmt: skip
    again = [(t.context, [(c.text, c.rating, c.chosen) for c in t.candidates], t.never_train)
             for t in other_store.iter_turns()]  # fmt: skip
    assert again == strip


def test_importing_twice_changes_nothing(store: Store, other_store: Store) -> None:
    _populate(store)
    buf = io.StringIO()
    export(store, buf)
    first = import_jsonl(other_store, buf.getvalue().splitlines())
    before = _content(other_store)
    second = import_jsonl(other_store, buf.getvalue().splitlines())
    assert second.ok and second.imported == {} and second.duplicates == sum(first.imported.values())
    assert _content(other_store) == before


def test_export_one_conversation(store: Store) -> None:
    ids = _populate(store)
    buf = io.StringIO()
    assert export(store, buf, conversation_id=ids["other"]) == 1
    types = [json.loads(line)["type"] for line in buf.getvalue().splitlines()]
    assert types == ["companion-export", "conversation", "message", "safety_event"]
    with pytest.raises(NotFound):
        export(store, io.StringIO(), conversation_id=999_999)
    with pytest.raises(ValueError):
        export(store, io.StringIO(), fmt="csv")  # type: ignore[arg-type]


def test_markdown_export_reads_like_a_transcript(store: Store) -> None:
    ids = _populate(store)
    buf = io.StringIO()
    export(store, buf, conversation_id=ids["conv"], fmt="markdown")
    md = buf.getvalue()
    assert md.startswith("# Treasure\n")
    assert "*Persona: pirate" in md
    # The branch written to last (the reply to "And then?"), not the edited sibling.
    assert "And then?\n" in md and "Edited" not in md
    assert "We sai\n\n*(interrupted)*" in md
    assert "**pirate:**\n\nCalm seas." in md
    assert "2 alternatives" in md and "safety: softened" in md and "👍" in md
    assert "on other branches" in md


def test_bad_lines_are_reported_and_skipped(store: Store, other_store: Store) -> None:
    _populate(store)
    buf = io.StringIO()
    export(store, buf)
    lines = buf.getvalue().splitlines()
    bad = list(lines)
    bad.insert(1, "{not json")
    bad.insert(2, "[1, 2]")
    bad.insert(3, json.dumps({"type": "spaceship"}))
    bad.insert(4, json.dumps({"type": "rating", "candidate_id": 1, "value": 5}))
    bad.insert(5, "")  # blank lines are fine
    bad.append(json.dumps({"type": "candidate", "id": 77, "message_id": 4040, "index": 0,
                           "text": "orphan", "created_at": "2026-01-01T00:00:00"}))  # fmt: skip
    report = import_jsonl(other_store, bad)
    got = {i.line: i.message for i in report.errors}
    assert set(got) == {2, 3, 4, 5, len(bad)}
    assert "not valid JSON" in got[2] and "not a JSON object" in got[3]
    assert "unknown record type" in got[4] and "rating: " in got[5]
    assert "message 4040 is not in the file" in got[len(bad)]
    # Everything valid still arrived.
    assert _content(other_store) == _content(store)


def test_a_broken_message_skips_its_dependents_but_not_others(
    store: Store, other_store: Store
) -> None:
    _populate(store)
    buf = io.StringIO()
    export(store, buf)
    lines = buf.getvalue().splitlines()
    recs = [json.loads(ln) for ln in lines]
    # Corrupt the first assistant message (wrong role); its candidates then have no parent.
    idx = next(i for i, r in enumerate(recs) if r["type"] == "message" and r["role"] == "assistant")
    recs[idx]["role"] = "narrator"
    report = import_jsonl(other_store, [json.dumps(r) for r in recs])
    assert report.errors and report.errors[0].line == idx + 1
    assert all("is not in the file" in e.message for e in report.errors[1:])
    # The other conversation imported whole.
    assert any(c.persona == "default" for c in other_store.list_conversations())


def test_database_refusals_are_per_line(store: Store, other_store: Store) -> None:
    """A duplicate rating (unique per candidate) is refused alone; the import goes on."""
    _populate(store)
    buf = io.StringIO()
    export(store, buf)
    lines = buf.getvalue().splitlines()
    rating = next(ln for ln in lines if '"type": "rating"' in ln)
    lines.insert(lines.index(rating) + 1, rating)
    report = import_jsonl(other_store, lines)
    assert len(report.errors) == 1 and "refused by the database" in report.errors[0].message
    assert _content(other_store) == _content(store)


def test_newer_format_header_is_reported(other_store: Store) -> None:
    report = import_jsonl(other_store, [json.dumps({"type": "companion-export", "version": 99})])
    assert [e.line for e in report.errors] == [1] and "newer" in report.errors[0].message


def test_parse_line_validates_types() -> None:
    rec = parse_line(
        json.dumps(
            {
                "type": "conversation",
                "id": 1,
                "uid": "u",
                "persona": "p",
                "created_at": "2026-01-01T00:00:00+00:00",
                "updated_at": "2026-01-01T00:00:00Z",
                "future_field": "ignored",
            }
        )
    )
    assert isinstance(rec, ConversationRecord) and rec.created_at.tzinfo is not None
    with pytest.raises(BadLine, match="conversation: id"):
        parse_line(json.dumps({"type": "conversation", "id": "x", "uid": "u", "persona": "p"}))


# --- property tests: the parser never crashes, bad input is always reported ---------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_record_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["conversation", "message", "candidate", "rating", "choice",
                              "safety_event", "rating_event", "companion-export", "x"])},
    optional={k: _json | st.integers(-3, 3) for k in ("id", "conversation_id", "message_id",
              "candidate_id", "parent_id", "value", "role", "text", "created_at", "index")},
)  # fmt: skip


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_parse_line_never_crashes_on_text(line: str) -> None:
    try:
        parse_line(line)
    except BadLine as e:
        assert str(e) and "\n" not in str(e)


@given(_record_like)
@settings(max_examples=300, deadline=None)
def test_parse_line_never_crashes_on_record_shaped_json(data: dict[str, Any]) -> None:
    try:
        parse_line(json.dumps(data))
    except BadLine as e:
        assert str(e) and "\n" not in str(e)


@given(st.lists(st.one_of(st.text(max_size=60), _record_like.map(json.dumps)), max_size=12))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_import_reports_every_line_it_does_not_import(store: Store, lines: list[str]) -> None:
    """Each non-blank line is imported, reported as bad, or a duplicate; never a crash."""
    before = store.stats()
    report = import_jsonl(store, lines)
    nonblank = sum(1 for ln in lines if ln.strip())
    headers = sum(1 for ln in lines if ln.strip() and _is_valid_header(ln))
    accounted = sum(report.imported.values()) + len(report.errors) + report.duplicates + headers
    assert accounted == nonblank
    assert all(1 <= e.line <= len(lines) for e in report.errors)
    assert store.stats()["conversations"] >= before["conversations"]


def _is_valid_header(line: str) -> bool:
    try:
        rec = parse_line(line)
    except BadLine:
        return False
    return rec.__class__.__name__ == "HeaderRecord" and getattr(rec, "version", 99) <= 1


# --- forget --------------------------------------------------------------------------------------


def test_forget_one_or_all(store: Store) -> None:
    ids = _populate(store)
    store.add_pairs(
        [
            PreferencePair(
                conversation_id=ids["conv"],
                message_id=ids["a1"],
                prompt=[{"role": "user", "content": "Where is the gold?"}],
                chosen="Calm seas.",
                rejected="Buried, matey.",
                source="choice",
            )
        ]
    )
    counts = forget(store, ids["conv"])
    assert counts["conversations"] == 1 and counts["pairs"] == 1 and counts["messages"] == 5
    assert counts["ratings"] == 2 and counts["choices"] == 1 and counts["safety_events"] == 1
    assert store.get_conversation(ids["conv"]) is None
    assert store.get_conversation(ids["other"]) is not None
    everything = forget(store, everything=True)
    assert everything["conversations"] == 1
    assert store.stats()["conversations"] == 0
    with pytest.raises(ValueError):
        forget(store)
    with pytest.raises(ValueError):
        forget(store, 1, everything=True)
    with pytest.raises(NotFound):
        forget(store, ids["conv"])
