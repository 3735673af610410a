"""`kill -9` of a real retrain process at each of its steps: training, the gate, promotion and
the merged-checkpoint switch. Each must leave the live adapter serving and the registry
consistent, and `--resume` must continue to a finished run.

The retrain runs in a process of its own (retrain_child.py) on the tiny model; the kill lands
where the child says it has stopped (``STALL point``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from picks_data import record_question_picks

from align.adapters import is_adapter_dir
from feedback.db import make_engine, migrate
from feedback.repo import Store

CHILD = Path(__file__).with_name("retrain_child.py")
ROOT = Path(__file__).resolve().parents[2]


def open_data_store(data_dir: Path) -> Store:
    engine = make_engine(f"sqlite:///{data_dir / 'companion.db'}")
    migrate(engine)
    return Store(engine)


def child(data_dir: Path, base: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPANION_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(base), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> dict:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, out[-3000:]
    return json.loads(lines[-1])


def kill_at(proc: subprocess.Popen[str], point: str, timeout: float = 600) -> str:
    """Read the child's output until it stalls at `point`, then kill -9 it."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if line.strip() == f"STALL {point}":
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"the retrain never reached {point}:\n{''.join(seen)[-3000:]}")


def assert_consistent(data_dir: Path) -> Store:
    """Every registered version has its files, one is active, a merged path is a checkpoint."""
    store = open_data_store(data_dir)
    versions = store.list_adapter_versions()
    assert versions, "the live adapter is gone"
    for v in versions:
        assert is_adapter_dir(Path(v.path)), f"{v.version}: files missing at {v.path}"
        if v.merged_path:
            merged = Path(v.merged_path)
            assert (merged / "config.json").is_file(), f"{v.version}: merged at {merged} is partial"
            assert list(merged.glob("*.safetensors")), f"{v.version}: no weights in {merged}"
    active = store.active_adapter()
    assert active is not None and is_adapter_dir(Path(active.path))
    return store


@pytest.fixture(scope="module")
def seeded(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with feedback and a live adapter v001 from one finished retrain, plus the
    feedback of more conversations since."""
    data_dir = tmp_path_factory.mktemp("retrain-seed") / "data"
    data_dir.mkdir()
    store = open_data_store(data_dir)
    record_question_picks(store, 16, seed=0)
    store.close()
    report = finish(child(data_dir, tiny_model_dir))
    assert report["status"] == "promoted", report
    store = open_data_store(data_dir)
    record_question_picks(store, 12, seed=1)
    store.close()
    return data_dir


@pytest.mark.parametrize(
    "point", ["training", "gate", "install", "promote", "merge_written", "merge_switch"]
)
def test_kill_9_of_retrain_leaves_the_live_adapter_and_resume_finishes(
    point: str, seeded: Path, tiny_model_dir: Path, tmp_path: Path
):
    data_dir = tmp_path / "data"
    shutil.copytree(seeded, data_dir)
    before = open_data_store(data_dir)
    live = before.active_adapter()
    assert live is not None
    before.close()

    kill_at(child(data_dir, tiny_model_dir, "--stall", point), point)

    store = assert_consistent(data_dir)
    active = store.active_adapter()
    assert active is not None
    if point in ("training", "gate", "install"):
        # nothing was promoted: the live adapter still serves
        assert active.version == live.version
    else:
        assert active.version != live.version
    store.close()

    report = finish(child(data_dir, tiny_model_dir, "--resume"))
    assert report["status"] in ("promoted", "rejected"), report

    store = assert_consistent(data_dir)
    runs = store.list_training_runs()
    assert not [r for r in runs if r.status == "running"], [(r.id, r.status) for r in runs]
    if point == "training":
        # the killed run itself was continued, not a new one started
        assert store.last_training_run().id == max(r.id for r in runs)
        assert len(runs) == 2
    store.close()
