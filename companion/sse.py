"""Incremental Server-Sent Events decoder (WHATWG event-stream rules), pure and I/O free.

Feed it chunks exactly as they come off the socket (bytes or str, split anywhere, even inside
a UTF-8 sequence or between the CR and LF of one line ending); it returns whole events.
OpenAI-compatible servers end a stream with ``data: [DONE]``: the decoder swallows that event,
sets ``done`` and ignores anything after it.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SSEDecoder:
    """Turns chunks into events; keeps the unfinished line and event between calls."""

    done: bool = False
    _utf8: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    _buf: str = ""
    _started: bool = False
    _data: list[str] = field(default_factory=list)
    _event: str | None = None
    _id: str | None = None
    _retry: int | None = None

    def feed(self, chunk: bytes | str) -> list[ServerSentEvent]:
        if self.done:
            return []
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")  # a BOM may open the stream
        self._buf += text
        return self._drain(final=False)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: a last line without its newline still counts, an unfinished event
        (no blank line after it) is dropped, as the spec says."""
        if self.done:
            return []
        self._buf += self._utf8.decode(b"", final=True)
        events = self._drain(final=True)
        self._data, self._event, self._id, self._retry = [], None, None, None
        return events

    def _drain(self, *, final: bool) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        buf = self._buf
        start = 0
        n = len(buf)
        while start < n and not self.done:
            cr = buf.find("\r", start)
            lf = buf.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr + 1 == n and not final:
                    break  # a lone CR at the end may be the first half of CRLF: wait
                end, nxt = cr, cr + 2 if buf.startswith("\n", cr + 1) else cr + 1
            else:
                end, nxt = lf, lf + 1
            ev = self._line(buf[start:end])
            start = nxt
            if ev is not None:
                events.append(ev)
        self._buf = buf[start:]
        if final and self._buf and not self.done:
            self._line(self._buf)
            self._buf = ""
        if self.done:
            self._buf = ""
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # comment, e.g. a keep-alive ping
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], None, None
        if not data:
            return None
        joined = "\n".join(data)
        if joined.strip() == DONE:
            self.done = True
            return None
        return ServerSentEvent(data=joined, event=event, id=self._id, retry=retry)


def decode(chunks: Iterable[bytes | str]) -> list[ServerSentEvent]:
    """All events of a whole stream; convenient for tests and one-shot use."""
    dec = SSEDecoder()
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    out.extend(dec.flush())
    return out
