"""The storage soak (`bench/storage.py --soak`): one chat, the chat's background pair builder
and a retrain all writing to one database at once, for `--soak-minutes` (default 10) on a
SQLite file, then on PostgreSQL.

- The chat (a process): each turn stores the user message, the reply as `generating`, its
  text at three sentence boundaries, the reply `complete`, two candidates, a rating, and a pick
  every other turn; a new conversation every 20 turns. Paced at `--soak-pace-ms` between turns,
  far faster than a person types.
- The pair builder (a thread of the chat process, as in `companion chat`): the current
  conversation's pairs every second, all pairs every 20 s (`align.retrain.sync_pairs`).
- The retrain (a process): a training run, a full pair sync, an adapter registered, the run
  finished and the adapter promoted, every few seconds. Its writes are the real ones; the
  training itself is not run (its CPU load is not the point here).

Every write goes through `Store`, which retries a transient lock error itself; a lock retry is
counted from SQLAlchemy's `handle_error` event. A write is lost when its writer saw it commit
and the database does not hold it at the end; it failed when `Store` raised.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from bench.report import percentile
from feedback.db import make_engine, migrate
from feedback.models import AdapterVersion, Candidate, Choice, Message, Rating, TrainingRun
from feedback.repo import Store

T = TypeVar("T")
SENTENCES = ["That sounds like a lot. ", "What stayed with you most? ", "I'm here for it."]


class Tally:
    """Latencies, failures and what committed, for one writer (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: list[float] = []
        self.errors: list[str] = []
        self.committed: dict[str, list[Any]] = {}

    def write(
        self,
        kind: str,
        fn: Callable[..., T],
        *args: Any,
        keep: Callable[[T], Any] | None = None,
        **kwargs: Any,
    ) -> T:
        """`fn(*args, **kwargs)`, timed; `keep(result)` is recorded as committed."""
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except Exception as e:
            with self.lock:
                self.errors.append(f"{kind}: {str(e).splitlines()[0][:200]}")
            raise
        with self.lock:
            self.ms.append((time.perf_counter() - t0) * 1000)
            if keep is not None:
                self.committed.setdefault(kind, []).append(keep(out))
        return out


def _id(row: Any) -> Any:
    return row.id


def _candidate(rating: Any) -> Any:
    return rating.candidate_id


def count_lock_retries(engine: Engine, counter: list[int]) -> None:
    @event.listens_for(engine, "handle_error")
    def _seen(ctx: Any) -> None:
        text = str(ctx.original_exception).lower()
        if "locked" in text or "busy" in text or "could not serialize" in text:
            counter[0] += 1


def _store(url: str) -> tuple[Store, list[int]]:
    engine = make_engine(url)
    retries = [0]
    count_lock_retries(engine, retries)
    return Store(engine), retries


def chat_child(url: str, seconds: float, pace_s: float, out: Path) -> None:
    from align.retrain import sync_pairs
    from companion.config import RetrainConfig

    store, retries = _store(url)
    chat, builder = Tally(), Tally()
    rng = random.Random(0)
    stop = time.monotonic() + seconds
    current: list[int] = []

    def build() -> None:
        rc, last_full = RetrainConfig(), time.monotonic()
        while time.monotonic() < stop:
            time.sleep(1.0)
            if not current:
                continue
            full = time.monotonic() - last_full > 20
            scope = None if full else current[-1]
            builder.write("pairs", sync_pairs, store, rc, conversation_id=scope)
            if full:
                last_full = time.monotonic()

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    turn = 0
    parent: int | None = None
    add, cand = store.add_message, store.add_candidate
    while time.monotonic() < stop:
        try:
            if turn % 20 == 0:
                conv = chat.write("conversation", store.create_conversation, "default")
                assert conv.id is not None
                current.append(conv.id)
                parent = None
            conv_id = current[-1]
            user = chat.write("message", add, conv_id, "user", f"Turn {turn}.", parent, keep=_id)
            reply = chat.write(
                "message", add, conv_id, "assistant", "", user.id, "generating", keep=_id
            )
            assert reply.id is not None
            shown = ""
            for sentence in SENTENCES:  # the partial saves at sentence boundaries
                shown += sentence
                chat.write("partial", store.update_message, reply.id, text=shown)
            chat.write("complete", store.update_message, reply.id, status="complete")
            first = chat.write("candidate", cand, reply.id, shown, shown=True, keep=_id)
            second = chat.write("candidate", cand, reply.id, "Okay.", keep=_id)
            assert first.id is not None and second.id is not None
            chat.write("rating", store.rate, first.id, rng.choice([1, -1]), keep=_candidate)
            if turn % 2:
                chat.write("choice", store.choose, reply.id, second.id, keep=_id)
            parent = reply.id
        except Exception:  # noqa: BLE001 - counted in the tally; the chat goes on
            pass
        turn += 1
        time.sleep(pace_s)
    thread.join(timeout=60)
    _dump(out, {"chat": chat, "pair builder": builder}, retries[0], turns=turn)


def retrain_child(url: str, seconds: float, out: Path) -> None:
    from align.retrain import sync_pairs
    from companion.config import RetrainConfig

    store, retries = _store(url)
    tally = Tally()
    stop = time.monotonic() + seconds
    rc = RetrainConfig()
    rounds = 0
    while time.monotonic() < stop:
        try:
            run = tally.write("run", store.add_training_run, "dpo", keep=_id)
            assert run.id is not None
            tally.write("pairs", sync_pairs, store, rc)
            time.sleep(2.0)  # the training (not run here)
            version = store.next_adapter_version()
            path = f"/adapters/{version}"
            add = store.add_adapter_version
            tally.write("adapter", add, version, path, training_run_id=run.id, keep=_id)
            tally.write("run_done", store.update_training_run, run.id, status="done")
            tally.write("promote", store.set_active_adapter, version)
            rounds += 1
        except Exception:  # noqa: BLE001 - counted in the tally
            time.sleep(0.5)
    _dump(out, {"retrain": tally}, retries[0], rounds=rounds)


def _dump(out: Path, tallies: dict[str, Tally], retries: int, **extra: int) -> None:
    out.write_text(
        json.dumps(
            {
                "writers": {
                    name: {"ms": t.ms, "errors": t.errors, "committed": t.committed}
                    for name, t in tallies.items()
                },
                "lock_retries": retries,
                **extra,
            }
        ),
        encoding="utf-8",
    )


def missing(url: str, committed: dict[str, list[Any]]) -> int:
    """Writes their writer saw commit that the database does not hold."""
    engine = make_engine(url)
    checks: dict[str, Any] = {
        "message": Message.id,
        "candidate": Candidate.id,
        "choice": Choice.id,
        "rating": Rating.candidate_id,
        "run": TrainingRun.id,
        "adapter": AdapterVersion.id,
    }
    lost = 0
    with engine.connect() as conn:
        for kind, column in checks.items():
            wanted = set(committed.get(kind, []))
            if wanted:
                held = set(conn.execute(select(column)).scalars())
                lost += len(wanted - held)
    engine.dispose()
    return lost


def soak(url: str, seconds: float, pace_ms: float, tmp: Path) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    me = [sys.executable, str(Path(__file__).resolve().parent / "storage.py")]
    outs = {name: tmp / f"soak-{name}.json" for name in ("chat", "retrain")}
    procs = [
        subprocess.Popen(
            [
                *me,
                "--soak-child",
                name,
                "--soak-url",
                url,
                "--soak-seconds",
                str(seconds),
                "--soak-pace-ms",
                str(pace_ms),
                "--soak-out",
                str(path),
            ]  # fmt: skip
        )
        for name, path in outs.items()
    ]
    for p in procs:
        p.wait(timeout=seconds + 600)
    writers: dict[str, Any] = {}
    retries = 0
    committed: dict[str, list[Any]] = {}
    for path in outs.values():
        data = json.loads(path.read_text(encoding="utf-8"))
        retries += data["lock_retries"]
        for name, w in data["writers"].items():
            writers[name] = w
            for kind, keys in w["committed"].items():
                committed.setdefault(kind, []).extend(keys)
    all_ms = [ms for w in writers.values() for ms in w["ms"]]
    return {
        "seconds": seconds,
        "writes": len(all_ms),
        "per_s": len(all_ms) / seconds,
        "p50": percentile(all_ms, 50),
        "p99": percentile(all_ms, 99),
        "max": max(all_ms) if all_ms else float("nan"),
        "lock_retries": retries,
        "errors": sum(len(w["errors"]) for w in writers.values()),
        "first_errors": [e for w in writers.values() for e in w["errors"]][:3],
        "lost": missing(url, committed),
        "by_writer": {
            name: {
                "writes": len(w["ms"]),
                "p99": percentile(w["ms"], 99),
                "errors": len(w["errors"]),
            }
            for name, w in writers.items()
        },
    }


def run_child(args: argparse.Namespace) -> None:
    out = Path(args.soak_out)
    if args.soak_child == "chat":
        chat_child(args.soak_url, args.soak_seconds, args.soak_pace_ms / 1000, out)
    else:
        retrain_child(args.soak_url, args.soak_seconds, out)


def lines_for(results: dict[str, dict[str, Any]], minutes: float, pace_ms: float) -> list[str]:
    lines = [
        "## Storage soak (`bench/storage.py --soak`)",
        "",
        f"{minutes:g} minutes per backend of one chat (a turn every {pace_ms:g} ms: 9–10 "
        "writes, the partial saves included), its background pair builder (a thread: the "
        "conversation's pairs every second, all every 20 s) and a retrain process (run, full "
        "pair sync, adapter, promotion, every ~2 s) writing at once through `Store`.",
        "",
        "| backend | writes | writes/s | p50 | p99 | max | lock retries | failed | lost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in results.items():
        lines.append(
            f"| {kind} | {r['writes']:,} | {r['per_s']:.0f} | {r['p50']:.1f} ms | "
            f"{r['p99']:.1f} ms | {r['max']:.0f} ms | {r['lock_retries']} | {r['errors']} | "
            f"{r['lost']} |"
        )
    lines += ["", "| backend | writer | writes | p99 | failed |", "|---|---|---|---|---|"]
    for kind, r in results.items():
        for name, w in r["by_writer"].items():
            lines.append(
                f"| {kind} | {name} | {w['writes']:,} | {w['p99']:.1f} ms | {w['errors']} |"
            )
    failures = [e for r in results.values() for e in r["first_errors"]]
    if failures:
        lines += ["", "First failures: " + "; ".join(failures)]
    lost = sum(r["lost"] + r["errors"] for r in results.values())
    lines += [
        "",
        f"Target: zero lost or failed writes — {'met' if lost == 0 else 'NOT met'}.",
    ]
    return lines
