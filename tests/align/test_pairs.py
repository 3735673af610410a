"""Pair rules: literal tables of turns → expected pairs, and hypothesis invariants."""

from __future__ import annotations

import dataclasses
import doctest
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import align.pairs
import align.scrub
from align.pairs import (
    Cand,
    PairStats,
    PreferencePair,
    Turn,
    build_dpo_pairs,
    build_kto_rows,
    split_of,
)
from feedback.models import pair_hash

SYS = {"role": "system", "content": "You are Sam, a warm companion."}
CTX = [SYS, {"role": "user", "content": "I had a long day."}]


def t(*cands: Cand, conv: str = "c1", msg: str = "m1", ctx=None, never_train=False) -> Turn:
    return Turn(conv, msg, list(ctx or CTX), list(cands), never_train=never_train)


def triples(turns, **kw) -> list[tuple[str, str, str]]:
    return [(p.source, p.chosen_text, p.rejected_text) for p in build_dpo_pairs(turns, **kw)]


CASES = [
    pytest.param(
        [t(Cand("a", "A", chosen=True), Cand("b", "B"), Cand("c", "C"))],
        [("picked", "A", "B"), ("picked", "A", "C")],
        id="rule1-picked-over-each-unpicked",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True), Cand("b", "B", shown=False))],
        [("picked", "A", "B")],
        id="rule1-alternatives-in-the-picker-count-unshown",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True, rating=-1), Cand("b", "B"))],
        [],
        id="rule1-picked-but-rated-down-contradicts",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True), Cand("b", "B", rating=1))],
        [],
        id="rule1-unpicked-rated-up-is-a-tie",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=1), Cand("b", "B", rating=-1), Cand("c", "C", rating=-1))],
        [("thumbs", "A", "B"), ("thumbs", "A", "C")],
        id="rule2-up-over-each-down",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=1), Cand("b", "B", rating=1))],
        [],
        id="rule2-two-ups-are-a-tie",
    ),
    pytest.param(
        [
            t(Cand("a", "A", rating=1), msg="m1"),
            t(Cand("b", "B", rating=-1), msg="m2"),
        ],
        [("thumbs", "A", "B")],
        id="rule2-same-context-across-turn-records",
    ),
    pytest.param(
        [
            t(Cand("a", "A", rating=1), conv="c1"),
            t(Cand("b", "B", rating=-1), conv="c2"),
        ],
        [],
        id="rule2-never-across-conversations",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=-1, created_at=1), Cand("b", "B", chosen=True, created_at=2))],
        [("replaced", "B", "A")],
        id="rule3-replacement-kept-beats-picked",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=-1, created_at=1), Cand("b", "B", rating=1, created_at=2))],
        [("replaced", "B", "A")],
        id="rule3-replacement-rated-up-beats-thumbs",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=-1, created_at=2), Cand("b", "B", chosen=True, created_at=1))],
        [("picked", "B", "A")],
        id="rule3-needs-a-later-reply",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True, raw_text="A!!", safety_action="softened"), Cand("b", "B"))],
        [("picked", "A", "B")],
        id="rule4-off-by-default",
    ),
    pytest.param(
        [t(Cand("a", "Calm", raw_text="RAW", safety_action="softened", chosen=True))],
        [],
        id="single-candidate-gives-nothing",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True), Cand("b", "B"), never_train=True)],
        [],
        id="never-train-conversation",
    ),
    pytest.param(
        [
            t(
                Cand("a", "[removed]", raw_text="TOXIC", safety_action="blocked", rating=1),
                Cand("b", "B", rating=-1),
            )
        ],
        [],
        id="blocked-never-chosen",
    ),
    pytest.param(
        [t(Cand("a", "Same", chosen=True), Cand("b", " Same "))],
        [],
        id="identical-sides",
    ),
    pytest.param(
        [t(Cand("a", "A", chosen=True), Cand("b", "   "))],
        [],
        id="empty-side",
    ),
    pytest.param(
        [
            t(Cand("a", "A", chosen=True), Cand("b", "B")),
            t(Cand("a", "A", chosen=True), Cand("b", "B"), msg="m9"),
        ],
        [("picked", "A", "B")],
        id="dedupe-by-content",
    ),
    pytest.param(
        [t(Cand("a", "Okay."), Cand("e", "Okay. What made it long?", edited_from="a"))],
        [("edited", "Okay. What made it long?", "Okay.")],
        id="rule5-a-rewrite-beats-the-reply-it-rewrote",
    ),
    pytest.param(
        [
            t(
                Cand("a", "A"),
                Cand("b", "B"),
                Cand("e", "A, better", chosen=True, edited_from="a"),
            )
        ],
        [("edited", "A, better", "A"), ("picked", "A, better", "B")],
        id="rule5-recorded-as-edited-and-the-pick-beats-the-others",
    ),
    pytest.param(
        [t(Cand("a", "A", rating=1), Cand("e", "A, better", edited_from="a"))],
        [("edited", "A, better", "A")],
        id="rule5-even-over-a-reply-rated-up",
    ),
    pytest.param(
        [t(Cand("e", "A, better", edited_from="gone"))],
        [],
        id="rule5-original-not-found",
    ),
    pytest.param(
        [t(Cand("a", "A", safety_action="blocked"), Cand("e", "Mine", edited_from="a"))],
        [],
        id="rule5-never-against-a-blocked-placeholder",
    ),
    pytest.param(
        [t(Cand("a", "Same"), Cand("e", " Same ", edited_from="a"))],
        [],
        id="rule5-an-edit-that-changed-nothing",
    ),
]


