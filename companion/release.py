"""Where a sentence in progress may be released before it ends. Pure.

The engine checks growing prefixes of the sentence being generated and shows each once the
whole prefix has passed. A prefix ends after a complete word (never inside one, so a word
is not shown half-typed and then judged), and, past the first, only once at least
`min_new` characters have come since the last release: the checks cost milliseconds, and
this keeps them to a few per sentence.

>>> release_point("Hello the", 0, min_new=16)
6
>>> release_point("Hello", 0, min_new=16) is None
True
>>> release_point("Hello there, my friend", 6, min_new=16) is None
True
>>> release_point("Hello there, my friend and", 6, min_new=16)
23

The first release may also end inside a word, when `may_end_inside` allows it for what the
text ends with (see :mod:`companion.safety.prefixes`: no unsafe word begins with it):

>>> release_point("Hell", 0, min_new=16, may_end_inside=lambda frag: frag == "Hell")
4
>>> release_point("fu", 0, min_new=16, may_end_inside=lambda frag: False) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable

# The end of a word: a letter, digit or punctuation mark, then whitespace.
_WORD_END = re.compile(r"(?<=\S)\s+")


def release_point(
    pending: str,
    released: int,
    *,
    min_new: int,
    may_end_inside: Callable[[str], bool] | None = None,
) -> int | None:
    """The end of the longest prefix of `pending` that may be checked for release now, or
    None. `released` characters are already shown. The first release needs one complete
    word, or (with `may_end_inside`) a last word being typed that it allows; later ones
    `min_new` more characters. `min_new` 0 means whole sentences only."""
    if min_new <= 0:
        return None
    if not released and may_end_inside is not None and pending.strip():
        fragment = re.split(r"\s", pending)[-1]
        if fragment and may_end_inside(fragment):
            return len(pending)
    end = None
    for m in _WORD_END.finditer(pending, released):
        end = m.end()
    if end is None or end <= released:
        return None
    if released and end - released < min_new:
        return None
    return end
