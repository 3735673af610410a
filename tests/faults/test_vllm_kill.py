"""kill -9 of the real vLLM server while a reply streams (Pilot, the real app, Store, Engine
and server): the text shown is kept, marked interrupted; Retry starts a server again and
Ctrl+R regenerates the reply in place. A server of the test's own, not the shared session
one, since it is killed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from test_resume import SIZE, header, settle, stored
from tui_data import make_engine

from companion.config import Config
from companion.server import ServerManager
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app
from tui.widgets.server_banner import ServerBanner

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]


async def test_kill_9_of_the_server_mid_reply_keeps_it_and_retry_regenerates_it(
    tmp_path: Path, embedded_model_dir: Path
):
    config = Config.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "server": {"kv_cache_gib": 1, "max_model_len": 2048, "startup_timeout_s": 300},
            "chat": {"max_tokens": 160, "break_reminder_minutes": 0, "temperature": 0.7},
        }
    )
    manager = ServerManager(config)
    store = open_store(config.database_url)
    engines: list[Any] = []

    def start_server(progress: Any) -> Any:
        manager.ensure_running(str(embedded_model_dir), None, progress=progress)
        state = manager.state()
        assert state is not None
        engine = make_engine(
            config, store, state.base_url, state.api_key, state.model, embedded_model_dir
        )
        engines.append(engine)
        return engine

    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(config, store=store, server=manager, start_server=start_server)
    try:
        async with app.run_test(size=SIZE) as pilot:
            deadline = time.monotonic() + 400
            while not app.chat.backend.ready and time.monotonic() < deadline:
                await pilot.pause(0.5)
            assert app.chat.backend.ready, "the server did not start"
            await pilot.press(*"Tell me a long story about a lighthouse keeper.", "enter")
            reply = None
            while time.monotonic() < deadline:
                await pilot.pause(0.05)
                bubbles = stored(app)
                if bubbles and bubbles[-1].turn.role == "assistant":
                    reply = bubbles[-1]
                    if reply.streaming and reply.markdown_source.count(".") >= 2:
                        break
            assert reply is not None and reply.streaming, "no sentence streamed in"
            state = manager.state()
            assert state is not None
            os.kill(state.pid, signal.SIGKILL)
            await settle(pilot)

            message_id = reply.turn.message_id
            assert message_id is not None
            kept = store.get_message(message_id)
            assert kept.status == "interrupted" and kept.text.strip()
            (cand,) = store.candidates(message_id)
            assert cand.text == kept.text
            assert stored(app)[-1].markdown_source.strip() == kept.text.strip()
            assert "interrupted" in header(stored(app)[-1])
            assert any(n.title == "No reply" for n in app._notifications)

            await pilot.press("ctrl+s")  # Retry: a server again
            banner = app.chat.query_one(ServerBanner)
            while not (banner.has_class("-hidden") and app.chat.backend.ready):
                assert time.monotonic() < deadline, "Retry did not bring a server up"
                await pilot.pause(0.5)
            await settle(pilot)
            await pilot.press("ctrl+r")
            await settle(pilot)
            again = store.get_message(message_id)
            assert again.status == "complete"
            assert [m.id for m in store.children(kept.parent_id)] == [message_id]  # in place
            assert len(store.candidates(message_id)) == 2
            assert "interrupted" not in header(stored(app)[-1])
    finally:
        manager.stop()
        for engine in engines:
            await engine.client.aclose()
