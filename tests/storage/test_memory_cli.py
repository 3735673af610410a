"""`companion memory ...`, mounted the way companion's main app mounts it, on a real database."""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from companion.cli.data import forget_cmd
from companion.cli.memory import memory_app
from feedback.models import MEMORY_KINDS
from feedback.repo import Store, open_store

app = typer.Typer()
app.add_typer(memory_app, name="memory")
app.command("forget")(forget_cmd)

runner = CliRunner()


@pytest.fixture
def url(shared_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COMPANION_DATABASE__URL", shared_db_url)
    return shared_db_url


def _ok(*args: str) -> str:
    res = runner.invoke(app, ["memory", *args])
    assert res.exit_code == 0, res.output
    return res.output


def _id(output: str) -> int:
    found = re.search(r"#(\d+)", output)
    assert found, output
    return int(found.group(1))


def _store(url: str) -> Store:
    return open_store(url)


def test_add_list_edit_forget(url: str) -> None:
    assert _ok("add", "My sister is called Ana.", "--kind", "person") == (
        f"remembered #{1} (person, shared): My sister is called Ana.\n"
    )
    out = _ok("add", "I like sea shanties", "-k", "like", "--persona", "default")
    assert "(like, default): I like sea shanties" in out
    shanties = _id(out)
    assert _ok("add", "  my sister is   called ana ").startswith("already remembered #1 ")

    lines = _ok("list").splitlines()
    assert [line.split(None, 3) for line in lines] == [
        [str(shanties), "like", "default", "I like sea shanties"],
        ["1", "person", "shared", "My sister is called Ana."],
    ]
    rows = json.loads(_ok("list", "--json", "--persona", "default"))
    assert [(r["text"], r["kind"], r["persona"], r["status"], r["source"]) for r in rows] == [
        ("I like sea shanties", "like", "default", "active", "user"),
        ("My sister is called Ana.", "person", None, "active", "user"),
    ]
    assert json.loads(_ok("list", "--json", "--persona", "poet")) == [rows[1]]

    assert "changed #1 (person, shared): My sister Ana." in _ok("edit", "1", "My sister Ana.")
    assert "(note, default): Shanties" in _ok(
        "edit", str(shanties), "Shanties", "-k", "note", "-p", "default"
    )
    assert "(note, shared)" in _ok("edit", str(shanties), "Shanties", "--shared")
    assert _ok("forget", "1") == "forgot #1 (person, shared): My sister Ana.\n"
    assert [r["text"] for r in json.loads(_ok("list", "--json"))] == ["Shanties"]


def test_add_trims_with_a_notice_and_strips_controls(url: str) -> None:
    res = runner.invoke(app, ["memory", "add", "\x1b[31m" + "word " * 30_000])
    assert res.exit_code == 0, res.output
    assert "note: 1 control character(s) removed from the memory" in res.output
    assert "note: memory trimmed to 500 characters (it was 150003)" in res.output
    store = _store(url)
    (m,) = store.list_memories()
    assert m.text.startswith("[31mword word") and len(m.text) <= 500
    store.close()


def test_suggestions_accept_and_reject(url: str) -> None:
    store = _store(url)
    a = store.add_memory("I have a dog", "pet", status="suggested", source="suggested")
    b = store.add_memory("I like jazz", "like", status="suggested", source="suggested")
    store.close()
    assert _ok("list") == "no memories; add one: companion memory add TEXT\n"
    assert len(_ok("list", "--suggested").splitlines()) == 2
    assert _ok("accept", str(a.id)) == f"remembered #{a.id} (pet, shared): I have a dog\n"
    assert _ok("reject", str(b.id)) == f"dropped suggestion #{b.id}: I like jazz\n"
    assert _ok("list", "--suggested") == "no suggestions\n"
    assert [r["text"] for r in json.loads(_ok("list", "--json"))] == ["I have a dog"]


def test_forget_all_removes_every_memory(url: str) -> None:
    _ok("add", "By hand")
    _ok("add", "For one persona", "--persona", "default")
    res = runner.invoke(app, ["forget", "--all", "--yes"])
    assert res.exit_code == 0 and "2 memories" in res.output
    assert _ok("list").startswith("no memories")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", ""], "a memory needs some text"),
        (["add", "\x00\x07"], "a memory needs some text"),
        (["add", "x", "--kind", "gossip"], "unknown memory kind 'gossip': use one of name"),
        (["add", "x", "--persona", "nobody"], "no persona called 'nobody'"),
        (["add", "x", "--persona", "default", "--shared"], "not both"),
        (["edit", "424242", "text"], "memory 424242 not found"),
        (["edit", "1", " "], "a memory needs some text"),
        (["forget", "424242"], "memory 424242 not found"),
        (["accept", "424242"], "memory 424242 not found"),
        (["reject", "424242"], "memory 424242 not found"),
        (["reject", "1"], "memory 1 is not a suggestion; forget it instead"),
    ],
)
def test_errors_are_one_line(url: str, args: list[str], message: str) -> None:
    _ok("add", "kept")
    res = runner.invoke(app, ["memory", *args])
    assert res.exit_code == 1, res.output
    assert res.output.startswith("companion: error: ") and message in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert [r["text"] for r in json.loads(_ok("list", "--json"))] == ["kept"]  # nothing lost


def test_help_lists_every_kind() -> None:
    res = runner.invoke(app, ["memory", "add", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for kind in MEMORY_KINDS:
        assert re.search(rf"\b{kind}\b", res.output), kind
