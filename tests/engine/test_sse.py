from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from companion.sse import ServerSentEvent, SSEDecoder, decode


def test_basic_stream_stops_at_done() -> None:
    raw = b'data: {"a": 1}\n\ndata: {"a": 2}\n\ndata: [DONE]\n\ndata: {"a": 3}\n\n'
    dec = SSEDecoder()
    events = dec.feed(raw)
    assert [e.json() for e in events] == [{"a": 1}, {"a": 2}]
    assert dec.done
    assert dec.feed(b"data: more\n\n") == []


def test_comments_keepalives_multiline_and_fields() -> None:
    raw = ": ping\n\nevent: update\nid: 7\nretry: 1500\ndata: line one\ndata:line two\n\n:\n\n"
    assert decode([raw]) == [
        ServerSentEvent(data="line one\nline two", event="update", id="7", retry=1500)
    ]


def test_crlf_split_between_cr_and_lf() -> None:
    chunks = [b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]
    assert [e.data for e in decode(chunks)] == ["a", "b"]


def test_lone_cr_line_endings() -> None:
    assert [e.data for e in decode([b"data: a\r\rdata: b\r\r"])] == ["a", "b"]


def test_utf8_split_inside_a_character() -> None:
    raw = "data: héllo 👋\n\n".encode()
    chunks = [raw[i : i + 1] for i in range(len(raw))]
    assert [e.data for e in decode(chunks)] == ["héllo 👋"]


def test_bom_and_unfinished_event_dropped_at_end() -> None:
    assert [e.data for e in decode(["\ufeffdata: x\n\n", "data: half"])] == ["x"]


def test_no_space_after_colon_and_empty_data() -> None:
    assert [e.data for e in decode(["data\n\ndata:\n\ndata:  two spaces\n\n"])] == [
        "",
        "",
        " two spaces",
    ]


# --- property: any chunking of a stream yields the same events --------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    max_size=20,
).filter(lambda s: "[DONE]" not in s)
_event = st.builds(
    lambda lines, name: (lines, name),
    st.lists(_text, min_size=1, max_size=3),
    st.one_of(st.none(), _text.filter(lambda s: s and ":" not in s and s == s.strip())),
)


def _serialise(events: list[tuple[list[str], str | None]], eol: str, pings: bool) -> str:
    out = []
    for lines, name in events:
        if pings:
            out.append(f": keep-alive{eol}{eol}")
        if name is not None:
            out.append(f"event: {name}{eol}")
        out.extend(f"data: {line}{eol}" for line in lines)
        out.append(eol)
    out.append(f"data: [DONE]{eol}{eol}")
    return "".join(out)


@given(
    events=st.lists(_event, max_size=6),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    pings=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    as_bytes=st.booleans(),
)
def test_any_chunking_yields_same_events(
    events: list[tuple[list[str], str | None]],
    eol: str,
    pings: bool,
    cuts: list[int],
    as_bytes: bool,
) -> None:
    stream: bytes | str = _serialise(events, eol, pings)
    if as_bytes:
        stream = stream.encode()
    whole = decode([stream])
    points = sorted({c % (len(stream) + 1) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert decode(pieces) == whole
    # and the events are the ones serialised, in order, without [DONE]
    expected = [("\n".join(lines), name) for lines, name in events]
    assert [(e.data, e.event) for e in whole] == expected