@pytest.mark.parametrize(("turns", "expected"), CASES)
def test_rules_table(turns, expected):
    assert triples(turns) == expected


def test_rule4_when_enabled():
    turn = t(Cand("a", "Calm", raw_text="RAW!!", safety_action="softened", chosen=True))
    assert triples([turn], learn_from_safety=True) == [("safety", "Calm", "RAW!!")]
    blocked = t(Cand("a", "[removed]", raw_text="TOXIC", safety_action="blocked"))
    pairs = triples([blocked], learn_from_safety=True)
    assert pairs == [("safety", "[removed]", "TOXIC")]
    assert all(c != "TOXIC" for _, c, _ in pairs)


def test_trl_format_and_prompt_is_the_full_context():
    pair = next(build_dpo_pairs([t(Cand("a", "A", chosen=True), Cand("b", "B"))]))
    row = pair.to_trl()
    assert row["prompt"] == CTX
    assert row["chosen"] == [{"role": "assistant", "content": "A"}]
    assert row["rejected"] == [{"role": "assistant", "content": "B"}]
    assert PreferencePair.from_row(pair.to_row()) == pair


def test_scrub_on_by_default_and_off_on_request():
    ctx = [SYS, {"role": "user", "content": "I'm Lena, write me at lena@x.org"}]
    turn = t(Cand("a", "Sure Lena, call 555-123-4567", chosen=True), Cand("b", "No"), ctx=ctx)
    p = next(build_dpo_pairs([turn], names=["Lena"]))
    assert p.prompt[1]["content"] == "I'm [name], write me at [email]"
    assert p.chosen_text == "Sure [name], call [phone]"
    raw = next(build_dpo_pairs([turn], scrub_personal_data=False))
    assert "lena@x.org" in raw.prompt[1]["content"]


def test_token_budget_drops_old_context_then_the_pair():
    long_ctx = (
        [SYS]
        + [{"role": r, "content": "word " * 200} for r in ("user", "assistant") * 3]
        + [{"role": "user", "content": "and now?"}]
    )
    turn = t(Cand("a", "A", chosen=True), Cand("b", "B"), ctx=long_ctx)
    p = next(build_dpo_pairs([turn], max_tokens=400))
    assert p.prompt[0] == SYS and p.prompt[-1]["content"] == "and now?"
    assert len(p.prompt) < len(long_ctx)
    huge = t(Cand("a", "x" * 5000, chosen=True), Cand("b", "B"))
    assert list(build_dpo_pairs([huge], max_tokens=400)) == []


def test_seen_makes_building_incremental():
    turns = [t(Cand("a", "A", chosen=True), Cand("b", "B"))]
    seen: set[str] = set()
    assert len(list(build_dpo_pairs(turns, seen=seen))) == 1
    assert list(build_dpo_pairs(turns, seen=seen)) == []


def test_kto_rows():
    turns = [
        t(Cand("a", "A", rating=1), Cand("b", "B", rating=-1), Cand("c", "C")),
        t(Cand("x", "X", rating=1), never_train=True, conv="c2"),
        t(Cand("z", "[removed]", safety_action="blocked", rating=-1), conv="c3"),
    ]
    rows = list(build_kto_rows(turns))
    assert [(r["completion"][0]["content"], r["label"]) for r in rows] == [
        ("A", True),
        ("B", False),
    ]
    assert rows[0]["prompt"] == CTX


