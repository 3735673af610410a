"""Server state in the UI without a model: the real ServerManager and Engine pointed at a
port where nothing listens, a start that fails then succeeds, and the retrain panel."""

from __future__ import annotations

import socket
import threading
from typing import Any

from tui_data import make_engine

from companion.config import Config
from companion.server import ServerManager
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app
from tui.screens.retrain import RetrainScreen
from tui.widgets.message_bubble import MessageBubble
from tui.widgets.server_banner import ServerBanner

SIZE = (100, 30)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def external_config(tmp_path, url: str) -> Config:
    return Config.model_validate(
        {"data_dir": str(tmp_path / "data"), "server": {"url": url, "api_key": "x"}}
    )


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_server_down_shows_banner_and_keeps_the_conversation(tmp_path):
    url = dead_url()
    cfg = external_config(tmp_path, url)
    store = open_store(cfg.database_url)
    engine = make_engine(cfg, store, url, "x", "companion")
    ui_state.save(cfg.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(cfg, engine=engine, store=store, server=ServerManager(cfg))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        banner = app.chat.query_one(ServerBanner)
        assert not banner.has_class("-hidden")
        assert "unreachable" in str(app.chat.query_one("#status").render())
        await pilot.press(*"hello?", "enter")
        await settle(pilot)
        # The message is kept (the reply is marked interrupted), and the app is still up.
        conv = app.chat.conversation
        assert conv is not None
        msgs = store.messages(conv.id)
        assert [(m.role, m.status) for m in msgs] == [
            ("user", "complete"),
            ("assistant", "interrupted"),
        ]
        assert any(n.title == "No reply" for n in app._notifications)
        assert [b.turn.role for b in app.chat.query(MessageBubble)][-2:] == ["user", "assistant"]
    await engine.client.aclose()


async def test_start_progress_failure_banner_and_retry(tui_config, store):
    calls: list[int] = []
    gate = threading.Event()

    def start(progress: Any) -> None:
        calls.append(1)
        progress("loading weights", 5.0)
        gate.wait(5)
        if len(calls) == 1:
            raise RuntimeError("the vLLM server exited while starting")

    ui_state.save(tui_config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(tui_config, engine=None, store=store, start_server=start)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert app.chat.status.server == "starting"
        assert "starting 20%" in str(app.chat.query_one("#status").render())
        await pilot.press(*"hi", "enter")  # no engine yet: the text stays in the box
        await pilot.pause()
        assert app.chat.chat_input.text == "hi"
        gate.set()
        await settle(pilot)
        assert app.chat.status.server == "down"
        banner = app.chat.query_one(ServerBanner)
        assert not banner.has_class("-hidden") and "exited" in banner.reason
        await pilot.click("#banner-retry")
        await settle(pilot)
        assert len(calls) == 2
        assert app.chat.status.server == "ready"
        assert banner.has_class("-hidden")


async def test_retrain_panel_progress_and_notification(tui_config, store):
    gate = threading.Event()

    def retrain(progress: Any) -> str:
        progress("building pairs: 12", 0.1)
        gate.wait(5)
        progress("training step 4/4", 0.9)
        return "adapter v2 is live"

    ui_state.save(tui_config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(tui_config, store=store, start_server=None, retrain=retrain)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f9")
        await pilot.pause(0.3)
        assert isinstance(app.screen, RetrainScreen)
        await pilot.press("escape")  # hiding the panel does not stop training
        await pilot.pause()
        assert app.screen is app.chat
        gate.set()
        await settle(pilot)
        titles = [n.title for n in app._notifications]
        assert "New adapter is live" in titles
        assert app._retrain_lines == [
            "building pairs: 12",
            "training step 4/4",
            "adapter v2 is live",
        ]
