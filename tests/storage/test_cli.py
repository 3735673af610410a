"""The storage CLI commands, mounted the way companion's main app mounts them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from companion.cli.data import db_app, export_cmd, forget_cmd, import_cmd
from feedback.db import head_revision, make_engine
from feedback.repo import Store, open_store

app = typer.Typer()
app.add_typer(db_app, name="db")
app.command("export")(export_cmd)
app.command("import")(import_cmd)
app.command("forget")(forget_cmd)

runner = CliRunner()


@pytest.fixture
def url(shared_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COMPANION_DATABASE__URL", shared_db_url)
    return shared_db_url


def _seed(url: str) -> int:
    store = open_store(url)
    conv = store.create_conversation("default", "Seeded chat")
    assert conv.id is not None
    u = store.add_message(conv.id, "user", "hello")
    a = store.add_message(conv.id, "assistant", "", parent_id=u.id)
    c = store.add_candidate(a.id, "hi there", shown=True)  # type: ignore[arg-type]
    store.rate(c.id, 1)  # type: ignore[arg-type]
    store.engine.dispose()
    return conv.id


def test_db_current_upgrade_and_backup(url: str, tmp_path: Path) -> None:
    res = runner.invoke(app, ["db", "current"])
    assert res.exit_code == 0 and "empty database" in res.output
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0 and f"-> {head_revision()}" in res.output
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0 and "already at" in res.output
    res = runner.invoke(app, ["db", "current"])
    assert res.exit_code == 0 and f"{head_revision()} (head)" in res.output
    assert "password" not in res.output

    if url.startswith("postgresql"):
        return  # pg_dump backups are covered in test_db.py
    res = runner.invoke(app, ["db", "backup", "--to", str(tmp_path / "bk")])
    assert res.exit_code == 0, res.output
    made = Path(res.output.strip())
    assert made.parent == tmp_path / "bk" and made.exists()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600


def test_export_import_forget(url: str, tmp_path: Path) -> None:
    conv_id = _seed(url)
    out = tmp_path / "export.jsonl"
    res = runner.invoke(app, ["export", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text().splitlines()
    assert {json.loads(ln)["type"] for ln in lines} >= {"conversation", "message", "rating"}

    res = runner.invoke(app, ["export", "-c", str(conv_id), "--format", "markdown"])
    assert res.exit_code == 0 and "# Seeded chat" in res.stdout

    res = runner.invoke(app, ["forget", "--conversation", str(conv_id)])
    assert res.exit_code == 0, res.output
    assert "1 conversations" in res.output and "1 ratings" in res.output

    res = runner.invoke(app, ["import", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 conversation(s)" in res.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text() + "{oops\n")
    res = runner.invoke(app, ["import", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:{len(lines) + 1}: skipped: not valid JSON" in res.output
    assert "already present" in res.output

    res = runner.invoke(app, ["forget", "--all"], input="n\n")
    assert res.exit_code == 1 and "--yes" in res.output  # not a terminal: refuses, keeps data
    from companion.config import load

    index = load().config.paths.memory_index
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_bytes(b"vectors of what was said")
    index.with_name(index.name + ".json").write_text("{}")
    res = runner.invoke(app, ["forget", "--all", "--yes"])
    assert res.exit_code == 0 and "forgot: 1 conversations" in res.output
    assert not index.exists() and not index.with_name(index.name + ".json").exists()
    engine = make_engine(url)
    assert Store(engine).stats()["conversations"] == 0
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["forget"], "give --conversation ID or --all"),
        (["forget", "-c", "1", "--all", "--yes"], "give --conversation ID or --all"),
        (["forget", "-c", "424242"], "conversation 424242 not found"),
        (["export", "-c", "424242"], "conversation 424242 not found"),
        (["import", "/nonexistent/file.jsonl"], "No such file"),
    ],
)
def test_errors_are_one_line(url: str, args: list[str], message: str) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATABASE__URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    res = runner.invoke(app, ["db", "current"])
    assert res.exit_code == 1 and res.output.startswith("companion: error: database:")
    assert len(res.output.strip().splitlines()) == 1
    monkeypatch.setenv("COMPANION_DATABASE__URL", "mysql://u:secret@h/db")
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 1 and "unsupported database URL" in res.output
    assert "secret" not in res.output
