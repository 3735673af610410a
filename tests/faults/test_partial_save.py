"""The reply's text is saved as it streams, at each finished sentence, without holding the
stream up; the final record always wins over a partial save (the real Engine and Store, the
model tests/faults/sse_server.py)."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Any

from sse_server import SSEServer
from tui_data import make_engine

from companion.config import Config
from companion.events import ReplyDone, ReplyStarted, TextDelta
from feedback.repo import Store


class SlowPartialStore(Store):
    """A Store whose partial saves (text only) are slow, or fail."""

    def __init__(self, store: Store, *, delay_s: float = 0.0, fail: bool = False) -> None:
        super().__init__(store.engine)
        self.delay_s, self.fail = delay_s, fail
        self.partial_saves: list[str] = []

    def update_message(self, message_id: int, *, text: str | None = None, **kw: Any) -> Any:
        if text is not None and not kw.get("status"):
            self.partial_saves.append(text)
            time.sleep(self.delay_s)
            if self.fail:
                raise OSError("disk full")
        return super().update_message(message_id, text=text, **kw)


async def test_each_finished_sentence_is_saved_while_the_reply_streams(
    fconfig: Config, store: Store
):
    with SSEServer(sentences=4, hold=3) as sse:
        engine = make_engine(fconfig, store, sse.url, "x", "companion")
        conv = store.create_conversation("default")
        async with aclosing(engine.reply(conv.id, "hello")) as events:
            started = await anext(events)
            assert isinstance(started, ReplyStarted)
            seen = ""
            while seen != sse.text(3):
                ev = await anext(events)
                if isinstance(ev, TextDelta):
                    seen += ev.text
            for _ in range(100):  # the save is off the stream: it lands a moment later
                if store.get_message(started.message_id).text == sse.text(3):
                    break
                await asyncio.sleep(0.02)
            assert store.get_message(started.message_id).text == sse.text(3)
            assert store.get_message(started.message_id).status == "generating"
            sse.release()
            rest = [ev async for ev in events]
        assert isinstance(rest[-1], ReplyDone)
        done = store.get_message(started.message_id)
        assert done.status == "complete" and done.text == sse.text(4)
        await engine.client.aclose()


async def test_a_stop_while_a_partial_save_is_slow_keeps_the_final_record(
    fconfig: Config, store: Store
):
    slow = SlowPartialStore(store, delay_s=0.3)
    with SSEServer(sentences=None, delay_s=0.01) as sse:
        engine = make_engine(fconfig, slow, sse.url, "x", "companion")
        conv = slow.create_conversation("default")
        events = engine.reply(conv.id, "hello")
        started = await anext(events)
        assert isinstance(started, ReplyStarted)
        shown = ""
        while shown.count(".") < 6:
            ev = await anext(events)
            if isinstance(ev, TextDelta):
                shown += ev.text
        t0 = time.perf_counter()
        await events.aclose()  # Esc: recorded as stopped, synchronously
        await asyncio.sleep(0.8)  # any partial save still in flight has finished by now
        msg = slow.get_message(started.message_id)
        (cand,) = slow.candidates(started.message_id)
        assert msg.status == "stopped" and msg.text == cand.text == shown
        assert slow.partial_saves  # some were made while it streamed
        assert time.perf_counter() - t0 < 5
        await engine.client.aclose()


async def test_a_failing_partial_save_does_not_stop_the_reply(fconfig: Config, store: Store):
    broken = SlowPartialStore(store, fail=True)
    with SSEServer(sentences=5) as sse:
        engine = make_engine(fconfig, broken, sse.url, "x", "companion")
        conv = broken.create_conversation("default")
        events = [ev async for ev in engine.reply(conv.id, "hello")]
        done = events[-1]
        assert isinstance(done, ReplyDone) and done.status == "complete"
        assert broken.partial_saves
        assert broken.get_message(done.message_id).text == sse.text(5)
        await engine.client.aclose()
