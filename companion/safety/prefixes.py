"""May a reply's first text end inside a word? Only where that word cannot be the start of
an unsafe one.

Releasing checked text at word ends means the first text waits for the token after the
first word. For the first release alone, the engine may show a word still being typed
("Hell" of "Hello") once the text so far passed its checks, when no unsafe word begins with
it. The unsafe words are those alt-profanity-check's model scores as offensive on their own
(its own vocabulary, at a cautious threshold), the targeted-abuse rules' vocabulary and the
user's blocklist. So a slur is never shown half-typed: "fu", "I" (idiot) or "Oh" (ohh) wait
for the next token, as before.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from functools import lru_cache

OFFENSIVE_THRESHOLD = 0.3
"""A word counts as unsafe from this single-word offensive probability up (cautious: a
word wrongly listed only waits for the next token)."""

_LETTERS = re.compile(r"[a-z]+")
_ABUSE_LEXICONS = ("_INSULT_NOUN", "_INSULT_ADJ", "_VOCATIVE_ADJ", "_BAD_NOUN", "_BAD_ADJ")


class PrefixGuard:
    """``could_begin(fragment)``: whether an unsafe word starts with ``fragment``.

    >>> g = PrefixGuard(["idiot", "fuck", "ohh"])
    >>> g.could_begin("Hell"), g.could_begin("fu"), g.could_begin("I"), g.could_begin("**Oh")
    (False, True, True, True)
    >>> g.could_begin("3") , g.could_begin("")  # no letters: nothing to complete
    (False, True)
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = sorted({w.lower() for w in words if w.strip()})

    def could_begin(self, fragment: str) -> bool:
        letters = _LETTERS.findall(fragment.lower())
        if not fragment.strip():
            return True
        if not letters:
            return False
        # The fragment's last run of letters is what the next token may complete.
        tail = letters[-1]
        i = bisect.bisect_left(self.words, tail)
        return i < len(self.words) and self.words[i].startswith(tail)


def _abuse_words() -> set[str]:
    """The insults and demeaning words of the abuse rules (not their grammar: "you", "are",
    "people" begin nothing unsafe on their own)."""
    from companion.safety import abuse

    words: set[str] = set()
    for name in _ABUSE_LEXICONS:
        words.update(re.findall(r"[a-z]{2,}", getattr(abuse, name)))
    return words


def _offensive_words() -> set[str]:
    from profanity_check import profanity_check as pc

    vocabulary = sorted(pc.vectorizer.vocabulary_)
    probs = pc.predict_prob(vocabulary)
    return {w for w, p in zip(vocabulary, probs, strict=True) if p >= OFFENSIVE_THRESHOLD}


@lru_cache(maxsize=8)
def prefix_guard(blocklist: tuple[str, ...] = ()) -> PrefixGuard:
    """Built once per process and blocklist (about 0.3 s: the model scores its vocabulary)."""
    extra = {w for phrase in blocklist for w in re.findall(r"[a-z]+", phrase.lower())}
    return PrefixGuard(_offensive_words() | _abuse_words() | extra)
