"""A reply's engine events on screen, without a model server: a scripted engine yields the real
`companion.events` dataclasses and records what it says through the real Store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from companion.config import Config
from companion.events import (
    CandidateReady,
    EngineEvent,
    ReplyDone,
    ReplyFailed,
    ReplyReset,
    ReplyStarted,
    SafetyNotice,
    TextDelta,
)
from feedback.repo import Store
from tui import state as ui_state
from tui.app import make_app
from tui.widgets.message_bubble import MessageBubble

SIZE = (110, 36)


class ScriptedEngine:
    """Answers every message with `final`, after showing `first` and replacing it; or, with
    `fail`, stores nothing and says why."""

    safety_mode = "full (scripted)"

    def __init__(self, store: Store, *, final: str = "", first: str = "", fail: str = "") -> None:
        self.store = store
        self.final, self.first, self.fail = final, first, fail

    async def reply(
        self, conversation_id: int, user_text: str, parent_id: int | None = None, n: int = 1
    ) -> AsyncIterator[EngineEvent]:
        if self.fail:
            yield ReplyFailed(self.fail)
            return
        s = self.store
        user = await asyncio.to_thread(s.add_message, conversation_id, "user", user_text, parent_id)
        asst = await asyncio.to_thread(
            s.add_message, conversation_id, "assistant", "", user.id, "generating"
        )
        assert user.id is not None and asst.id is not None
        yield ReplyStarted(user.id, asst.id)
        yield TextDelta(self.first)
        yield TextDelta("not on screen: a second candidate", index=1)
        yield ReplyReset("replaced: insult")
        yield SafetyNotice("Reply replaced: an insult", "insult", "replaced")
        for word in self.final.split(" "):
            yield TextDelta(word + " ")
        cand = await asyncio.to_thread(
            s.add_candidate, asst.id, self.final, shown=True, safety_action="replaced"
        )
        await asyncio.to_thread(lambda: s.update_message(asst.id, status="complete"))
        assert cand.id is not None
        yield CandidateReady(0, cand.id, self.final, "replaced")
        yield ReplyDone(asst.id, (cand.id,), cand.id, 12.0, 34.5)


def _app(config: Config, store: Store, engine: ScriptedEngine) -> Any:
    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    return make_app(config, engine=engine, store=store, start_server=None)


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_events_play_into_the_bubbles_and_the_status_bar(tui_config: Config, store: Store):
    engine = ScriptedEngine(store, first="You are a fool.", final="Let us talk about it calmly.")
    app = _app(tui_config, store, engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        user, reply = list(app.chat.query(MessageBubble))[-2:]
        conv = app.chat.conversation
        assert conv is not None
        stored = store.messages(conv.id)
        assert [user.turn.message_id, reply.turn.message_id] == [m.id for m in stored]
        # The reset took the first text off the screen; the second candidate never showed.
        assert reply.markdown_source.strip() == "Let us talk about it calmly."
        assert not reply.streaming and reply.turn.status == "complete"
        assert reply.turn.candidate is not None
        assert reply.turn.candidate.safety_action == "replaced"
        assert any("Reply replaced" in n.message for n in app._notifications)
        status = str(app.chat.query_one("#status").render())
        assert "TTFT 12 ms · 34.5 tok/s" in status
        assert "safety: full (scripted)" in status
        assert app.chat.leaf_id == reply.turn.message_id


async def test_a_reply_that_stored_nothing_gives_the_text_back(tui_config: Config, store: Store):
    engine = ScriptedEngine(store, fail="the server is unreachable")
    app = _app(tui_config, store, engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        assert not [b for b in app.chat.query(MessageBubble) if not b.greeting]
        assert app.chat.chat_input.text == "hello"
        assert any(n.title == "No reply" for n in app._notifications)
