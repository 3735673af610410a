"""PostgreSQL restarts under a running chat (a crash, `-m immediate`, and an orderly
restart, `-m fast`): every connection the chat holds is cut. The next write reconnects, and
a write made while the server is down is refused in one line with the text kept. The server
is a real cluster started by scripts/postgres.sh, the script CI uses, in a dir of its own so
the restart disturbs no other test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_setup import chat_app, fault_config
from terminal import ROOT
from test_resume import SIZE, header, settle, stored

from feedback.repo import open_store

SCRIPT = str(ROOT / "scripts" / "postgres.sh")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg(cmd: str, root: Path, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", SCRIPT, cmd, str(root), str(port)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Path, int, str]]:
    # Not under pytest's tmp dir: the server runs as the postgres user, who cannot enter it.
    root = Path(tempfile.mkdtemp(prefix="companion-pg-restart-"))
    port = _free_port()
    started = pg("start", root, port)
    if started.returncode != 0:
        pytest.skip(f"PostgreSQL could not be started: {started.stderr.strip()[-300:]}")
    url = started.stdout.strip().split("=", 1)[1]
    yield root, port, url
    pg("stop", root, port)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("mode", ["immediate", "fast"])
async def test_the_next_write_after_a_postgres_restart_reconnects(
    cluster: tuple[Path, int, str], tmp_path: Path, sse, mode: str
):
    root, port, url = cluster
    config = fault_config(tmp_path / "data", sse.url)
    config = config.model_copy(update={"database": config.database.model_copy(update={"url": url})})
    store = open_store(url)
    app, engine = chat_app(config, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*f"before the {mode} restart", "enter")
        await settle(pilot)
        conv = app.chat.conversation
        assert conv is not None

        restarted = pg("restart", root, port, COMPANION_PG_STOP_MODE=mode)
        assert restarted.returncode == 0, restarted.stderr
        await pilot.press("ctrl+up", "plus")  # a rating: the first write on cut connections
        await settle(pilot)
        assert "👍" in header(stored(app)[-1])
        await pilot.press("ctrl+down", *"after it", "enter")
        await settle(pilot)
        assert not [n for n in app._notifications if n.severity == "error"]

        down = pg("stop", root, port)
        assert down.returncode == 0, down.stderr
        await pilot.press(*"while it is down", "enter")
        await settle(pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and "\n" not in errors[0]
        assert "database server cannot be reached" in errors[0]
        assert app.chat.chat_input.text == "while it is down"
        assert app.is_running

        assert pg("start", root, port).returncode == 0
        await pilot.press("enter")
        await settle(pilot)

        texts = [(m.role, m.status, m.text) for m in store.messages(conv.id)]
        users = [t for r, _s, t in texts if r == "user"]
        assert users == [f"before the {mode} restart", "after it", "while it is down"]
        assert all(s == "complete" for _r, s, _t in texts)
        first_reply = next(m for m in store.messages(conv.id) if m.role == "assistant")
        assert first_reply.shown_candidate_id is not None
        rating = store.rating_of(first_reply.shown_candidate_id)
        assert rating is not None and rating.value == 1
    await engine.client.aclose()
    store.close()
