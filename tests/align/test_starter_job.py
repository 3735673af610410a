"""The persona adapter trains in the background while the first chat runs: when it is due,
what the user is told at the start and at the end, and that retrain.auto waits for it.

The "training" is a real child process that writes to the same database, as
`companion model setup --nice` does; only its work is shortened."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from align.autoloop import LearningLoop, Notice
from align.bootstrap import STARTER_KIND
from align.starter_job import WithPersonaTraining, persona_training_due
from companion.config import Config
from feedback.repo import Store, open_store

REGISTER = """
import sys
from feedback.repo import open_store
store = open_store(sys.argv[1])
store.add_adapter_version("v001", sys.argv[2], kind=sys.argv[3])
if sys.argv[4] == "activate":
    store.set_active_adapter("v001")
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data")


@pytest.fixture
def store(cfg: Config) -> Store:
    cfg.paths.ensure()
    return open_store(cfg.database_url)


def child(cfg: Config, *, activate: bool = True, fail: bool = False):
    def launch() -> subprocess.Popen[bytes]:
        if fail:
            return subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                REGISTER,
                cfg.database_url,
                str(cfg.paths.adapters_dir / "v001"),
                STARTER_KIND,
                "activate" if activate else "keep",
            ]
        )

    return launch


def until_done(job: WithPersonaTraining) -> list[Notice]:
    notices = []
    deadline = time.monotonic() + 60
    while job.retraining and time.monotonic() < deadline:
        if (n := job.poll()) is not None:
            notices.append(n)
        time.sleep(0.05)
    assert not job.retraining
    return notices


def test_due_only_for_the_embedded_model_never_trained(cfg: Config, store: Store) -> None:
    assert persona_training_due(cfg, store)
    assert not persona_training_due(
        cfg.model_copy(update={"model": cfg.model.model_copy(update={"base": "/x"})}), store
    )
    off = cfg.model_copy(update={"model": cfg.model.model_copy(update={"persona_adapter": False})})
    assert not persona_training_due(off, store)
    ext = cfg.model_copy(update={"server": cfg.server.model_copy(update={"url": "http://h/v1"})})
    assert not persona_training_due(ext, store)
    store.add_adapter_version("v001", cfg.paths.adapters_dir / "v001", kind=STARTER_KIND)
    assert not persona_training_due(cfg, store)  # trained once, even if not active now


def test_start_then_live(cfg: Config, store: Store) -> None:
    job = WithPersonaTraining(
        LearningLoop(cfg, store),
        cfg,
        store,
        launch=child(cfg),
        served_adapter=lambda: "companion-v001",
    )
    assert job.start()
    assert not job.start()  # one at a time
    assert job.retraining
    notices = until_done(job)
    assert [n.severity for n in notices] == ["information", "information"]
    assert "background" in notices[0].text and "base model" in notices[0].text
    assert notices[1].text == "Your companion's persona is live (v001)."


def test_trained_but_not_served_says_when_it_goes_live(cfg: Config, store: Store) -> None:
    job = WithPersonaTraining(
        LearningLoop(cfg, store), cfg, store, launch=child(cfg), served_adapter=lambda: None
    )
    job.start()
    last = until_done(job)[-1]
    assert last.severity == "warning" and "goes live when the server restarts" in last.text


def test_failed_training_keeps_the_base_model_with_one_line(cfg: Config, store: Store) -> None:
    job = WithPersonaTraining(LearningLoop(cfg, store), cfg, store, launch=child(cfg, fail=True))
    job.start()
    last = until_done(job)[-1]
    assert last.severity == "warning"
    assert (
        "\n" not in last.text and "base model" in last.text and "companion model setup" in last.text
    )
    assert store.active_adapter() is None


def test_retrain_auto_waits_while_the_persona_trains(cfg: Config, store: Store) -> None:
    auto = cfg.model_copy(
        update={"retrain": cfg.retrain.model_copy(update={"auto": True, "auto_after_pairs": 0})}
    )
    launched: list[str] = []

    def retrain_launch():
        launched.append("retrain")
        return subprocess.Popen([sys.executable, "-c", "pass"])

    inner = LearningLoop(auto, store, launch=retrain_launch)
    job = WithPersonaTraining(inner, auto, store, launch=child(auto), served_adapter=lambda: None)
    job.start()
    assert job.maybe_retrain() is None and launched == []
    until_done(job)
    assert job.maybe_retrain() is not None and launched == ["retrain"]
