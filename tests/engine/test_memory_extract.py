"""Suggested memories: literal tables, the heldout targets, and invariants on any text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.memory.extract import KINDS, Fact, extract, supported
from companion.memory.scoring import load, score

DATA = Path(__file__).resolve().parents[1] / "data" / "memory_extract.jsonl"
ROWS = load(DATA)


def facts(text: str) -> set[tuple[str, str, str, bool]]:
    return {(f.kind, f.subject, f.value, f.explicit) for f in extract(text)}


U = "user"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is Priya.", {("name", U, "Priya", False)}),
        ("I'm Tom, nice to meet you!", {("name", U, "Tom", False)}),
        ("Call me Jess.", {("name", U, "Jess", False)}),
        ("my sister is called Ana", {("person", "sister", "Ana", False)}),
        ("My boss, Karen, is driving me nuts.", {("person", "boss", "Karen", False)}),
        ("Ana is my best friend.", {("person", "best friend", "Ana", False)}),
        (
            "My kids are Sam and Alex.",
            {("person", "kid", "Sam", False), ("person", "kid", "Alex", False)},
        ),
        ("My therapist is called Dr. Hughes.", {("person", "therapist", "Dr. Hughes", False)}),
        ("My sister Ana's boyfriend is nice.", {("person", "sister", "Ana", False)}),
        ("I have a dog named Biscuit.", {("pet", "dog", "Biscuit", False)}),
        ("I've got two cats.", {("pet", "cat", "two cats", False)}),
        ("Luna is my cat.", {("pet", "cat", "Luna", False)}),
        (
            "I love hiking and swimming.",
            {("like", U, "hiking", False), ("like", U, "swimming", False)},
        ),
        ("I love old black and white movies.", {("like", U, "old black and white movies", False)}),
        ("I like cats more than dogs.", {("like", U, "cats", False)}),
        ("My favourite food is sushi.", {("like", "favourite food", "sushi", False)}),
        ("I'm into rock climbing these days.", {("like", U, "rock climbing", False)}),
        ("I really hate olives.", {("dislike", U, "olives", False)}),
        ("I'm not a fan of spicy food.", {("dislike", U, "spicy food", False)}),
        ("I'm moving to Berlin in May.", {("plan", U, "am moving to Berlin in May", False)}),
        (
            "Tomorrow I'm visiting my grandma.",
            {("plan", U, "am visiting my grandma tomorrow", False)},
        ),
        (
            "I'll start my new job on Monday.",
            {("plan", U, "will start my new job on Monday", False)},
        ),
        ("Please don't call me sweetie.", {("boundary", "call me", "sweetie", False)}),
        ("Stop calling me buddy.", {("boundary", "call me", "buddy", False)}),
        ("I don't want to talk about my ex.", {("boundary", "talk about", "my ex", False)}),
        ("Don't use emojis with me please.", {("boundary", "use", "emojis", False)}),
        (
            "Do not call me Robert, call me Rob.",
            {("boundary", "call me", "Robert", False), ("name", U, "Rob", False)},
        ),
        # the explicit form
        ("remember that my brother is called Leo", {("person", "brother", "Leo", True)}),
        ("Please remember that I hate olives!", {("dislike", U, "olives", True)}),
        (
            "Can you remember that I'm allergic to peanuts?",
            {("note", U, "I'm allergic to peanuts", True)},
        ),
        ("Keep in mind I'm deaf in one ear.", {("note", U, "I'm deaf in one ear", True)}),
    ],
)
def test_facts_it_finds(text: str, expected: set[tuple[str, str, str, bool]]) -> None:
    assert facts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # small talk and questions
        "lol that's funny",
        "How was your day?",
        "Do you like jazz?",
        "what do you think i should name my dog",
        "Do you remember what I told you yesterday?",
        "Remember when we talked about books?",
        # negations
        "I don't hate cats, I just don't get them.",
        "I'm not going to Lisbon after all.",
        "My name isn't important.",
        "my name is not tom",
        "I used to love skating.",
        "I used to have a hamster called Nibbles.",
        # hypotheticals
        "If I had a dog I'd name him Max.",
        "Imagine I was moving to Mars next year.",
        "Maybe I'll go to Paris next year.",
        "I'd like a coffee right now.",
        "In my story, my sister is called Elsa.",
        # reported speech, and other people's facts
        "My friend thinks I hate cats.",
        "My mom says I love drama.",
        "She told me her brother is called Sam.",
        "I think my neighbour is called Greg, not sure.",
        "My cousin's dog is called Bella.",
        "My sister loves horses.",
        # not about the user, or too vague to be a fact
        "I love you",
        "I love that idea!",
        "I like the way you explain things.",
        "Honestly I hate it when people are late.",
        "I cannot stand people who chew loudly.",
        "I hate to say it but you're right.",
        "Don't mention it!",
        "I'm English.",
        "I'm having a great time tonight.",
        "I'll be fine tomorrow.",
        "I'm going to be honest with you.",
    ],
)
def test_nothing_invented(text: str) -> None:
    assert facts(text) == set()


@pytest.mark.parametrize(
    ("text", "note", "prompt_note"),
    [
        (
            "my sister is called Ana",
            "Your sister is called Ana.",
            "The user's sister is called Ana.",
        ),
        ("My name is Priya.", "Your name is Priya.", "The user's name is Priya."),
        ("I've got two cats.", "You have two cats.", "The user has two cats."),
        ("I love my dog so much.", "You like your dog.", "The user likes their dog."),
        (
            "I hate my commute.",
            "You don't like your commute.",
            "The user doesn't like their commute.",
        ),
        (
            "I'm meeting my sister for lunch tomorrow.",
            "You are meeting your sister for lunch tomorrow.",
            "The user is meeting their sister for lunch tomorrow.",
        ),
        (
            "I've decided to quit smoking next month.",
            "You have decided to quit smoking next month.",
            "The user has decided to quit smoking next month.",
        ),
        (
            "Please never mention my weight.",
            "You asked me not to mention your weight.",
            "The user asked you not to mention their weight.",
        ),
        (
            "Never call me Bobby.",
            "You don't want to be called Bobby.",
            "The user doesn't want to be called Bobby.",
        ),
        (
            "Please remember that I work night shifts.",
            "You work night shifts.",
            "The user works night shifts.",
        ),
        (
            "remember my birthday is on March 3rd",
            "Your birthday is on March 3rd.",
            "The user's birthday is on March 3rd.",
        ),
    ],
)
def test_notes(text: str, note: str, prompt_note: str) -> None:
    (fact,) = extract(text)
    assert (fact.note, fact.prompt_note) == (note, prompt_note)


def test_span_points_at_the_evidence() -> None:
    text = "Hi! My sister is called Ana. Also I’m moving to Berlin in May."
    sister, move = extract(text)
    assert sister.source_text == text and sister.evidence == "My sister is called Ana"
    assert move.evidence.startswith("I’m moving") and move.value == "am moving to Berlin in May"


def test_heldout_targets() -> None:
    """The set's heldout part was not tuned on; a regression below the targets fails here."""
    report = score(r for r in ROWS if r.split == "heldout")
    assert report.overall.precision >= 0.95, report.misses
    assert report.overall.recall >= 0.70, report.misses
    for kind, tally in report.per_kind.items():
        assert tally.precision >= 0.9, (kind, report.misses)


