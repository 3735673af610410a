"""The simulated users' scorers (bench/traits.py): literal tables, and they never crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.traits import (
    TRAITS,
    content_words,
    empathic,
    exclaims,
    long,
    one_suggestion,
    refers_back,
    short,
    warm_words,
)

USER = "I spent the afternoon gardening with my tomatoes."


@pytest.mark.parametrize(
    ("scorer", "reply", "expected"),
    [
        (refers_back, "Gardening sounds relaxing. How are the tomatoes doing?", True),
        (refers_back, "Your garden must be lovely, and tomatoes are the best.", True),  # stems
        (refers_back, "That sounds nice. What else did you do today?", False),
        (refers_back, "Tomatoes! I love them.", False),  # one topic word is not enough
        (one_suggestion, "You could try basil next to the tomatoes.", True),
        (one_suggestion, "Try basil. You could also add mulch.", False),  # two
        (one_suggestion, "That sounds lovely.", False),
        (short, "Lovely! How big are they now?", True),
        (short, " ".join(["word"] * 19), False),
        (short, "", False),
        (warm_words, "I'm so glad you had a good afternoon.", True),
        (warm_words, "Okay. What next?", False),
        (long, " ".join(["word"] * 35), True),
        (long, " ".join(["word"] * 34), False),
        (exclaims, "Wow, tomatoes!", True),
        (exclaims, "Tomatoes.", False),
        (empathic, "That must be hard after a long week.", True),
        (empathic, "I'm sorry the weeds came back.", True),
        (empathic, "Tomatoes are great.", False),
    ],
)
def test_scorers(scorer, reply, expected):
    assert scorer(USER, reply) is expected


def test_content_words_drop_stop_words_and_stem():
    assert content_words("I went gardening and picked tomatoes today") == {
        "garden",
        "pick",
        "tomatoe",
    }


def test_every_trait_has_a_kind_and_a_control_exists():
    kinds = {t.kind for t in TRAITS.values()}
    assert {"wording", "length", "tone", "structure", "content", "control"} <= kinds
    assert sum(t.kind == "content" for t in TRAITS.values()) >= 2


@given(st.text(max_size=200), st.text(max_size=400))
def test_scorers_never_crash_and_give_bools(user, reply):
    for t in TRAITS.values():
        if t.scorer is not None:
            assert isinstance(t.scorer(user, reply), bool)
