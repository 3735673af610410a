"""Cut streamed text into sentences, so each can be checked before it is shown. Pure.

A sentence ends at . ! ? or … (with any closing quotes or brackets) once whitespace follows,
or at a line break. The whitespace stays with the sentence, so joining the pieces gives the
text back exactly. Very long runs without an end (code, lists) are cut at a space so the user
is not kept waiting.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n\s*")
MAX_PENDING = 280


def take_sentences(buffer: str, *, max_pending: int = MAX_PENDING) -> tuple[list[str], str]:
    """(complete sentences, the unfinished rest) of `buffer`."""
    out: list[str] = []
    start = 0
    for m in _END.finditer(buffer):
        out.append(buffer[start : m.end()])
        start = m.end()
    rest = buffer[start:]
    while len(rest) > max_pending:
        cut = rest.rfind(" ", 0, max_pending)
        cut = max_pending if cut <= 0 else cut + 1
        out.append(rest[:cut])
        rest = rest[cut:]
    return out, rest
