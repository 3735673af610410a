"""Text normalization for the safety checks: pure functions, total over any input.

Every check sees text that went through :func:`clean` (bounded, printable, NFKC) and the rule
patterns see :func:`canonical` (lower case, plain apostrophes, texting shorthand and common
misspellings of the words the crisis rules key on, repeated letters collapsed). Nothing here
raises: binary junk, a megabyte of text or mixed scripts come out as ordinary strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

MAX_CHARS = 20_000
"""Checks look at most this much of one message: the start and the end (a crisis line or an
insult at either end is seen; the middle of a pasted megabyte is not worth 100 ms)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"'})
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SLASHED = re.compile(r"\bw/o\b|\bw/out\b")


def plain_quotes(text: str) -> str:
    """Curly quotes and backticks as plain ASCII quotes."""
    return text.translate(_APOSTROPHES)


def clean(text: object, max_chars: int = MAX_CHARS) -> str:
    """A bounded, printable version of any input (str, bytes or anything else)."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    if len(text) > max_chars:
        half = max_chars // 2
        text = text[:half] + "\n" + text[-half:]
    # surrogates (from bad decoding) cannot be encoded later: drop them
    text = text.encode("utf-8", errors="ignore").decode("utf-8", errors="ignore")
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", text)


# Texting shorthand and frequent misspellings, word for word (after lower-casing).
SHORTHAND: dict[str, str] = {
    "im": "i'm",
    "ive": "i've",
    "ill": "i'll",
    "id": "i'd",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "didnt": "didn't",
    "doesnt": "doesn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "wouldnt": "wouldn't",
    "couldnt": "couldn't",
    "shouldnt": "shouldn't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "theyd": "they'd",
    "youd": "you'd",
    "youre": "you're",
    "theres": "there's",
    "whats": "what's",
    "thats": "that's",
    "u": "you",
    "ur": "your",
    "r": "are",
    "b": "be",
    "y": "why",
    "ppl": "people",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "tho": "though",
    "thru": "through",
    "tonite": "tonight",
    "2nite": "tonight",
    "nite": "night",
    "rn": "right now",
    "al": "all",
    "wanna": "want to",
    "wana": "want to",
    "gonna": "going to",
    "gona": "going to",
    "gotta": "got to",
    "kinda": "kind of",
    "lemme": "let me",
    "no1": "no one",
    "noone": "no one",
    "every1": "everyone",
    "sum1": "someone",
    "some1": "someone",
    "any1": "anyone",
    "myslef": "myself",
    "mysef": "myself",
    "meself": "myself",
    "mysefl": "myself",
    "thinkin": "thinking",
    "feelin": "feeling",
    "havin": "having",
    "tryin": "trying",
    "goin": "going",
    "nothin": "nothing",
    "kil": "kill",
    "kiling": "killing",
    "lfie": "life",
    "wnat": "want",
    "wnt": "want",
    "wamt": "want",
    "dei": "die",
    "tommorow": "tomorrow",
    "tomorow": "tomorrow",
    "becuase": "because",
    "beacuse": "because",
    "abt": "about",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrrw": "tomorrow",
    "2day": "today",
    "2moro": "tomorrow",
    "rly": "really",
    "rlly": "really",
    "idk": "i don't know",
    "idc": "i don't care",
    "bein": "being",
    "evry1": "everyone",
    "evry": "every",
    "evryone": "everyone",
    "nobodys": "nobody's",
    "dnt": "don't",
    "wud": "would",
    "cud": "could",
    "shud": "should",
    "wouldve": "would've",
    "prolly": "probably",
    "anymor": "anymore",
    "nemore": "anymore",
    "wen": "when",
    "wiv": "with",
    "dieing": "dying",
    "dyin": "dying",
    "livin": "living",
    "eatin": "eating",
    "makin": "making",
    "cuttin": "cutting",
    "starvin": "starving",
    "purgin": "purging",
}

# Long words the crisis rules key on: a token one edit away (two for long words) is read as
# the word. Short words are left to SHORTHAND: one edit from a short word is another word.
FUZZY_TARGETS: tuple[str, ...] = (
    "suicide",
    "suicidal",
    "myself",
    "anymore",
    "overdose",
    "overdosing",
    "unalive",
    "starving",
    "purging",
    "laxatives",
    "anorexia",
    "anorexic",
    "bulimia",
    "bulimic",
    "wrists",
    "existing",
    "everyone",
    "everything",
    "tonight",
    "disappear",
    "harming",
)
_TARGETS = frozenset(FUZZY_TARGETS)
_PROTECTED = frozenset(
    {
        "himself",
        "herself",
        "itself",
        "thyself",
        "yourself",
        "oneself",
        "purring",
        "purling",
        "pursing",
        "surging",
        "urging",
        "merging",
        "serving",
        "carving",
        "craving",
        "starring",
        "staring",
        "storing",
        "striving",
        "starting",
        "wrest",
        "writs",
        "wrist",
        "tonights",
        "exiting",
        "existent",
    }
)


def _dl1(a: str, b: str) -> int:
    """Optimal string alignment distance, capped at 3."""
    if abs(len(a) - len(b)) > 2:
        return 3
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[-1], 3)


@lru_cache(maxsize=8192)
def fix_word(word: str) -> str:
    """The word the crisis rules know this token as (itself when none is near)."""
    if word in SHORTHAND:
        return SHORTHAND[word]
    if len(word) < 5 or word in _PROTECTED or word in _TARGETS or not word.isalpha():
        return word
    for target in FUZZY_TARGETS:
        if word[0] != target[0] and word[:2] != target[1::-1]:
            continue
        limit = 2 if len(target) >= 9 else 1
        if _dl1(word, target) <= limit:
            return target
    return word


def canonical(text: str, *, fuzzy_limit: int = 4000) -> str:
    """What the rule patterns read: lower case, plain apostrophes, one space, shorthand and
    common misspellings spelled out, letters repeated 3+ times cut to one ("diiie" → "die",
    "sooo" → "so"). Fuzzy correction stops after `fuzzy_limit` characters (huge inputs)."""
    t = text.translate(_APOSTROPHES).lower()
    t = _REPEATS.sub(r"\1", t)
    t = _SLASHED.sub("without", t)
    t = _SPACES.sub(" ", t).strip()
    head, tail = t[:fuzzy_limit], t[fuzzy_limit:]
    head = _WORD.sub(lambda m: fix_word(m.group(0)), head)
    head = re.sub(r"\b(di)e+\b", r"\1e", head)  # "diee"
    return head + tail


def sentences(text: str, limit: int = 24) -> list[str]:
    """Sentence-ish pieces of a message (for per-sentence scoring); at most `limit`, the
    first and last ones when there are more."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?;\n])\s+|\n+", text) if p and p.strip()]
    if len(parts) > limit:
        parts = parts[: limit // 2] + parts[-(limit - limit // 2) :]
    return parts


def windows(items: Iterable[str], size: int) -> list[str]:
    """The last `size` non-empty items, oldest first."""
    kept = [s for s in items if s and s.strip()]
    return kept[-size:] if size > 0 else []
