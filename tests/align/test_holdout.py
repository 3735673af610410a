"""`ensure_holdout`: a holdout the gate can judge on, set aside honestly for the round."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.holdout import ensure_holdout


@dataclass(frozen=True)
class P:
    conversation_id: int
    message_id: int
    n: int = 0  # two pairs of one turn differ


def pairs(*spec: tuple[int, int]) -> list[P]:
    return [P(c, m, i) for i, (c, m) in enumerate(spec)]


def convs(ps: list[P]) -> set[int]:
    return {p.conversation_id for p in ps}


@pytest.mark.parametrize(
    ("train", "holdout", "min_holdout", "min_train", "sizes", "note"),
    [
        (pairs((1, 1), (2, 2)), pairs((3, 3)), 1, 1, (2, 1), None),
        (pairs((1, 1), (2, 2), (3, 3), (4, 4)), [], 2, 2, (2, 2), "set aside 2 conversations"),
        # One conversation holds everything: its latest turns are set aside.
        (pairs((1, 1), (1, 2), (1, 3), (1, 4)), [], 2, 2, (2, 2), "latest 2 turns"),
        # Too few to do both: nothing is taken from training, and the note says so.
        (pairs((1, 1), (2, 2)), [], 2, 2, (2, 0), "still 0 holdout pairs"),
        (pairs((1, 1), (2, 2)), [], 0, 2, (2, 0), None),
    ],
    ids=["enough-already", "whole-conversations", "one-conversation", "too-few", "off"],
)
def test_table(train, holdout, min_holdout, min_train, sizes, note):
    t, h, said = ensure_holdout(train, holdout, min_holdout=min_holdout, min_train=min_train)
    assert (len(t), len(h)) == sizes
    if note is None:
        assert said is None
    else:
        assert said is not None and note in said and "\n" not in said


def test_one_conversation_with_several_pairs_a_turn_moves_them_together():
    train = pairs((1, 1), (1, 1), (1, 2), (1, 2), (1, 3), (1, 3))
    t, h, _ = ensure_holdout(train, [], min_holdout=2, min_train=2)
    assert {p.message_id for p in h} == {3} and len(h) == 2
    assert {p.message_id for p in t} == {1, 2}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(1, 12)), max_size=40),
    st.lists(st.tuples(st.integers(7, 9), st.integers(13, 20)), max_size=5),
    st.integers(0, 10),
    st.integers(1, 10),
)
def test_properties(train_spec, holdout_spec, min_holdout, min_train):
    train = pairs(*train_spec)
    holdout = [P(c, m, 1000 + i) for i, (c, m) in enumerate(holdout_spec)]
    t, h, note = ensure_holdout(train, holdout, min_holdout=min_holdout, min_train=min_train)
    # Nothing lost, nothing twice, the stored holdout stays holdout.
    assert sorted(t + h, key=lambda p: p.n) == sorted(train + holdout, key=lambda p: p.n)
    assert set(holdout) <= set(h)
    # No turn is both trained on and judged; training keeps min_train if anything moved.
    assert not {(p.conversation_id, p.message_id) for p in t} & {
        (p.conversation_id, p.message_id) for p in h
    }
    if len(h) > len(holdout):
        assert len(t) >= min_train
    if len(holdout) >= min_holdout:
        assert (t, h, note) == (train, holdout, None)
    elif len(h) < min_holdout:
        assert note is not None and "still" in note


def test_the_gate_judges_on_a_bounded_sample_of_a_long_history():
    from datetime import datetime, timedelta

    from align.replay import replay_round

    t0 = datetime(2026, 1, 1)
    pairs = [P(1, i, i) for i in range(2000)]
    dated = [
        type("H", (), {"hash": f"h{p.n}", "created_at": t0 + timedelta(minutes=p.n)})()
        for p in pairs
    ]
    since = t0 + timedelta(minutes=1989)  # the live adapter learned all but the last 10
    judged, note = replay_round(dated, since=since, max_rows=48, replay_ratio=1.0)
    assert len(judged) == 20 and note is not None
    assert sum(p.created_at > since for p in judged) == 10  # every new one, as many old
    again, _ = replay_round(dated, since=since, max_rows=48, replay_ratio=1.0)
    assert [p.hash for p in again] == [p.hash for p in judged]  # the same sample each time
