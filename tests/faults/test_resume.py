"""After a crash the chat reopens at the conversation's true end (Pilot, the real app, Store
and Engine; the model is tests/faults/sse_server.py). The stored states are the ones a kill
leaves; the real kills are in test_kill.py."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from fault_setup import chat_app, fault_config
from sse_server import SSEServer
from tui_data import make_engine

from companion.config import Config
from feedback.repo import Store, open_store
from tui import state as ui_state
from tui.app import CompanionApp, make_app
from tui.widgets.message_bubble import MessageBubble

SIZE = (110, 36)


def crashed(store: Store, *, reply: str | None = "Word 1. Word 2. ") -> dict[str, int]:
    """A conversation as a kill left it: one finished turn, then a message whose reply was
    `generating` with `reply` saved (None: the kill came before the reply was stored)."""
    conv = store.create_conversation("default", "Crash")
    assert conv.id is not None
    u1 = store.add_message(conv.id, "user", "Hello")
    a1 = store.add_message(conv.id, "assistant", "", u1.id)
    assert a1.id is not None
    store.add_candidate(a1.id, "Hi, good to see you.", shown=True)
    u2 = store.add_message(conv.id, "user", "Tell me a story", a1.id)
    ids = {"conv": conv.id, "u1": u1.id, "a1": a1.id, "u2": u2.id}
    if reply is not None:
        a2 = store.add_message(conv.id, "assistant", reply, u2.id, "generating")
        ids["a2"] = a2.id
    return {k: v for k, v in ids.items() if v is not None}


def reopen(config: Config, ids: dict[str, int], **kw: Any) -> tuple[CompanionApp, Store]:
    """The next start: open_store marks `generating` replies interrupted; the UI state is
    the one saved before the crash (the finished turn)."""
    ui_state.save(
        config.paths.state_file,
        ui_state.UiState(accepted=True, last_conversation=ids["conv"], last_leaf=ids["a1"]),
    )
    store = open_store(config.database_url)
    if "engine" not in kw and "start_server" not in kw:
        kw["engine"] = make_engine(config, store, str(config.server.url), "x", "companion")
    kw.setdefault("start_server", None)
    return make_app(config, store=store, **kw), store


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def stored(app: CompanionApp) -> list[MessageBubble]:
    return [b for b in app.chat.query(MessageBubble) if b.turn.message_id is not None]


def header(bubble: MessageBubble) -> str:
    return str(bubble.query_one(".bubble-header").render())


async def test_a_cut_off_reply_reopens_as_saved_and_regenerates_in_place(
    fconfig: Config, store: Store, sse: SSEServer
):
    ids = crashed(store)
    app, store = reopen(fconfig, ids)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = stored(app)
        assert [b.turn.message_id for b in shown] == [ids[k] for k in ("u1", "a1", "u2", "a2")]
        reply = shown[-1]
        assert reply.markdown_source.strip() == "Word 1. Word 2."
        assert "interrupted" in header(reply) and "regenerates" in header(reply)
        assert any("Ctrl+r regenerates" in n.message for n in app._notifications)
        assert store.get_message(ids["a2"]).status == "interrupted"

        await pilot.press("ctrl+r")
        await settle(pilot)
        # The same turn, not a new branch: one reply to the message, now complete.
        assert [m.id for m in store.children(ids["u2"])] == [ids["a2"]]
        a2 = store.get_message(ids["a2"])
        assert a2.status == "complete" and a2.text == sse.text(3)
        assert len(store.candidates(ids["a2"])) == 1
        assert stored(app)[-1].markdown_source.strip() == sse.text(3).strip()
        assert "interrupted" not in header(stored(app)[-1])

        await pilot.press(*"and then?", "enter")
        await settle(pilot)
        (nxt,) = store.children(ids["a2"])
        assert nxt.text == "and then?"  # continues from the true end
    assert ui_state.load(fconfig.paths.state_file).last_leaf == store.children(nxt.id)[0].id


async def test_a_reply_cut_off_before_any_text_reopens_and_the_next_message_follows_it(
    fconfig: Config, store: Store
):
    ids = crashed(store, reply="")
    app, store = reopen(fconfig, ids)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reply = stored(app)[-1]
        assert reply.turn.message_id == ids["a2"]
        assert "interrupted before any text" in header(reply)
        await pilot.press(*"are you there?", "enter")
        await settle(pilot)
        (nxt,) = store.children(ids["a2"])
        assert nxt.text == "are you there?"
        assert [b.turn.message_id for b in stored(app)][:4] == [
            ids[k] for k in ("u1", "a1", "u2", "a2")
        ]


async def test_a_message_without_a_reply_is_answered_once_the_model_is_ready(
    fconfig: Config, store: Store, sse: SSEServer
):
    ids = crashed(store, reply=None)
    ready = threading.Event()
    engines: list[Any] = []

    def start_server(progress: Any) -> Any:
        ready.wait(30)
        engine = make_engine(fconfig, store, sse.url, "x", "companion")
        engines.append(engine)
        return engine

    app, store = reopen(fconfig, ids, start_server=start_server)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(20):
            await pilot.pause(0.05)
        assert stored(app)[-1].turn.message_id == ids["u2"]
        assert any("no reply yet" in n.message for n in app._notifications)
        assert store.children(ids["u2"]) == []
        ready.set()
        await settle(pilot)
        (reply,) = store.children(ids["u2"])
        assert reply.status == "complete" and reply.text == sse.text(3)
        assert stored(app)[-1].turn.message_id == reply.id
        assert stored(app)[-1].markdown_source.strip() == reply.text.strip()
        assert app.chat.leaf_id == reply.id
    for engine in engines:
        await engine.client.aclose()


async def test_a_cut_off_regeneration_shows_its_partial_text_until_another_is_picked(
    fconfig: Config, store: Store
):
    ids = crashed(store, reply=None)
    a2 = store.add_message(ids["conv"], "assistant", "", ids["u2"])
    old = store.add_candidate(a2.id, "Once upon a time.", shown=True)
    # Regenerating it, the kill came after one new sentence had been saved.
    store.update_message(a2.id, text="Word 1. ", status="generating")
    app, store = reopen(fconfig, {**ids, "a2": a2.id})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reply = stored(app)[-1]
        assert reply.markdown_source.strip() == "Word 1."
        assert "‹ –/1 ›" in header(reply) and "interrupted" in header(reply)
        reply.focus()
        await pilot.press("right")
        await settle(pilot)
        assert reply.markdown_source.strip() == "Once upon a time."
        assert store.get_message(a2.id).text == "Once upon a time."
        assert store.get_message(a2.id).shown_candidate_id == old.id


async def test_the_position_is_saved_as_soon_as_the_turn_is_stored(tmp_path: Path):
    with SSEServer(sentences=4, hold=2) as sse:
        config = fault_config(tmp_path / "data", sse.url)
        store = open_store(config.database_url)
        app, engine = chat_app(config, store)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press(*"hi", "enter")
            assert await asyncio.to_thread(sse.wait_held, 10)
            for _ in range(10):
                await pilot.pause(0.05)
            state = ui_state.load(config.paths.state_file)
            conv = app.chat.conversation
            assert conv is not None and state.last_conversation == conv.id
            user, reply = store.messages(conv.id)
            assert state.last_leaf == reply.id
            # Saved at each finished sentence while it streams.
            assert reply.status == "generating" and reply.text == sse.text(2)
            sse.release()
            await settle(pilot)
            assert store.get_message(reply.id).text == sse.text(4)
        await engine.client.aclose()