def test_labelled_set_shape() -> None:
    assert len(ROWS) >= 150 and len({r.id for r in ROWS}) == len(ROWS)
    splits = Counter(r.split for r in ROWS)
    assert set(splits) == {"dev", "heldout"} and 0.35 <= splits["heldout"] / len(ROWS) <= 0.45
    assert sum(not r.facts for r in ROWS) >= 50  # many messages state nothing
    assert {f["kind"] for r in ROWS for f in r.facts} <= set(KINDS)
    for r in ROWS:  # every labelled value is in the user's own words
        assert all(supported(str(f["value"]), r.text) for f in r.facts), r.id


_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200) | st.lists(
    st.sampled_from(
        "I I'm my name is called Ana Tom sister dog cat love hate don't not never call me "
        "remember that going to next week tomorrow please , . ! ? and but if would my friend "
        "thinks a two cats have got favourite food is sushi stop calling talk about".split()
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(text=_texts)
def test_any_text_never_crashes_and_nothing_unsupported(text: str) -> None:
    for f in extract(text):
        assert isinstance(f, Fact) and f.kind in KINDS and f.source_text == text
        assert supported(f.value, text), f
        assert 0 <= f.span[0] < f.span[1] <= len(text)
        for note in (f.note, f.prompt_note):
            assert note.endswith(".") and "\n" not in note and note[:1].isupper()
