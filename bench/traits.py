"""Hidden preferences of the simulated users in `bench/learning_loop.py`, each a scorer
`(user message, reply) -> bool` that the user picks by, and that the held-out share measures.

They span wording, length, tone, structure, and two that are no surface string: a reply that
refers back to what the user said, and one that offers one concrete suggestion. The control
user picks at random. Scorers are pure and tested (tests/unit/test_traits.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z']+")
# Words that carry no topic: what "refers back" must look past.
_STOP = frozenset(
    """a about after again all also am an and any are as at be been being but by can could did
    do does doing done for from had has have having he her here hers him his how i i'm i've if
    in into is it it's its just like me more most my myself no not now of off on once only or
    other our out over own really same she so some such than that that's the their them then
    there these they this those through to too under until up very was we were what when where
    which while who why will with would you you're your yours today tonight yesterday tomorrow
    week weekend morning night day days time lot bit got get going went feel feeling felt
    things thing something anything everything""".split()
)
_SUGGEST = re.compile(
    r"\b(try|trying|you could|you might|how about|what about|why not|consider|maybe you|"
    r"i suggest|i'd suggest|i recommend|one idea|a good idea|it might help to|make sure)\b",
    re.I,
)
_WARM = re.compile(
    r"\b(glad|happy for you|wonderful|lovely|that's great|so great|amazing|proud of you|"
    r"sounds fun|sounds great|sounds lovely|exciting)\b",
    re.I,
)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def content_words(text: str) -> set[str]:
    """Lower-case words of four or more letters that carry a topic (crude stemming: a final
    s, ed or ing goes), for the refers-back scorer."""
    out = set()
    for w in words(text):
        if len(w) < 4 or w in _STOP:
            continue
        for suffix in ("ing", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 4:
                w = w[: -len(suffix)]
                break
        out.add(w)
    return out


def ends_with_question(_user: str, reply: str) -> bool:
    return reply.strip().endswith("?")


def short(_user: str, reply: str) -> bool:
    """At most 18 words: a brief reply."""
    n = len(words(reply))
    return 0 < n <= 18


def long(_user: str, reply: str) -> bool:
    """At least 35 words: a reply that takes its time."""
    return len(words(reply)) >= 35


def exclaims(_user: str, reply: str) -> bool:
    """Tone: lively, at least one exclamation mark."""
    return "!" in reply


_EMPATHY = re.compile(
    r"\b(sorry|i understand|that must|must be (hard|tough|difficult)|that's (hard|tough)|"
    r"sounds (hard|tough|difficult|stressful)|it's okay|it's ok|i hear you|that can be)\b",
    re.I,
)


def empathic(_user: str, reply: str) -> bool:
    """Tone: acknowledges how the user may feel."""
    return bool(_EMPATHY.search(reply))


def no_exclamation_calm(_user: str, reply: str) -> bool:
    """Tone: calm, no exclamation mark anywhere."""
    return bool(reply.strip()) and "!" not in reply


def warm_words(_user: str, reply: str) -> bool:
    """Wording: says it is glad / happy for the user / finds it lovely."""
    return bool(_WARM.search(reply))


def two_paragraphs(_user: str, reply: str) -> bool:
    """Structure: two or more paragraphs (a blank line between)."""
    parts = [p for p in re.split(r"\n\s*\n", reply.strip()) if p.strip()]
    return len(parts) >= 2


def refers_back(user: str, reply: str) -> bool:
    """Not a surface pattern: the reply takes up at least two of the topic words the user
    said (the names of things in their message), not just "that sounds nice"."""
    said = content_words(user)
    return len(said & content_words(reply)) >= min(2, len(said)) > 0


def one_suggestion(_user: str, reply: str) -> bool:
    """Not a surface pattern: exactly one sentence offers something concrete to do."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", reply.strip()) if s]
    return sum(bool(_SUGGEST.search(s)) for s in sentences) == 1


Scorer = Callable[[str, str], bool]


@dataclass(frozen=True)
class Trait:
    name: str
    kind: str
    """wording, length, tone, structure, content (not a surface pattern), or control."""
    scorer: Scorer | None
    """None: the control user, who picks at random."""
    describe: str


TRAITS: dict[str, Trait] = {
    t.name: t
    for t in (
        Trait("question", "structure", ends_with_question, "ends with a question"),
        Trait("short", "length", short, "at most 18 words"),
        Trait("long", "length", long, "at least 35 words"),
        Trait("exclaims", "tone", exclaims, "at least one exclamation mark"),
        Trait("empathic", "tone", empathic, "acknowledges how the user may feel"),
        Trait("calm", "tone", no_exclamation_calm, "no exclamation marks"),
        Trait("warm", "wording", warm_words, "says it is glad / finds it lovely"),
        Trait("refers_back", "content", refers_back, "takes up two of the user's topic words"),
        Trait("suggestion", "content", one_suggestion, "offers exactly one concrete suggestion"),
        Trait("paragraphs", "structure", two_paragraphs, "two or more paragraphs"),
        Trait("random", "control", None, "picks at random"),
    )
}

SUITE = ("long", "warm", "empathic", "paragraphs", "refers_back", "suggestion", "random")
"""The default suite: one user per kind or more, each trait starting under 40 % from the starter
adapter (`bench/learning_loop.py --measure`); "question", "short" and "calm" already hold for
most replies of the starter persona, so they have no room to grow."""
