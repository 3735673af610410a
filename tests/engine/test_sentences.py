from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from companion.safety.sentences import take_sentences


def test_literal() -> None:
    assert take_sentences("Hi there. How are") == (["Hi there. "], "How are")
    assert take_sentences("Wow!! Really?! ") == (["Wow!! ", "Really?! "], "")
    assert take_sentences('He said "no." Then') == (['He said "no." '], "Then")
    assert take_sentences("pi is 3.14 exactly") == ([], "pi is 3.14 exactly")
    assert take_sentences("line one\nline two") == (["line one\n"], "line two")
    assert take_sentences("Done.") == ([], "Done.")  # the end may still grow ("Done.5")


def test_long_runs_are_cut_at_a_space() -> None:
    text = "word " * 100
    out, rest = take_sentences(text, max_pending=50)
    assert all(len(s) <= 50 for s in out) and "".join(out) + rest == text


@given(st.lists(st.text(max_size=12), max_size=30))
def test_streaming_in_any_pieces_gives_the_text_back(pieces: list[str]) -> None:
    released: list[str] = []
    pending = ""
    for p in pieces:
        out, pending = take_sentences(pending + p, max_pending=40)
        released += out
    assert "".join(released) + pending == "".join(pieces)
    assert all(s for s in released)
