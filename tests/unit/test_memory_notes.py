"""clean_note: any text gives a clean short note or a one-line BadMemory, never a crash."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.errors import CompanionError
from companion.memory import extract
from companion.memory.notes import MAX_MEMORY_CHARS, MEMORY_KINDS, BadMemory, clean_note


@pytest.mark.parametrize(
    ("text", "expected", "notices"),
    [
        ("My sister is called Ana.", "My sister is called Ana.", []),
        ("  padded  ", "padded", []),
        ("two\nlines\r\nand\ttabs", "two lines and tabs", []),
        ("many     spaces", "many spaces", []),
        ("bell\x07 and escape\x1b[31m red", "bell and escape[31m red", ["2 control"]),
        ("nul\x00byte", "nulbyte", ["1 control"]),
        ("bidi \u202egnp.exe", "bidi gnp.exe", ["1 control"]),
        ("zero\u200bwidth", "zerowidth", ["1 control"]),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧", []),  # joiners stay
        ("non\u00a0breaking\u2028separator", "non breaking separator", []),
        ("café naïve 日本語", "café naïve 日本語", []),
    ],
)
def test_cleaning(text: str, expected: str, notices: list[str]) -> None:
    note = clean_note(text)
    assert note.text == expected
    assert len(note.notices) == len(notices)
    for got, start in zip(note.notices, notices, strict=True):
        assert got.startswith(start)


@pytest.mark.parametrize(
    ("text", "expected_len", "ends_with"),
    [
        ("a" * MAX_MEMORY_CHARS, MAX_MEMORY_CHARS, "a"),  # at the limit: untouched
        ("word " * 200, 499, "word"),  # cut at the space, trailing space dropped
        ("x" * 100_000, MAX_MEMORY_CHARS, "x"),  # one huge word: cut where the limit falls
        ("a" * 490 + " " + "b" * 50, 490, "a"),  # back to the last space
        ("a" * 300 + " " + "b" * 300, MAX_MEMORY_CHARS, "b"),  # a space too far back: hard cut
    ],
)
def test_trimming_at_a_word_boundary(text: str, expected_len: int, ends_with: str) -> None:
    note = clean_note(text)
    assert len(note.text) == expected_len and note.text.endswith(ends_with)
    if len(text.strip()) > MAX_MEMORY_CHARS:
        assert note.notices == [
            f"memory trimmed to {MAX_MEMORY_CHARS} characters (it was {len(text.strip())})"
        ]
    else:
        assert note.notices == []


def test_a_huge_note_with_controls_says_both() -> None:
    note = clean_note("\x1b" + "y" * 100_000)
    assert note.notices == [
        "1 control character(s) removed from the memory",
        "memory trimmed to 500 characters (it was 100000)",
    ]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "note", "a memory needs some text"),
        (" \n\t ", "note", "a memory needs some text"),
        ("\x00\x1b\x07", "note", "a memory needs some text"),
        ("fine", "gossip", "unknown memory kind 'gossip': use one of name, person"),
        ("fine", "", "unknown memory kind ''"),
        ("fine", "x" * 1000, "unknown memory kind 'xxxx"),
    ],
)
def test_bad_notes_are_one_line(text: str, kind: str, message: str) -> None:
    with pytest.raises(BadMemory) as info:
        clean_note(text, kind)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
    assert isinstance(info.value, ValueError) and isinstance(info.value, CompanionError)


def test_every_kind_extract_produces_can_be_stored() -> None:
    assert set(extract.KINDS) == set(MEMORY_KINDS)
    for kind in MEMORY_KINDS:
        assert clean_note("x", kind).text == "x"


_KINDS = st.sampled_from([*MEMORY_KINDS, "gossip", ""])


@given(st.text(max_size=2000), _KINDS)
@settings(max_examples=400, deadline=None)
def test_any_text_gives_a_clean_note_or_bad_memory(text: str, kind: str) -> None:
    try:
        note = clean_note(text, kind)
    except BadMemory as e:
        assert str(e) and "\n" not in str(e)
        return
    assert kind in MEMORY_KINDS
    assert 0 < len(note.text) <= MAX_MEMORY_CHARS
    assert note.text == note.text.strip() and "  " not in note.text
    assert all(unicodedata.category(ch) not in ("Cc", "Cs") for ch in note.text)
    assert clean_note(note.text, kind).text == note.text  # cleaning is idempotent


def _visible(text: str) -> str:
    """What a note keeps of `text` before any trim (an oracle written apart from the code)."""
    kept = (
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace()
        or ch in "\u200c\u200d"
        or unicodedata.category(ch) not in ("Cc", "Cs", "Cf")
    )
    return " ".join("".join(kept).split())


@given(st.text(min_size=MAX_MEMORY_CHARS - 20, max_size=3000))
@settings(max_examples=100, deadline=None)
def test_a_note_is_trimmed_exactly_when_too_long(text: str) -> None:
    visible = _visible(text)
    try:
        note = clean_note(text)
    except BadMemory:
        assert visible == ""
        return
    trimmed = [n for n in note.notices if n.startswith("memory trimmed")]
    if len(visible) > MAX_MEMORY_CHARS:
        assert trimmed == [f"memory trimmed to 500 characters (it was {len(visible)})"]
        assert visible.startswith(note.text)
    else:
        assert trimmed == [] and note.text == visible
