"""Real processes against one database: SIGKILL mid-write, and two writers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedback.db import integrity_check, make_engine, migrate
from feedback.models import Candidate, Message, PreferencePair, Rating, TrainingRun
from feedback.repo import Store

WORKER = str(Path(__file__).with_name("_worker.py"))


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("acks_before_kill", [5, 40])
def test_sigkill_mid_stream_loses_no_acknowledged_write(
    shared_db_url: str, acks_before_kill: int
) -> None:
    engine = make_engine(shared_db_url)
    migrate(engine)
    proc = _spawn(shared_db_url, "ratings")
    acked: list[int] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while len(acked) < acks_before_kill and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(int(line.split()[1]))
        assert len(acked) == acks_before_kill, proc.stderr.read() if proc.stderr else ""
        # The writer keeps writing while we act on what we read: the kill lands mid-stream.
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        acked += [int(line.split()[1]) for line in rest.splitlines() if line.startswith("ack")]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    engine.dispose()  # read back through fresh connections
    assert integrity_check(engine) == "ok"
    store = Store(engine)
    for cand_id in acked:
        cand = store.get_candidate(cand_id)
        assert cand is not None, f"acknowledged candidate {cand_id} lost"
        rating = store.rating_of(cand_id)
        assert rating is not None and rating.comment == "x" * 200
    # Nothing half-written: every stored rating has its candidate and its audit event.
    with engine.connect() as conn:
        n_ratings = conn.execute(select(func.count()).select_from(Rating)).scalar_one()
        assert n_ratings >= len(acked)
        orphans = conn.execute(
            select(func.count())
            .select_from(Rating)
            .outerjoin(Candidate, Candidate.id == Rating.candidate_id)  # type: ignore[arg-type]
            .where(Candidate.id.is_(None))  # type: ignore[union-attr]
        ).scalar_one()
        assert orphans == 0
    # The database is fully usable afterwards.
    conv = store.create_conversation("default")
    assert conv.id is not None
    engine.dispose()


def test_chat_and_retrain_processes_write_at_once(shared_db_url: str) -> None:
    engine = make_engine(shared_db_url)
    migrate(engine)
    turns = 40
    procs = [
        _spawn(shared_db_url, "chat", str(turns), "a"),
        _spawn(shared_db_url, "chat", str(turns), "b"),
        _spawn(shared_db_url, "retrain", "15", "r"),
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert "locked" not in err.lower(), err
        assert p.returncode == 0 and out.strip().endswith("done"), err[-2000:]

    store = Store(engine)
    with engine.connect() as conn:
        count = lambda model: conn.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
        assert count(Message) == 2 * turns * 2
        assert count(Candidate) == 2 * turns * 2
        assert count(Rating) == 2 * turns
        assert count(TrainingRun) == 15
        n_pairs = count(PreferencePair)
    assert {r.status for r in store.list_training_runs()} == {"succeeded"}
    assert 0 < n_pairs <= 2 * turns
    statuses = {m.status for c in store.list_conversations() for m in store.messages(c.id or 0)}
    assert statuses == {"complete"}
    assert integrity_check(engine) == "ok"
    engine.dispose()
