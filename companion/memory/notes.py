"""A memory note as the user typed it → a note the store may keep (pure).

Whatever the user gives (a pasted page, terminal escapes, 100k characters), :func:`clean_note`
either returns a short clean note, saying in ``notices`` what it changed, or raises
:class:`BadMemory` with one line that says what to do. It never raises anything else.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from companion.errors import CompanionError
from feedback.models import MAX_MEMORY_CHARS, MEMORY_KINDS

__all__ = ["MAX_MEMORY_CHARS", "MEMORY_KINDS", "BadMemory", "CleanNote", "check_kind", "clean_note"]

_KEPT_FORMAT = {"\u200c", "\u200d"}
"""Zero-width (non-)joiners: they hold emoji and some scripts together, so they stay."""
_WORD_CUT_SLACK = MAX_MEMORY_CHARS // 5
"""How far back a trim looks for a space; a longer word is cut where the limit falls."""


class BadMemory(CompanionError, ValueError):
    """A note that cannot be stored; the message says what to do, in one line."""


@dataclass(frozen=True, slots=True)
class CleanNote:
    text: str
    """One line, at most MAX_MEMORY_CHARS, no control characters."""
    notices: list[str] = field(default_factory=list)
    """What cleaning changed, for the user to see ("memory trimmed to ...")."""


def check_kind(kind: str) -> str:
    if kind not in MEMORY_KINDS:
        shown = kind if len(kind) <= 40 else kind[:40] + "…"
        raise BadMemory(f"unknown memory kind {shown!r}: use one of {', '.join(MEMORY_KINDS)}")
    return kind


def _dropped(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc: terminal escapes and the like; Cs: lone surrogates no database can encode;
    # Cf: invisible marks (bidi overrides can make a note read other than it is).
    return category in ("Cc", "Cs") or (category == "Cf" and ch not in _KEPT_FORMAT)


def _trim(text: str) -> str:
    cut = text[:MAX_MEMORY_CHARS]
    if text[MAX_MEMORY_CHARS] != " ":
        space = cut.rfind(" ")
        if space >= MAX_MEMORY_CHARS - _WORD_CUT_SLACK:
            cut = cut[:space]
    return cut.rstrip()


def clean_note(text: str, kind: str = "note") -> CleanNote:
    """`text` as one clean line: line breaks and tabs become spaces, other control
    characters go, runs of spaces collapse, and past MAX_MEMORY_CHARS it is trimmed at a
    word boundary. Raises BadMemory for an unknown `kind` or a note with no text."""
    check_kind(kind)
    notices: list[str] = []
    chars: list[str] = []
    dropped = 0
    for ch in text:
        if ch.isspace():
            chars.append(" ")
        elif _dropped(ch):
            dropped += 1
        else:
            chars.append(ch)
    note = " ".join("".join(chars).split())
    if not note:
        raise BadMemory("a memory needs some text: give the note to remember, in words")
    if dropped:
        notices.append(f"{dropped} control character(s) removed from the memory")
    if len(note) > MAX_MEMORY_CHARS:
        notices.append(f"memory trimmed to {MAX_MEMORY_CHARS} characters (it was {len(note)})")
        note = _trim(note)
    return CleanNote(note, notices)