def test_stats_and_thumbs_only():
    pairs = list(build_dpo_pairs([t(Cand("a", "A", rating=1), Cand("b", "B", rating=-1))]))
    stats = PairStats.of(pairs)
    assert stats.total == 1 and stats.by_source == Counter(thumbs=1) and stats.thumbs_only()


def test_doctests():
    for mod in (align.pairs, align.scrub):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0


# ---- properties ---------------------------------------------------------------------------

texts = st.sampled_from(["", " ", "Hi!", "Hi!", "How are you?", "Tell me more.", "ok", "ok "])
actions = st.sampled_from([None, "none", "softened", "blocked", "regenerated"])
candidates = st.builds(
    Cand,
    id=st.text(min_size=1, max_size=3),
    text=texts,
    raw_text=st.one_of(st.none(), texts),
    rating=st.sampled_from([None, 1, -1, 0]),
    chosen=st.booleans(),
    shown=st.booleans(),
    safety_action=actions,
    created_at=st.integers(0, 5),
    edited_from=st.one_of(st.none(), st.text(min_size=1, max_size=3)),
)
contexts = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": texts}
    ),
    max_size=4,
)
turns_st = st.lists(
    st.builds(
        Turn,
        conversation_id=st.sampled_from(["c1", "c2", "c3", "c4", "c5"]),
        message_id=st.sampled_from(["m1", "m2"]),
        context=contexts,
        candidates=st.lists(candidates, max_size=4),
        never_train=st.booleans(),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(turns_st, st.booleans(), st.floats(0, 0.99), st.sets(st.sampled_from(["c1", "c2", "c3"])))
def test_properties(turns, learn_from_safety, frac, crisis):
    # never_train is a property of the whole conversation: every turn of it carries the flag
    turns = [dataclasses.replace(x, never_train=x.conversation_id in crisis) for x in turns]
    pairs = list(build_dpo_pairs(turns, learn_from_safety=learn_from_safety, holdout_fraction=frac))
    again = list(build_dpo_pairs(turns, learn_from_safety=learn_from_safety, holdout_fraction=frac))
    assert pairs == again  # deterministic
    ids = [p.id for p in pairs]
    assert len(ids) == len(set(ids))  # deduped
    by_conv = {}
    for p in pairs:
        assert p.chosen_text and p.rejected_text and p.chosen_text != p.rejected_text
        assert p.id == pair_hash(p.prompt, p.chosen_text, p.rejected_text)
        # no pair from a single candidate, except the safety rule's final-vs-raw of one reply
        if p.source != "safety":
            assert p.chosen_candidate_id != p.rejected_candidate_id or _ambiguous_ids(turns)
        by_conv.setdefault(p.conversation_id, set()).add(p.split)
        assert p.split == split_of(p.conversation_id, frac)
    assert all(len(s) == 1 for s in by_conv.values())  # holdout never shares a conversation
    never = {x.conversation_id for x in turns if x.never_train}
    assert not never & {p.conversation_id for p in pairs}
    for row in build_kto_rows(turns, split=None):
        assert row["completion"][0]["content"] and isinstance(row["label"], bool)


def _ambiguous_ids(turns) -> bool:
    ids = [c.id for x in turns for c in x.candidates]
    return len(ids) != len(set(ids))


@settings(max_examples=200, deadline=None)
@given(st.lists(candidates, max_size=1), contexts)
def test_no_pair_from_a_single_candidate(cands, ctx):
    turn = Turn("c", "m", ctx, cands)
    assert list(build_dpo_pairs([turn])) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.floats(0, 1, exclude_max=True))
def test_split_is_stable_and_monotone(conv_id, frac):
    s = split_of(conv_id, frac)
    assert s == split_of(conv_id, frac)
    if s == "holdout":  # a larger holdout never moves a conversation back to train
        assert split_of(conv_id, min(0.999, frac + 0.1)) == "holdout"


class Weird:
    """Arbitrary junk where a record should be: the builder must not crash on odd fields."""

    def __init__(self, data):
        self.conversation_id = data.get("conversation_id")
        self.message_id = data.get("message_id")
        self.context = data.get("context")
        self.candidates = data.get("candidates", [])
        self.never_train = data.get("never_train", False)
        self.persona = None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "conversation_id": st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                "message_id": st.one_of(st.none(), st.integers()),
                "context": st.one_of(st.none(), contexts),
                "candidates": st.lists(candidates, max_size=3),
            }
        ),
        max_size=5,
    )
)
def test_arbitrary_records_never_crash(records):
    list(build_dpo_pairs([Weird(r) for r in records], learn_from_safety=True))
    list(build_kto_rows([Weird(r) for r in records]))
