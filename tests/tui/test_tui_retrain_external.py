"""F9 (retrain from the app) through the real composition root with `server.url` set.

It used to reach a CLI helper that wrote to stderr under Textual's screen and raised
`typer.Exit`, so the notification read "Retrain did not finish: 1"."""

from __future__ import annotations

import socket
from pathlib import Path

from companion.cli.wiring import retrain_job
from companion.config import Config
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app

SIZE = (100, 30)


def _nothing_listens() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


async def _run_f9(config: Config) -> tuple[str, str, list[str]]:
    store = open_store(config.database_url)
    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(config, store=store, retrain=retrain_job(config, store))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f9")
        for _ in range(200):
            await pilot.pause(0.05)
            if not app._retrain_running and app._notifications:
                break
        note = list(app._notifications)[-1]
        return note.title, note.message, list(app._retrain_lines)


async def test_f9_with_external_server_and_no_local_base_says_what_to_do(tmp_path: Path):
    config = Config(data_dir=tmp_path / "data", server={"url": _nothing_listens()})
    title, message, lines = await _run_f9(config)
    assert title == "Retrain did not finish"
    assert "\n" not in message
    assert "set model.base" in message and config.server.url in message
    assert lines[-1] == message


async def test_f9_with_external_server_and_a_local_base_reports_the_outcome(
    tmp_path: Path, tiny_model_dir: Path
):
    config = Config(
        data_dir=tmp_path / "data",
        server={"url": _nothing_listens()},
        model={"base": str(tiny_model_dir)},
    )
    title, message, _ = await _run_f9(config)
    # No feedback yet: the round is skipped, and the line says why (never an exit code).
    assert "\n" not in message
    assert not message.strip().isdigit()
    assert "pair" in message, message
