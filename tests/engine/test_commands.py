"""`companion persona …`, `companion safety …` and `companion ask` command functions."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from companion import paths
from companion.cli.ask import AskResult, ask, ask_once, render
from companion.cli.persona import persona_app
from companion.cli.safety import safety_app
from companion.config import Config
from feedback.repo import open_store

from .test_engine import ScriptedClient, make_engine, says

runner = CliRunner()


def test_persona_list_show_new_use(config: Config, tmp_path: Path) -> None:
    r = runner.invoke(persona_app, ["list"])
    assert r.exit_code == 0 and "* default" in r.output and "Juniper" in r.output
    r = runner.invoke(persona_app, ["show", "default"])
    assert r.exit_code == 0 and 'name = "Juniper"' in r.output

    r = runner.invoke(persona_app, ["new", "sam", "--no-edit"])
    assert r.exit_code == 0, r.output
    assert (config.paths.personas_dir / "sam.toml").is_file()
    r = runner.invoke(persona_app, ["new", "sam", "--no-edit"])
    assert r.exit_code == 1 and "exists already" in r.output

    card = tmp_path / "card.json"
    card.write_text(json.dumps({"spec": "chara_card_v2", "data": {"name": "Lighthouse Sam"}}))
    r = runner.invoke(persona_app, ["new", "lighthouse", "--from", str(card), "--no-edit"])
    assert r.exit_code == 0, r.output

    r = runner.invoke(persona_app, ["use", "lighthouse"])
    assert r.exit_code == 0, r.output
    settings = tomllib.loads(paths.config_file().read_text())
    assert settings["chat"]["persona"] == "lighthouse"
    r = runner.invoke(persona_app, ["list", "--json"])
    current = [row["key"] for row in json.loads(r.output) if row["current"]]
    assert current == ["lighthouse"]

    r = runner.invoke(persona_app, ["use", "nobody"])
    assert r.exit_code == 1 and "no persona called 'nobody'" in r.output


def test_persona_edit_copies_a_builtin_first(config: Config) -> None:
    r = runner.invoke(persona_app, ["edit", "default"])  # stdin is not a TTY: no editor
    assert r.exit_code == 0, r.output
    assert (config.paths.personas_dir / "default.toml").is_file()


def test_safety_status_says_fallback(config: Config) -> None:
    r = runner.invoke(safety_app, ["status", "--json"])
    assert r.exit_code == 3
    assert json.loads(r.output)["mode"] == "fallback"
    r = runner.invoke(safety_app, ["check", "You are a worthless idiot."])
    assert r.exit_code == 0 and json.loads(r.output)["reply"]["action"] == "block"


async def test_ask_once_records_and_renders(config: Config, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ask.db'}")
    client = ScriptedClient(says("Hello! Nice to meet you."))
    engine = make_engine(config, store, client)
    result = await ask_once(engine, store, "default", "hi", 1)
    assert result.text == "Hello! Nice to meet you." and result.error is None
    assert store.get_conversation(result.conversation_id) is not None
    out, err = io.StringIO(), io.StringIO()
    assert render(result, as_json=False, out=out, err=err) == 0
    assert out.getvalue() == "Hello! Nice to meet you.\n"
    out = io.StringIO()
    assert render(result, as_json=True, out=out, err=err) == 0
    payload = json.loads(out.getvalue())
    assert payload["candidates"][0]["shown"] and payload["text"] == result.text
    assert payload["safety_mode"].startswith("fallback")


def test_render_failure_and_alternatives() -> None:
    failed = AskResult(1, "default", error="The model server at x is not running.")
    out, err = io.StringIO(), io.StringIO()
    assert render(failed, as_json=False, out=out, err=err) == 1
    assert err.getvalue() == "companion: error: The model server at x is not running.\n"
    many = AskResult(1, "default", shown_candidate_id=2)
    many.candidates = [
        {"id": 1, "index": 0, "text": "a", "safety_action": "none", "shown": False},
        {"id": 2, "index": 1, "text": "b", "safety_action": "none", "shown": True},
    ]
    out = io.StringIO()
    render(many, as_json=False, out=out, err=err)
    assert out.getvalue() == "[1]  a\n\n[2]* b\n\n"


def test_ask_command_bad_persona_is_one_line(config: Config) -> None:
    app = typer.Typer()
    app.command()(ask)
    r = runner.invoke(app, ["hello", "--persona", "ghost"])
    assert r.exit_code == 1
    assert r.output.strip().startswith("companion: error: no persona called 'ghost'")


def test_safety_status_shows_a_degraded_layer(
    config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from companion.safety import semantic

    missing = (tmp_path / "none.safetensors", tmp_path / "none.json")
    monkeypatch.setattr(semantic, "_wordllama_files", lambda: missing)  # the weights are gone
    monkeypatch.setattr(semantic, "_shared", {})
    r = runner.invoke(safety_app, ["status"])
    assert r.exit_code == 3
    assert "DEGRADED semantic" in r.output and "unavailable" in r.output
    data = json.loads(runner.invoke(safety_app, ["status", "--json"]).output)
    assert data["degraded"] and data["layers"]["semantic"] == "unavailable"
