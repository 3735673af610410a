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
"""

from __future__ import annotations

import re

# The end of a word: a letter, digit or punctuation mark, then whitespace.
_WORD_END = re.compile(r"(?<=\S)\s+")


def release_point(pending: str, released: int, *, min_new: int) -> int | None:
    """The end of the longest prefix of `pending` that may be checked for release now, or
    None. `released` characters are already shown. The first release needs one complete
    word; later ones `min_new` more characters. `min_new` 0 means whole sentences only."""
    if min_new <= 0:
        return None
    end = None
    for m in _WORD_END.finditer(pending, released):
        end = m.end()
    if end is None or end <= released:
        return None
    if released and end - released < min_new:
        return None
    return end
