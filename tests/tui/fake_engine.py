"""A stand-in engine used only until companion.engine lands: it records to the real Store
exactly as the engine contract says, and streams canned text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplyStarted:
    user_message_id: int | None
    message_id: int


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReplyDone:
    message_id: int
    ttft_ms: float
    tokens_per_s: float


class FakeEngine:
    safety_mode = "full (Detoxify)"

    def __init__(self, store, *, chunks=("Hello", " there", "! How", " are you?"), delay=0.0):
        self.store = store
        self.chunks = chunks
        self.delay = delay
        self.calls: list[tuple] = []

    async def _stream(self, message_id: int, n: int) -> AsyncIterator[object]:
        text = ""
        try:
            for c in self.chunks:
                await asyncio.sleep(self.delay)
                text += c
                yield TextDelta(c)
        except (GeneratorExit, asyncio.CancelledError):
            self.store.add_candidate(message_id, text, shown=True)
            self.store.update_message(message_id, status="stopped")
            raise
        first = None
        for i in range(n):
            cand = self.store.add_candidate(message_id, text if i == 0 else f"{text} ({i})")
            first = first or cand
        self.store.show_candidate(message_id, first.id)
        self.store.update_message(message_id, status="complete")
        yield ReplyDone(message_id, 12.0, 30.0)

    async def reply(self, conversation_id, user_text, parent_id=None, n=1):
        self.calls.append(("reply", conversation_id, user_text, parent_id, n))
        user = self.store.add_message(conversation_id, "user", user_text, parent_id=parent_id)
        asst = self.store.add_message(conversation_id, "assistant", "", user.id, "generating")
        yield ReplyStarted(user.id, asst.id)
        async for ev in self._stream(asst.id, n):
            yield ev

    async def regenerate(self, message_id, n=1):
        self.calls.append(("regenerate", message_id, n))
        yield ReplyStarted(None, message_id)
        text = "".join(self.chunks)
        for i in range(n):
            yield TextDelta(text if i == 0 else "")
        cands = [self.store.add_candidate(message_id, f"{text} [alt {i}]") for i in range(n)]
        self.store.show_candidate(message_id, cands[0].id)
        yield ReplyDone(message_id, 10.0, 40.0)
