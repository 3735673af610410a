"""Broken files a crash or a careless edit can leave: config.toml, server.json, a persona
file. Each gives one line that names the file and the fix, never a traceback; the real
`companion` command, or the real app under Pilot where the failure is inside the chat."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from terminal import ROOT
from test_resume import SIZE, settle, stored
from tui_data import make_engine

from companion import config as config_mod
from companion.config import Config
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app

COMPANION = str(ROOT / ".venv" / "bin" / "companion")


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMPANION, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=timeout,
    )  # fmt: skip


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def config_file(companion_home: Path) -> Path:
    path = companion_home / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def test_a_truncated_config_file_says_which_file_and_what_to_do(config_file: Path):
    config_file.write_text('[chat]\npersona = "def', encoding="utf-8")
    out = run("chat")
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert line.startswith("companion: error: ") and str(config_file) in line
    assert "fix the file or delete it to get defaults" in line


def test_a_config_file_of_garbage_bytes_says_which_file_and_what_to_do(config_file: Path):
    config_file.write_bytes(b"\xff\xfe\x00[chat\x00")
    out = run("chat")
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert str(config_file) in line
    assert "fix the file or delete it" in line


def test_a_truncated_server_record_is_taken_for_no_server_and_removed(companion_home: Path):
    config = config_mod.load().config
    record = config.paths.server_state
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text('{"pid": 1, "port": 80', encoding="utf-8")
    out = run("serve", "status")
    assert out.returncode == 3 and out.stderr == ""
    assert out.stdout.strip() == "not running (start it: companion serve)"
    assert not record.exists()  # the next start writes a good one
    record.write_text(json.dumps({"pid": "x"}), encoding="utf-8")
    out = run("serve", "stop")
    assert out.returncode == 0 and out.stdout.strip().lower() == "no server was running"


async def test_a_broken_persona_file_says_which_file_and_what_to_do(fconfig: Config):
    persona = fconfig.paths.personas_dir / "default.toml"
    persona.parent.mkdir(parents=True, exist_ok=True)
    persona.write_text('name = "Juni\n[[', encoding="utf-8")
    store = open_store(fconfig.database_url)
    ui_state.save(fconfig.paths.state_file, ui_state.UiState(accepted=True))
    engine = make_engine(fconfig, store, str(fconfig.server.url), "x", "companion")
    app = make_app(fconfig, store=store, engine=engine, start_server=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        (said,) = [n.message for n in app._notifications if n.title == "No reply"]
        assert "\n" not in said and said.startswith(str(persona))
        assert said.endswith("fix the file, or press F3 to talk with another persona")
        # The message is kept; its reply is marked interrupted, to regenerate once fixed.
        conv = app.chat.conversation
        assert conv is not None
        assert [(m.role, m.status) for m in store.messages(conv.id)] == [
            ("user", "complete"),
            ("assistant", "interrupted"),
        ]
        assert [b.turn.role for b in stored(app)] == ["user", "assistant"]
        assert app.is_running
    await engine.client.aclose()
