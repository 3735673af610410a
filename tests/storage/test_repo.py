"""The repository API, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from feedback.models import PreferencePair, pair_hash
from feedback.repo import NotFound, Store, TurnRecord

from .conftest import Clock


def _turn(store: Store, conv_id: int, user_text: str, parent: int | None = None) -> tuple[int, int]:
    """A user message and an empty assistant reply to it; returns their ids."""
    u = store.add_message(conv_id, "user", user_text, parent_id=parent)
    a = store.add_message(conv_id, "assistant", "", parent_id=u.id, status="generating")
    assert u.id is not None and a.id is not None
    return u.id, a.id


# --- conversations ---------------------------------------------------------------------------


def test_conversation_lifecycle(store: Store) -> None:
    conv = store.create_conversation("default")
    assert conv.id is not None and conv.title is None and not conv.never_train
    assert conv.created_at.tzinfo is not None

    store.add_message(conv.id, "user", "\n  Tell me about the sea\nplease")
    got = store.get_conversation(conv.id)
    assert got is not None and got.title == "Tell me about the sea"

    renamed = store.rename_conversation(conv.id, "Sea talk")
    assert renamed.title == "Sea talk"
    assert store.get_conversation(conv.id).title == "Sea talk"  # type: ignore[union-attr]

    assert store.delete_conversation(conv.id) is True
    assert store.get_conversation(conv.id) is None
    assert store.delete_conversation(conv.id) is False
    with pytest.raises(NotFound):
        store.rename_conversation(conv.id, "x")


def test_long_first_message_gives_short_title(store: Store) -> None:
    conv = store.create_conversation("default")
    store.add_message(conv.id, "user", "word " * 40)
    title = store.get_conversation(conv.id).title  # type: ignore[union-attr]
    assert title is not None and len(title) <= 60 and title.endswith("…")


def test_list_conversations_newest_activity_first_and_search(store: Store) -> None:
    a = store.create_conversation("default", "Gardening")
    b = store.create_conversation("default", "Cooking")
    c = store.create_conversation("pirate", None)
    assert c.id is not None and a.id is not None
    store.add_message(c.id, "user", "What is 100% of a TOMATO_SOUP?")
    store.add_message(a.id, "user", "roses")  # a is now the most recent
    ids = [x.id for x in store.list_conversations()]
    assert ids == [a.id, c.id, b.id]

    assert [x.id for x in store.list_conversations("tomato")] == [c.id]  # message text, any case
    assert [x.id for x in store.list_conversations("COOK")] == [b.id]  # title
    # LIKE wildcards are literal characters in a search.
    assert [x.id for x in store.list_conversations("100%")] == [c.id]
    assert [x.id for x in store.list_conversations("O_S")] == [c.id]
    assert store.list_conversations("%") == store.list_conversations("100%")
    assert store.list_conversations("nothing like it") == []
    assert len(store.list_conversations(limit=2)) == 2


def test_returned_objects_are_usable_after_the_session(store: Store) -> None:
    conv = store.create_conversation("default", "t")
    msg = store.add_message(conv.id, "user", "hi")  # type: ignore[arg-type]
    # Attribute access on detached objects must not need a session.
    assert (conv.persona, msg.text, msg.conversation_id) == ("default", "hi", conv.id)
    assert store.messages(conv.id)[0].text == "hi"  # type: ignore[arg-type]


def test_clock_is_injected(store: Store, clock: Clock) -> None:
    conv = store.create_conversation("default")
    assert conv.created_at == clock.now
    assert conv.created_at.year == 2026 and conv.created_at.tzinfo is not None


# --- messages and branches --------------------------------------------------------------------


def test_branches_paths_children_and_leaf(store: Store) -> None:
    conv = store.create_conversation("default")
    cid = conv.id
    assert cid is not None
    u1, a1 = _turn(store, cid, "first")
    u2, a2 = _turn(store, cid, "second", parent=a1)
    # Editing the second message starts a branch from the same parent.
    u2b, a2b = _turn(store, cid, "second, edited", parent=a1)

    assert [m.id for m in store.branch_path(a2)] == [u1, a1, u2, a2]
    assert [m.id for m in store.branch_path(a2b)] == [u1, a1, u2b, a2b]
    assert [m.id for m in store.children(a1)] == [u2, u2b]
    assert [m.id for m in store.roots(cid)] == [u1]
    leaf = store.latest_leaf(cid)
    assert leaf is not None and leaf.id == a2b
    assert store.latest_leaf(store.create_conversation("x").id) is None  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.branch_path(999_999)


def test_parent_must_be_in_the_same_conversation(store: Store) -> None:
    a = store.create_conversation("default")
    b = store.create_conversation("default")
    m = store.add_message(a.id, "user", "hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="another conversation"):
        store.add_message(b.id, "assistant", "x", parent_id=m.id)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.add_message(a.id, "user", "x", parent_id=999_999)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.add_message(999_999, "user", "x")


@pytest.mark.parametrize(("role", "status"), [("robot", "complete"), ("user", "done")])
def test_invalid_role_or_status_is_refused(store: Store, role: str, status: str) -> None:
    conv = store.create_conversation("default")
    with pytest.raises(ValueError):
        store.add_message(conv.id, role, "x", status=status)  # type: ignore[arg-type]
    assert store.messages(conv.id) == []  # type: ignore[arg-type]


def test_update_message_and_interrupted_recovery(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    store.update_message(a, text="partial repl")
    assert store.get_message(a).status == "generating"  # type: ignore[union-attr]
    assert store.recover_interrupted() == 1
    msg = store.get_message(a)
    assert msg is not None and (msg.status, msg.text) == ("interrupted", "partial repl")
    store.update_message(a, status="stopped")
    assert store.get_message(a).status == "stopped"  # type: ignore[union-attr]
    assert store.recover_interrupted() == 0


def test_delete_message_removes_the_turn_and_descendants(store: Store) -> None:
    conv = store.create_conversation("default")
    cid = conv.id
    assert cid is not None
    u1, a1 = _turn(store, cid, "one")
    u2, a2 = _turn(store, cid, "two", parent=a1)
    cand = store.add_candidate(a2, "reply", shown=True)
    store.rate(cand.id, 1)  # type: ignore[arg-type]
    _turn(store, cid, "three", parent=a2)

    assert store.delete_message(u2) == 4
    assert [m.id for m in store.messages(cid)] == [u1, a1]
    assert store.get_candidate(cand.id) is None  # type: ignore[arg-type]
    assert store.rating_of(cand.id) is None  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.delete_message(u2)


# --- candidates, ratings, choices -------------------------------------------------------------


def test_candidates_show_and_choose(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    c0 = store.add_candidate(
        a,
        "Hello!",
        raw_text="HELLO!!!",
        params={"temperature": 0.8, "n": 2},
        base_model="smollm2",
        adapter_version="v1",
        safety={"toxicity": 0.01, "intensity": 0.7},
        safety_action="softened",
        latency={"ttft_ms": 120.5, "tokens_per_s": 22.0, "total_ms": 900},
        shown=True,
    )
    c1 = store.add_candidate(a, "Hi there.")
    assert (c0.index, c1.index) == (0, 1)
    assert store.get_message(a).text == "Hello!"  # type: ignore[union-attr]
    got = store.candidates(a)
    assert [c.id for c in got] == [c0.id, c1.id]
    assert got[0].params == {"temperature": 0.8, "n": 2}
    assert got[0].latency["ttft_ms"] == 120.5 and got[0].safety["intensity"] == 0.7
    assert (got[0].raw_text, got[0].safety_action, got[0].shown) == ("HELLO!!!", "softened", True)
    assert got[1].shown is False

    msg = store.show_candidate(a, c1.id)  # type: ignore[arg-type]
    assert (msg.text, msg.shown_candidate_id) == ("Hi there.", c1.id)
    assert store.get_candidate(c1.id).shown is True  # type: ignore[arg-type, union-attr]
    assert store.get_message(a).chosen_candidate_id is None  # type: ignore[union-attr]

    by_message = store.candidates_for_conversation(conv.id)  # type: ignore[arg-type]
    assert {m: [c.id for c in cs] for m, cs in by_message.items()} == {a: [c0.id, c1.id]}
    store.rate(c1.id, 1)  # type: ignore[arg-type]
    assert list(store.ratings_for_conversation(conv.id)) == [c1.id]  # type: ignore[arg-type]

    choice = store.choose(a, c0.id)  # type: ignore[arg-type]
    assert choice.candidate_id == c0.id
    msg2 = store.get_message(a)
    assert msg2 is not None
    assert (msg2.text, msg2.chosen_candidate_id, msg2.shown_candidate_id) == (
        "Hello!",
        c0.id,
        c0.id,
    )
    assert [c.candidate_id for c in store.choices(a)] == [c0.id]


def test_candidates_belong_to_replies_of_their_own_turn(store: Store) -> None:
    conv = store.create_conversation("default")
    u, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    _, a2 = _turn(store, conv.id, "again", parent=a)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a reply"):
        store.add_candidate(u, "x")
    other = store.add_candidate(a2, "elsewhere")
    with pytest.raises(ValueError):
        store.choose(a, other.id)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.show_candidate(a, other.id)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.add_candidate(a, "x", safety_action="exploded")
    assert store.choices(a) == []


def test_an_edited_reply_is_a_picked_candidate_that_names_its_original(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    first = store.add_candidate(a, "Okay.", shown=True, adapter_version="v3")
    second = store.add_candidate(a, "Hm.")
    edited = store.edit_reply(a, first.id, "Okay! What happened?")  # type: ignore[arg-type]
    assert (edited.index, edited.adapter_version, edited.params) == (
        2,
        "v3",
        {"edited_from": first.id},
    )
    msg = store.get_message(a)
    assert msg is not None and msg.text == "Okay! What happened?"
    assert msg.chosen_candidate_id == msg.shown_candidate_id == edited.id
    (turn,) = list(store.iter_turns(conversation_id=conv.id))
    by_id = {c.id: c for c in turn.candidates}
    assert by_id[edited.id].edited_from == first.id and by_id[edited.id].chosen
    assert by_id[first.id].edited_from is None and by_id[second.id].edited_from is None
    with pytest.raises(ValueError, match="needs some text"):
        store.edit_reply(a, first.id, "  ")  # type: ignore[arg-type]
    _, other = _turn(store, conv.id, "again", parent=a)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a reply of"):
        store.edit_reply(other, first.id, "x")  # type: ignore[arg-type]
    assert len(store.candidates(a)) == 3  # nothing half-made by the refused edits


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"edited_from": 7}, 7),
        ({"edited_from": "7"}, None),
        ({"edited_from": True}, None),
        ({"edited_from": None}, None),
        ({}, None),
        (None, None),
        ([7], None),
    ],
)
def test_edited_from_reads_only_a_well_formed_id(params: object, expected: int | None) -> None:
    from feedback.store.turns import edited_from

    assert edited_from(params) == expected


def test_update_candidate_follows_into_the_shown_message(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    c = store.add_candidate(a, "", shown=True)
    store.update_candidate(c.id, text="done", latency={"total_ms": 5}, safety_action="none")  # type: ignore[arg-type]
    assert store.get_message(a).text == "done"  # type: ignore[union-attr]
    assert store.get_candidate(c.id).latency == {"total_ms": 5}  # type: ignore[arg-type, union-attr]


def test_rate_change_and_undo_keep_an_audit_trail(store: Store, clock: Clock) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    c = store.add_candidate(a, "reply")
    cid = c.id
    assert cid is not None

    r = store.rate(cid, 1)
    assert r is not None and r.value == 1
    first_created = r.created_at
    r2 = store.rate(cid, -1, reason="too_long", comment="rambles")
    assert r2 is not None and (r2.value, r2.reason, r2.comment) == (-1, "too_long", "rambles")
    assert r2.created_at == first_created and r2.updated_at > first_created
    current = store.rating_of(cid)
    assert current is not None and current.value == -1
    assert set(store.ratings_for_message(a)) == {cid}

    assert store.rate(cid, None) is None
    assert store.rating_of(cid) is None
    assert store.rate(cid, None) is None  # undoing nothing is fine
    assert [e.value for e in store.rating_history(cid)] == [1, -1, None, None]

    for bad in (0, 2, -5):
        with pytest.raises(ValueError):
            store.rate(cid, bad)
    with pytest.raises(NotFound):
        store.rate(999_999, 1)


def test_one_current_rating_per_candidate_is_enforced_by_the_database(store: Store) -> None:
    from sqlmodel import Session

    from feedback.models import Rating

    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    c = store.add_candidate(a, "reply")
    store.rate(c.id, 1)  # type: ignore[arg-type]
    with Session(store.engine) as s:
        s.add(Rating(candidate_id=c.id, value=-1))  # type: ignore[arg-type]
        with pytest.raises(IntegrityError):
            s.commit()


def test_feedback_count_since(store: Store, clock: Clock) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    c0 = store.add_candidate(a, "one")
    c1 = store.add_candidate(a, "two")
    store.rate(c0.id, 1)  # type: ignore[arg-type]
    mark = clock.now
    assert store.feedback_count_since(mark) == 0
    store.rate(c1.id, -1)  # type: ignore[arg-type]
    store.choose(a, c0.id)  # type: ignore[arg-type]
    assert store.feedback_count_since(mark) == 2
    assert store.feedback_count_since(None) == 3
    store.rate(c0.id, -1)  # a changed rating is new feedback
    assert store.feedback_count_since(mark) == 3
    naive_far_future = datetime(2100, 1, 1)
    assert store.feedback_count_since(naive_far_future) == 0


# --- safety -----------------------------------------------------------------------------------


def test_crisis_event_marks_never_train_and_drops_pairs(store: Store) -> None:
    conv = store.create_conversation("default")
    cid = conv.id
    assert cid is not None
    u, a = _turn(store, cid, "hi")
    store.add_pairs([_pair(cid, a, "x")])
    ev = store.record_safety_event(
        cid,
        "intensity",
        "softened",
        message_id=a,
        scores={"intensity": 0.9},
        thresholds={"cap": 0.6},
        original_text="WOW!!!",
        final_text="Wow.",
    )
    assert ev.scores == {"intensity": 0.9}
    assert store.get_conversation(cid).never_train is False  # type: ignore[union-attr]

    store.record_safety_event(cid, "crisis", "replaced", message_id=u)
    assert store.get_conversation(cid).never_train is True  # type: ignore[union-attr]
    assert store.count_pairs() == 0
    assert [e.kind for e in store.safety_events(cid)] == ["intensity", "crisis"]
    assert [e.kind for e in store.safety_events(message_id=a)] == ["intensity"]
    # The event outlives the deletion of its message (message_id becomes NULL).
    store.delete_message(u)
    assert [e.message_id for e in store.safety_events(cid)] == [None, None]


def test_set_never_train(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    store.add_pairs([_pair(conv.id, a, "x"), _pair(conv.id, a, "y")])  # type: ignore[arg-type]
    assert store.set_never_train(conv.id) == 2  # type: ignore[arg-type]
    assert store.get_conversation(conv.id).never_train  # type: ignore[arg-type, union-attr]
    assert store.set_never_train(conv.id, False) == 0  # type: ignore[arg-type]
    assert not store.get_conversation(conv.id).never_train  # type: ignore[arg-type, union-attr]


# --- the align scan ---------------------------------------------------------------------------


def test_iter_turns_gives_context_candidates_and_feedback(store: Store) -> None:
    conv = store.create_conversation("pirate")
    cid = conv.id
    assert cid is not None
    u1, a1 = _turn(store, cid, "ahoy")
    k0 = store.add_candidate(a1, "Arr!", shown=True)
    k1 = store.add_candidate(a1, "Hello.", safety_action="softened", raw_text="HELLO!!")
    store.choose(a1, k1.id)  # type: ignore[arg-type]
    store.rate(k0.id, -1, reason="rude")  # type: ignore[arg-type]
    u2, a2 = _turn(store, cid, "where to?", parent=a1)
    k2 = store.add_candidate(a2, "The island.", shown=True)
    store.rate(k2.id, 1)  # type: ignore[arg-type]
    _turn(store, cid, "no candidates yet", parent=a2)  # a turn without candidates: skipped

    other = store.create_conversation("default")
    _, b1 = _turn(store, other.id, "hi")  # type: ignore[arg-type]
    store.add_candidate(b1, "hey", shown=True)
    store.record_safety_event(other.id, "crisis", "replaced")  # type: ignore[arg-type]

    turns = list(store.iter_turns(batch_size=2))
    assert all(isinstance(t, TurnRecord) for t in turns)
    assert [(t.conversation_id, t.message_id) for t in turns] == [
        (cid, a1),
        (cid, a2),
        (other.id, b1),
    ]
    t1, t2, t3 = turns
    assert t1.context == [{"role": "user", "content": "ahoy"}]
    assert t2.context == [
        {"role": "user", "content": "ahoy"},
        {"role": "assistant", "content": "Hello."},  # the chosen text is the history
        {"role": "user", "content": "where to?"},
    ]
    assert (t1.persona, t1.never_train, t3.never_train) == ("pirate", False, True)
    assert [(c.id, c.rating, c.chosen, c.shown) for c in t1.candidates] == [
        (k0.id, -1, False, True),
        (k1.id, None, True, True),
    ]
    assert t1.candidates[0].reason == "rude"
    assert (t1.candidates[1].raw_text, t1.candidates[1].safety_action) == ("HELLO!!", "softened")
    assert t2.candidates[0].rating == 1 and t2.candidates[0].created_at.tzinfo is not None
    with pytest.raises(AttributeError):
        t1.persona = "x"  # type: ignore[misc]

    kept = list(store.iter_turns(include_never_train=False))
    assert [t.message_id for t in kept] == [a1, a2]
    only_other = list(store.iter_turns(conversation_id=other.id))
    assert [t.message_id for t in only_other] == [b1]
    assert only_other[0].context == [{"role": "user", "content": "hi"}]


def test_iter_turns_on_an_empty_database(store: Store) -> None:
    assert list(store.iter_turns()) == []
    conv = store.create_conversation("default")
    _turn(store, conv.id, "only a prompt")  # type: ignore[arg-type]
    assert list(store.iter_turns()) == []


def test_iter_turns_interleaved_conversations(store: Store) -> None:
    """Turns written alternately into two conversations still group correctly."""
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    prev: dict[int, int | None] = {a.id: None, b.id: None}  # type: ignore[dict-item]
    for i in range(6):
        conv_id = (a.id, b.id)[i % 2]
        assert conv_id is not None
        _, m = _turn(store, conv_id, f"q{i}", parent=prev[conv_id])
        store.add_candidate(m, f"r{i}", shown=True)
        prev[conv_id] = m
    turns = list(store.iter_turns(batch_size=1))
    assert [t.conversation_id for t in turns] == [a.id] * 3 + [b.id] * 3
    last_a = turns[2]
    assert [c["content"] for c in last_a.context] == ["q0", "r0", "q2", "r2", "q4"]


# --- pairs ------------------------------------------------------------------------------------


def _pair(
    conv_id: int | None, msg_id: int | None, chosen: str, split: str = "train"
) -> PreferencePair:
    return PreferencePair(
        conversation_id=conv_id,
        message_id=msg_id,
        prompt=[{"role": "user", "content": "hi"}],
        chosen=chosen,
        rejected="meh",
        source="choice",
        split=split,
    )


def test_pairs_dedupe_by_hash_split_and_count(store: Store) -> None:
    conv = store.create_conversation("default")
    cid = conv.id
    _, a = _turn(store, cid, "hi")  # type: ignore[arg-type]
    pairs = [_pair(cid, a, "good"), _pair(cid, a, "good"), _pair(cid, a, "fine", "holdout")]
    assert store.add_pairs(pairs) == 2
    assert store.add_pairs([_pair(cid, a, "good")]) == 0  # already stored
    thumbs = _pair(None, None, "nice")
    thumbs.source = "thumbs"
    assert store.add_pairs([thumbs], batch_size=1) == 1

    got = list(store.iter_pairs())
    assert [p.chosen for p in got] == ["good", "fine", "nice"]
    assert got[0].hash == pair_hash([{"role": "user", "content": "hi"}], "good", "meh")
    assert got[0].prompt == [{"role": "user", "content": "hi"}]
    assert [p.chosen for p in store.iter_pairs("holdout")] == ["fine"]
    assert [p.chosen for p in store.iter_pairs(source="thumbs")] == ["nice"]
    assert store.count_pairs() == 3 and store.count_pairs("train") == 2
    assert store.count_pairs_by_source() == {"choice": 2, "thumbs": 1}
    with pytest.raises(ValueError):
        store.add_pairs([_pair(cid, a, "z", split="test")])

    assert store.delete_pairs_for_conversation(cid) == 2  # type: ignore[arg-type]
    assert store.count_pairs() == 1
    assert store.clear_pairs() == 1 and store.count_pairs() == 0


def test_add_pairs_in_many_batches(store: Store) -> None:
    pairs = [_pair(None, None, f"c{i}") for i in range(25)]
    assert store.add_pairs(pairs + pairs[:5], batch_size=7) == 25
    assert store.count_pairs() == 25


# --- training runs and adapters ---------------------------------------------------------------


def test_training_runs(store: Store) -> None:
    run = store.add_training_run("dpo", config={"lr": 5e-5}, counts={"train": 10})
    assert run.status == "running" and run.finished_at is None
    store.update_training_run(run.id, metrics={"loss": [0.7, 0.5]})  # type: ignore[arg-type]
    done = store.update_training_run(run.id, status="succeeded", adapter_version="v1")  # type: ignore[arg-type]
    assert done.finished_at is not None and done.metrics == {"loss": [0.7, 0.5]}
    failed = store.add_training_run("kto")
    store.update_training_run(failed.id, status="failed", error="OOM")  # type: ignore[arg-type]
    assert [r.id for r in store.list_training_runs()] == [failed.id, run.id]
    last_ok = store.last_training_run("succeeded")
    assert last_ok is not None and last_ok.id == run.id
    assert store.get_training_run(failed.id).error == "OOM"  # type: ignore[arg-type, union-attr]
    with pytest.raises(NotFound):
        store.update_training_run(999_999, status="failed")


def test_exactly_one_active_adapter(store: Store) -> None:
    assert store.active_adapter() is None and store.next_adapter_version() == "v1"
    run = store.add_training_run()
    store.add_adapter_version("v1", "/a/v1", kind="dpo", training_run_id=run.id)
    store.add_adapter_version("v2", "/a/v2", parent_version="v1", metrics={"acc": 0.7})
    assert store.next_adapter_version() == "v3"
    assert store.set_active_adapter("v1").version == "v1"  # type: ignore[union-attr]
    assert store.set_active_adapter("v2").version == "v2"  # type: ignore[union-attr]
    active = [a.version for a in store.list_adapter_versions() if a.active]
    assert active == ["v2"]
    with pytest.raises(NotFound):
        store.set_active_adapter("v9")
    assert store.active_adapter().version == "v2"  # type: ignore[union-attr]  # unchanged
    store.update_adapter_version("v2", merged_path="/m/v2")
    assert store.get_adapter_version("v2").merged_path == "/m/v2"  # type: ignore[union-attr]
    assert store.set_active_adapter(None) is None
    assert store.active_adapter() is None
    with pytest.raises(IntegrityError):
        store.add_adapter_version("v1", "/dup")


def test_the_database_refuses_two_active_adapters(store: Store) -> None:
    from sqlalchemy import update

    from feedback.models import AdapterVersion

    store.add_adapter_version("v1", "/a")
    store.add_adapter_version("v2", "/b")
    store.set_active_adapter("v1")
    with store.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            update(AdapterVersion).where(AdapterVersion.version == "v2").values(active=True)  # type: ignore[arg-type]
        )


# --- forgetting -------------------------------------------------------------------------------


def test_forget_conversation_counts_and_removes_derived_data(store: Store) -> None:
    keep = store.create_conversation("default")
    _, ka = _turn(store, keep.id, "keep me")  # type: ignore[arg-type]
    store.add_candidate(ka, "kept", shown=True)
    gone = store.create_conversation("default")
    gid = gone.id
    assert gid is not None
    _, a = _turn(store, gid, "forget me")
    c0 = store.add_candidate(a, "one", shown=True)
    c1 = store.add_candidate(a, "two")
    store.rate(c0.id, 1)  # type: ignore[arg-type]
    store.rate(c1.id, -1)  # type: ignore[arg-type]
    store.choose(a, c0.id)  # type: ignore[arg-type]
    store.record_safety_event(gid, "intensity", "softened", message_id=a)
    store.add_pairs([_pair(gid, a, "one"), _pair(keep.id, ka, "kept")])

    counts = store.forget_conversation(gid)
    assert counts == {
        "conversations": 1,
        "messages": 2,
        "candidates": 2,
        "ratings": 2,
        "rating_events": 2,
        "choices": 1,
        "safety_events": 1,
        "pairs": 1,
        "memories": 0,
    }
    assert store.get_conversation(gid) is None
    assert store.stats() == {
        "conversations": 1,
        "messages": 2,
        "candidates": 1,
        "ratings": 0,
        "rating_events": 0,
        "choices": 0,
        "safety_events": 0,
        "pairs": 1,
        "memories": 0,
    }
    with pytest.raises(NotFound):
        store.forget_conversation(gid)


def test_forget_all_keeps_adapters(store: Store) -> None:
    conv = store.create_conversation("default")
    _, a = _turn(store, conv.id, "hi")  # type: ignore[arg-type]
    store.add_candidate(a, "x")
    store.add_pairs([_pair(None, None, "orphan pair")])
    store.add_adapter_version("v1", "/a")
    counts = store.forget_all()
    assert counts["conversations"] == 1 and counts["messages"] == 2 and counts["pairs"] == 1
    assert all(v == 0 for v in store.stats().values())
    assert [v.version for v in store.list_adapter_versions()] == ["v1"]


def test_timestamps_round_trip_as_utc(store: Store) -> None:
    conv = store.create_conversation("default")
    got = store.get_conversation(conv.id)  # type: ignore[arg-type]
    assert got is not None and got.created_at == conv.created_at
    assert got.created_at.utcoffset() == UTC.utcoffset(None)


def test_iter_turns_streams_instead_of_loading_everything(store: Store) -> None:
    """Python memory during the scan stays near one batch, far below the data's size."""
    import tracemalloc

    from sqlalchemy import insert

    from feedback.models import Candidate, Conversation, Message

    text = "x" * 1000
    n_convs, turns = 40, 50  # 2,000 turns, 4,000 candidates, ~6 MB of text
    with store.engine.begin() as conn:
        conn.execute(
            insert(Conversation.__table__),  # type: ignore[attr-defined]
            [
                {"id": c, "persona": "p", "uid": f"u{c}", "never_train": False,
                 "created_at": datetime(2026, 1, 1), "updated_at": datetime(2026, 1, 1)}
                for c in range(1, n_convs + 1)
            ],
        )  # fmt: skip
        msgs, cands = [], []
        for c in range(1, n_convs + 1):
            parent = None
            for t in range(turns):
                u, a = c * 1000 + 2 * t, c * 1000 + 2 * t + 1
                msgs += [
                    {"id": u, "conversation_id": c, "parent_id": parent, "role": "user",
                     "text": text, "status": "complete", "created_at": datetime(2026, 1, 1)},
                    {"id": a, "conversation_id": c, "parent_id": u, "role": "assistant",
                     "text": text, "status": "complete", "created_at": datetime(2026, 1, 1)},
                ]  # fmt: skip
                cands += [
                    {"id": a * 10 + k, "message_id": a, "index": k, "text": text,
                     "params": {}, "safety": {}, "latency": {}, "safety_action": "none",
                     "shown": k == 0, "created_at": datetime(2026, 1, 1)}
                    for k in range(2)
                ]  # fmt: skip
                parent = a
        conn.execute(insert(Message.__table__), msgs)  # type: ignore[attr-defined]
        conn.execute(insert(Candidate.__table__), cands)  # type: ignore[attr-defined]
        del msgs, cands

    tracemalloc.start()
    try:
        count = 0
        deepest = 0
        for turn in store.iter_turns(batch_size=100):
            count += 1
            deepest = max(deepest, len(turn.context))
            del turn
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n_convs * turns and deepest == 2 * turns - 1
    # The candidates alone are 4 MB of text and the messages another 4 MB; a streamed scan
    # holds one conversation's messages (~100 kB) plus one batch of rows.
    assert peak < 2_500_000, f"peak {peak / 1e6:.1f} MB: the scan is not streaming"
