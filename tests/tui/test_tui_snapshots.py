"""Snapshots of the main screens at 80×24 and 120×40 (deterministic seeded data, no clock).

Update after an intended change: pytest tests/tui/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_data import Seeded

from companion.config import Config
from feedback.repo import Store
from tui import state as ui_state
from tui.app import CompanionApp, make_app

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def tui_config(tmp_path, monkeypatch) -> Config:
    """A relative data dir, so the welcome text shows the same path on every run."""
    monkeypatch.chdir(tmp_path)
    return Config(data_dir=Path("data"))


def _app(
    config: Config, store: Store, seeded: Seeded | None, *, accepted: bool = True
) -> CompanionApp:
    ui_state.save(
        config.paths.state_file,
        ui_state.UiState(accepted=accepted, last_conversation=seeded.conv.id if seeded else None),
    )
    return make_app(config, store=store, start_server=None)


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    _no_blink(pilot)
    await pilot.pause()


def _no_blink(pilot: Any) -> None:
    """A blinking cursor would make the snapshot depend on the moment it is taken."""
    for widget in pilot.app.screen.query("TextArea, Input"):
        widget.cursor_blink = False


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_chat_screen(snap_compare, tui_config, store, seeded, size):
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        b = next(b for b in pilot.app.chat.bubbles() if b.turn.message_id == seeded.a2.id)
        await b.run_action("rate_up")
        await _settle(pilot)
        pilot.app.chat.chat_input.focus()
        _no_blink(pilot)
        await pilot.pause()

    assert snap_compare(_app(tui_config, store, seeded), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reply_focused_with_alternatives_and_badge(snap_compare, tui_config, store, seeded, size):
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        b = next(b for b in pilot.app.chat.bubbles() if b.turn.message_id == seeded.a1.id)
        b.focus()
        await pilot.press("left")  # 3/3: the softened alternative
        await _settle(pilot)

    assert snap_compare(_app(tui_config, store, seeded), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_welcome(snap_compare, tui_config, store, size):
    async def run_before(pilot: Any) -> None:
        await pilot.pause()  # not _settle: the start-up worker waits on this very modal
        _no_blink(pilot)

    assert snap_compare(
        _app(tui_config, store, None, accepted=False), terminal_size=size, run_before=run_before
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, tui_config, store, size):
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(_app(tui_config, store, None), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_safety_details(snap_compare, tui_config, store, seeded, size):
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        b = next(b for b in pilot.app.chat.bubbles() if b.turn.message_id == seeded.a1.id)
        b.focus()
        await pilot.press("left", "s")
        await _settle(pilot)

    assert snap_compare(_app(tui_config, store, seeded), terminal_size=size, run_before=run_before)


def test_reason_modal(snap_compare, tui_config, store, seeded):
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("ctrl+up", "w")
        await pilot.pause()
        _no_blink(pilot)

    assert snap_compare(
        _app(tui_config, store, seeded), terminal_size=(80, 24), run_before=run_before
    )
