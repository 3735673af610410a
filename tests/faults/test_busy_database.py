"""Another process holds the database's write lock for longer than the busy timeout: the
chat says so, keeps the rating, retries, and shows it only once it is stored (Pilot, the
real Store on a SQLite file, the lock held by a real second process)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import pytest
from test_resume import SIZE, header, settle, stored

from companion.config import Config
from feedback import db
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app

HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


async def test_a_rating_waits_out_a_locked_database_and_is_not_dropped(
    fconfig: Config, monkeypatch: pytest.MonkeyPatch
):
    # The busy timeout is 30 s in use; a short one keeps the test short (same code path).
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    store = open_store(fconfig.database_url)
    conv = store.create_conversation("default", "Locked")
    user = store.add_message(conv.id, "user", "Hello")
    reply = store.add_message(conv.id, "assistant", "", user.id)
    cand = store.add_candidate(reply.id, "Hi there.", shown=True)
    ui_state.save(
        fconfig.paths.state_file, ui_state.UiState(accepted=True, last_conversation=conv.id)
    )
    app = make_app(fconfig, store=store, start_server=None)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(fconfig.paths.db_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert holder.stdout is not None
            assert await asyncio.to_thread(holder.stdout.readline) == "locked\n"
            await pilot.press("ctrl+up", "plus")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not _said(app, "database is busy"):
                await pilot.pause(0.1)
            assert _said(app, "Your rating is kept")
            bubble = stored(app)[-1]
            assert "👍" not in header(bubble)  # not shown before it is stored
            assert store.rating_of(cand.id) is None

            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            await asyncio.to_thread(holder.wait, 10)
            await settle(pilot)
            rating = store.rating_of(cand.id)
            assert rating is not None and rating.value == 1
            assert [e.value for e in store.rating_history(cand.id)] == [1]  # once
            assert "👍" in header(stored(app)[-1])
            assert _said(app, "Your rating is saved")
    finally:
        holder.kill()
        holder.wait()


def _said(app: Any, text: str) -> bool:
    return any(text in n.message for n in app._notifications)
