"""Intensity scorer and softener: labelled examples both ways, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.safety.intensity import limit_for, score, soften

INTENSE = [
    "OMG I LOVE YOU SO MUCH!!!! 😍😍😍",
    "I HATE THIS SO MUCH!!!",
    "Wow!!! That is AMAZING!!! 🎉🎉🎉 I am sooooo proud of you, sweetheart!!!",
    "Darling, you are my everything and I can't live without you, my love!!",
    "THIS IS THE BEST DAY EVER",
    "Yesss!!! 🥳🥳🥳🥳",
]
CALM = [
    "I'm really sorry you're going through this. That sounds hard.",
    "My dog died today.",
    "That's a bad idea, honestly, and it won't work.",
    "No. I don't think you should send that email.",
    "Hi! How are you today?",
    "I love hearing about your garden.",
    "Congratulations on the new job, that's great news.",
    "Ugh, Mondays. What's on your plate this week?",
    "That must have been frustrating. What happened next?",
    "The API returns JSON over HTTP, so check the URL first.",
]


@pytest.mark.parametrize("text", INTENSE)
def test_intense_examples_score_high(text: str) -> None:
    assert score(text).score >= 0.5, score(text)


@pytest.mark.parametrize("text", CALM)
def test_calm_and_blunt_examples_score_low(text: str) -> None:
    assert score(text).score <= 0.2, score(text)


def test_reasons_name_the_cues() -> None:
    reasons = score("I HATE THIS SO MUCH!!!").reasons()
    assert reasons[0].startswith("caps") and any(r.startswith("exclamation") for r in reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OMG I LOVE YOU SO MUCH!!!! 😍😍😍", "Omg I love you so much! 😍"),
        ("Wow!!! Great!!! Really?!", "Wow! Great. Really?"),
        ("I am so so so sorry", "I am so sorry"),
        ("Good night, my dear.", "Good night."),
        ("Sweetheart, that is sooooo cool 🎉🎉", "That is so cool 🎉"),
        ("The NASA API is down.", "The NASA API is down."),
        ("Plain text stays.", "Plain text stays."),
    ],
)
def test_soften_literal(text: str, expected: str) -> None:
    assert soften(text) == expected


@pytest.mark.parametrize("text", INTENSE)
def test_soften_calms_the_intense_examples(text: str) -> None:
    assert score(soften(text)).score < score(text).score


_pieces = st.sampled_from(
    [
        "I",
        "LOVE",
        "you",
        "so",
        "really",
        "!!!",
        "!",
        "?",
        "😍",
        ":)",
        "darling",
        ",",
        "sooo",
        "HATE",
        "this",
        "great",
        "sad",
        ".",
        "my love",
        "OK",
        "the",
        "🎉",
    ]
)
_texts = st.lists(_pieces, max_size=14).map(" ".join)


@given(_texts)
def test_soften_is_idempotent_and_never_louder(text: str) -> None:
    once = soften(text)
    assert soften(once) == once
    before, after = score(text), score(once)
    for cue in ("exclamation", "caps", "emoji", "intensifiers"):
        assert after.cues[cue] <= before.cues[cue] + 1e-9, (cue, text, once)


@given(st.text(max_size=60))
def test_score_is_bounded_and_deterministic(text: str) -> None:
    s = score(text).score
    assert 0.0 <= s <= 1.0 and score(text).score == s


def test_limit_mirrors_the_user() -> None:
    assert limit_for(0.0, cap=0.6, margin=0.25) == 0.25
    assert limit_for(0.9, cap=0.6, margin=0.25) == 0.6
