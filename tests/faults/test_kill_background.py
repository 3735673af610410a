"""`kill -9` of a real `companion chat` (tmux) while its background thread builds preference
pairs, and of a real `companion persona new` while it saves a persona. Feedback is the
source of truth and pairs are derived from it, so a kill may cut a build short but must
leave no duplicate, stale or half-written pair, and the next build must end where an
uninterrupted one would. A persona on disk is always whole: the old one or the new one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from kill_setup import Home, focus_reply, restart
from terminal import CHAT, Terminal

from align.retrain import persona_system_prompt, sync_pairs
from companion import persona as persona_mod
from feedback.repo import open_store
from tui import state as ui_state

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
]

COMPANION = CHAT[0]
TURNS = 3000  # six of add_pairs' 500-row batches: a kill lands between two commits


def seed_long_conversation(home: Home) -> int:
    """One conversation of TURNS picked turns (each gives one pair), each the root of a branch
    of its own (a deep one would make the build slow for another reason); the last is shown."""
    s = home.store
    conv = s.create_conversation("default", "A long talk")
    for i in range(TURNS):
        user = s.add_message(conv.id, "user", f"Message number {i} about my day.")
        reply = s.add_message(conv.id, "assistant", "", user.id)
        good = s.add_candidate(reply.id, f"Reply {i}: tell me more?", shown=True)
        s.add_candidate(reply.id, f"Reply {i}: okay.")
        s.choose(reply.id, good.id)
    ui_state.save(
        home.config.paths.state_file, ui_state.UiState(accepted=True, last_conversation=conv.id)
    )
    return conv.id


def cli(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **home.env}
    return subprocess.run([COMPANION, *args], env=env, capture_output=True, text=True, timeout=120)


def feedback(home: Home, conv_id: int) -> list[tuple[bool, int | None]]:
    """(chosen, rating) of every stored candidate of the conversation."""
    return [
        (c.chosen, c.rating)
        for t in home.store.iter_turns(conversation_id=conv_id)
        for c in t.candidates
    ]


def clean_build(home: Home, tmp_path: Path) -> set[str]:
    """The pairs an uninterrupted build makes from the same feedback (a copy of the db)."""
    source = home.config.database_url.removeprefix("sqlite:///")
    copy = tmp_path / "clean.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a file copy would miss what is still in the WAL
    store = open_store(f"sqlite:///{copy}")
    try:
        store.clear_pairs()
        sync_pairs(store, home.config.retrain, system_prompt=persona_system_prompt(home.config))
        return store.pair_hashes()
    finally:
        store.close()


def test_kill_9_during_the_background_pair_build(
    home: Home, term: Terminal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    term.env["COMPANION_RETRAIN__PAIRS_EVERY_EVENTS"] = "1"  # the next rating starts a build
    conv_id = seed_long_conversation(home)
    s = home.store
    feedback_before = feedback(home, conv_id)

    restart(term)
    term.wait_for(f"Reply {TURNS - 1}: tell me more")
    focus_reply(term)
    term.type("+")
    term.wait_for("👍")
    deadline = time.monotonic() + 60
    while s.count_pairs() == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    term.kill(signal.SIGKILL)
    cut_at = s.count_pairs()
    assert 0 < cut_at < TURNS, f"the kill did not land inside the build ({cut_at} pairs)"

    # Nothing the user gave is lost, and what was built is whole.
    after = feedback(home, conv_id)
    assert after[-2] == (True, 1) and after[:-2] == feedback_before[:-2]
    stored = s.pair_hashes()
    assert len(stored) == cut_at  # no duplicates
    expected = clean_build(home, tmp_path)
    assert stored <= expected  # no half-written or stale pair

    screen = restart(term)  # the user sees the conversation as left, the rating included
    assert f"Reply {TURNS - 1}: tell me more" in screen and "👍" in screen
    term.keys("C-q")
    assert term.wait_dead() == 0
    # Leaving the conversation rebuilt its pairs; a full build then adds nothing.
    assert s.pair_hashes() == expected
    built = cli(home, "pairs", "build")
    assert built.returncode == 0, built.stderr
    assert s.pair_hashes() == expected


def _card(path: Path, entries: int) -> None:
    """A SillyTavern v2 card (JSON) with a large lorebook: a save of two sizeable files."""
    book = [
        {"keys": [f"place{i}"], "content": f"Place {i} is a quiet harbour town. " * 20}
        for i in range(entries)
    ]
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Harbour Keeper",
            "description": "A calm keeper of a lighthouse.",
            "first_mes": "The lamp is lit. What brings you here?",
            "character_book": {"entries": book},
        },
    }
    path.write_text(json.dumps(card), encoding="utf-8")


def test_kill_9_while_a_persona_is_saved_leaves_it_whole_or_absent(home: Home, tmp_path: Path):
    card = tmp_path / "card.json"
    _card(card, entries=2000)
    env = {**os.environ, **home.env}
    argv = [COMPANION, "persona", "new", "keeper", "--from", str(card)]
    folder = home.config.paths.personas_dir
    # Timed warm (a cold first start is slower, and every kill would land after the end).
    times = []
    for _ in range(2):
        for p in folder.iterdir() if folder.exists() else ():
            p.unlink()
        started = time.monotonic()
        first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        times.append(time.monotonic() - started)
    whole = min(times)
    reference = {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(".tmp")}
    assert set(reference) == {"keeper.toml", "keeper.lorebook.json"}

    outcomes = set()
    for k in range(12):
        for p in folder.iterdir():
            p.unlink()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(whole * (0.5 + 0.05 * k))  # the writes come last: kill towards the end
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        names = {p.name for p in folder.iterdir() if not p.name.endswith(".tmp")}
        for name in names:
            assert (folder / name).read_bytes() == reference[name], f"{name} is half-written"
        if "keeper.toml" in names:
            loaded = persona_mod.load_file(folder / "keeper.toml")
            assert loaded.lorebook is not None and len(loaded.lorebook.entries) == 2000
        outcomes.add(tuple(sorted(names)))
        listed = cli(home, "persona", "list")
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
        redo = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        done = "keeper.toml" in names
        # Absent: it saves now. Whole: it says it exists, in one line.
        assert (redo.returncode != 0) == done, redo.stderr
        if done:
            assert "exists" in redo.stderr and "Traceback" not in redo.stderr
    assert len(outcomes) >= 2, f"every kill landed at the same point: {outcomes}"
