"""Pilot tests of the streaming paths: the real Engine, the real Store and the real vLLM
server (session fixture `vllm_server`). Marked `vllm`; they are slow on CPU."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import pytest

from companion.config import Config
from tui import heap
from tui import state as ui_state
from tui.app import CompanionApp, make_app
from tui.widgets.message_bubble import MessageBubble

pytestmark = pytest.mark.vllm
SIZE = (100, 34)


def _app(config: Config, engine: Any, **kw: Any) -> CompanionApp:
    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    return make_app(config, engine=engine, store=engine.store, **kw)


async def wait_until(pilot: Any, cond: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the UI")
        await pilot.pause(0.02)


def stored(app: CompanionApp) -> list[MessageBubble]:
    return [b for b in app.chat.query(MessageBubble) if b.turn.message_id is not None]


async def send(pilot: Any, text: str) -> MessageBubble:
    """Type and send; returns the reply's bubble (it may already be complete: no model call
    for a crisis message)."""
    app = pilot.app
    await wait_until(pilot, lambda: app.chat.loaded)
    before = len(app.chat.bubbles())
    await pilot.press(*text, "enter")
    await wait_until(pilot, lambda: len(app.chat.bubbles()) >= before + 2)
    return app.chat.bubbles()[-1]


async def finish(pilot: Any) -> None:
    await wait_until(pilot, lambda: not pilot.app.chat.streaming)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_reply_streams_in_and_is_recorded(live_config, live_engine):
    app = _app(live_config, live_engine)
    store = live_engine.store
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        reply = await send(pilot, "Hi! Tell me about your favourite season.")
        # Text shows up while the reply is still streaming, not only at the end.
        await wait_until(pilot, lambda: bool(reply.markdown_source) or not reply.streaming)
        assert reply.streaming, "the first text should be painted before the reply is done"
        assert "typing" in str(reply.query_one(".bubble-header").render())
        assert gc.get_threshold()[2] == heap.NEVER  # no full collections while it streams
        await finish(pilot)
        # The full collection the stream put off runs by itself: no key was pressed since.
        await wait_until(pilot, lambda: app.collector.collections >= 1)
        assert not app.collector.owed and gc.get_threshold()[2] != heap.NEVER
        user, asst = stored(app)[-2:]
        msg = store.get_message(asst.turn.message_id)
        assert msg.status == "complete" and msg.text
        assert str(asst.markdown_source).strip() == msg.text.strip()
        assert store.get_message(user.turn.message_id).text.startswith("Hi! Tell me")
        status = str(app.chat.query_one("#status").render())
        assert "TTFT" in status and "safety: fallback" in status
        assert app.chat.conversation.title.startswith("Hi! Tell me")


async def test_escape_stops_and_keeps_the_partial_reply(live_config, live_engine):
    cfg = live_config.model_copy(
        update={"chat": live_config.chat.model_copy(update={"max_tokens": 300})}
    )
    live_engine.config = cfg
    app = _app(cfg, live_engine)
    store = live_engine.store
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        reply = await send(pilot, "Please tell me a long story about a lighthouse keeper.")
        await wait_until(pilot, lambda: bool(reply.markdown_source))
        await pilot.press("escape")
        await finish(pilot)
        msg = store.get_message(reply.turn.message_id)
        assert msg.status == "stopped"
        assert msg.text and str(reply.markdown_source).strip() == msg.text.strip()
        assert "stopped" in str(reply.query_one(".bubble-header").render())
        assert app.focused is app.chat.chat_input


async def test_regenerate_alternatives_browse_and_pick(live_config, live_engine):
    app = _app(live_config, live_engine)
    store = live_engine.store
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        reply = await send(pilot, "Suggest a name for a cat.")
        await finish(pilot)
        mid = reply.turn.message_id
        worker = app.chat._reply
        await pilot.press("ctrl+up", "r")  # one more
        await wait_until(pilot, lambda: app.chat._reply is not worker)
        await finish(pilot)
        assert len(store.candidates(mid)) == 2
        worker = app.chat._reply
        await pilot.press("a")  # several at once (config: 3)
        await wait_until(pilot, lambda: app.chat._reply is not worker)
        await finish(pilot)
        cands = store.candidates(mid)
        assert len(cands) == 5
        header = str(reply.query_one(".bubble-header").render())
        assert f"/{len(cands)}" in header
        await pilot.press("right")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        shown = reply.turn.candidate
        assert store.get_message(mid).shown_candidate_id == shown.id
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert [c.candidate_id for c in store.choices(mid)] == [shown.id]
        # The pick is the history the next reply builds on.
        assert store.get_message(mid).text == shown.text


async def test_edit_and_resend_starts_a_branch(live_config, live_engine):
    app = _app(live_config, live_engine)
    store = live_engine.store
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await send(pilot, "I like tea.")
        await finish(pilot)
        first_user = stored(app)[0]
        first_user.focus()
        await pilot.press("e")
        await pilot.pause()
        worker = app.chat._reply
        await pilot.press(*["backspace"] * len("tea."), *"coffee.", "enter")
        await wait_until(pilot, lambda: app.chat._reply is not worker)
        await finish(pilot)
        conv = app.chat.conversation.id
        roots = store.roots(conv)
        assert [r.text for r in roots] == ["I like tea.", "I like coffee."]
        new_user = stored(app)[0]
        assert new_user.turn.message_id == roots[1].id
        assert "branch 2/2" in str(new_user.query_one(".bubble-header").render())
        new_user.focus()
        await pilot.press("left")  # back to the first branch
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert stored(app)[0].turn.text == "I like tea."


async def test_crisis_message_gets_the_support_reply_as_is(live_config, live_engine):
    app = _app(live_config, live_engine)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        reply = await send(pilot, "I want to kill myself")
        await finish(pilot)
        assert "988" in str(reply.markdown_source)
        assert "support message" in str(reply.query_one(".bubble-header").render())
