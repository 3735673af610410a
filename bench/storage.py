"""Feedback storage: write latency, and the streamed scan align makes, at growing sizes.

1. p50/p95 latency of recording a candidate and a rating through ``Store`` (each a durable
   commit), on a SQLite file (WAL, synchronous=FULL) and on PostgreSQL.
2. Time and peak memory of ``Store.iter_turns()`` over N feedback rows (a row = one
   candidate, half of them rated, some picked), for each N in ``--rows``, to show the scan is
   streamed (memory flat) and linear in time. Each scan runs in a fresh child process, so its
   peak RSS is the scan's own.

Run: .venv/bin/python bench/storage.py [--rows 10000 100000 1000000] [--latency-n 300]
     [--postgres-url URL]   (default: $COMPANION_TEST_POSTGRES_URL; without one, SQLite only)

3. ``--partial`` (a soak of its own, instead of 1 and 2): what saving a reply's text at each
   finished sentence costs. N replies of S sentences stream through the real Engine (fallback
   safety, a scripted model at a fixed pace) into a SQLite file, with the partial saves on and
   off: the latency of one save (a durable commit, in a thread), the reply's wall time, the
   longest gap between two pieces of text reaching the screen, and the database's size.

     .venv/bin/python bench/storage.py --partial [--replies 30] [--sentences 20] [--pace-ms 20]

4. ``--soak`` (instead of 1 and 2): one chat, its background pair builder and a retrain
   writing at once for ``--soak-minutes`` on SQLite, then on PostgreSQL (bench/storage_soak.py).

     .venv/bin/python bench/storage.py --soak [--soak-minutes 10] [--soak-pace-ms 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from bench import storage_soak  # noqa: E402
from bench.report import percentile, write_section  # noqa: E402
from feedback.db import make_engine, migrate  # noqa: E402
from feedback.models import Candidate, Choice, Conversation, Message, Rating  # noqa: E402
from feedback.repo import Store  # noqa: E402

TURNS_PER_CONVERSATION = 5
CANDIDATES_PER_TURN = 2
ROWS_PER_CONVERSATION = TURNS_PER_CONVERSATION * CANDIDATES_PER_TURN
REPLY = (
    "That sounds like a lot to carry. What part of the day stayed with you the most? "
    "I'm here if you want to talk it through."
)


def say(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# --- databases ---------------------------------------------------------------------------------


class PgSchema:
    """A throwaway schema in the given PostgreSQL database, dropped on close."""

    def __init__(self, url: str) -> None:
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {self.name}"))
        self.url = (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={self.name}"})
            .render_as_string(hide_password=False)
        )

    def close(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {self.name} CASCADE"))
        self.admin.dispose()


def fresh_db(kind: str, pg_url: str | None, tmp: Path) -> tuple[str, PgSchema | None]:
    if kind == "sqlite":
        path = tmp / f"bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", None
    assert pg_url is not None
    schema = PgSchema(pg_url)
    return schema.url, schema


# --- 1. write latency --------------------------------------------------------------------------


def write_latency(url: str, n: int) -> dict[str, float]:
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    conv = store.create_conversation("default")
    assert conv.id is not None
    user = store.add_message(conv.id, "user", "How was your day?")
    cand_ms: list[float] = []
    rate_ms: list[float] = []
    for i in range(n):
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
        assert reply.id is not None
        t0 = time.perf_counter()
        cand = store.add_candidate(
            reply.id,
            REPLY,
            params={"temperature": 0.8, "top_p": 0.95, "max_tokens": 384},
            base_model="smollm2-135m-instruct",
            adapter_version="v3",
            safety={"toxicity": 0.01, "intensity": 0.3},
            latency={"ttft_ms": 171.0, "tokens_per_s": 24.0, "total_ms": 1900.0},
            shown=True,
        )
        t1 = time.perf_counter()
        assert cand.id is not None
        store.rate(cand.id, 1 if i % 3 else -1, reason="warm")
        t2 = time.perf_counter()
        cand_ms.append((t1 - t0) * 1000)
        rate_ms.append((t2 - t1) * 1000)
    engine.dispose()
    return {
        "candidate_p50": percentile(cand_ms, 50),
        "candidate_p95": percentile(cand_ms, 95),
        "rating_p50": percentile(rate_ms, 50),
        "rating_p95": percentile(rate_ms, 95),
    }


# --- 2. bulk data and the scan -----------------------------------------------------------------


def _batches(
    rows: int, first_conv: int, per_batch: int
) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Synthetic feedback with explicit ids: conversations of 5 turns, 2 candidates a turn;
    the first candidate of each turn rated (alternately up and down), every 5th turn picked."""
    n_convs = max(1, rows // ROWS_PER_CONVERSATION)
    t = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    for start in range(0, n_convs, per_batch):
        out: dict[str, list[dict[str, Any]]] = {
            "conversation": [],
            "message": [],
            "candidate": [],
            "rating": [],
            "choice": [],
        }
        for c in range(start, min(n_convs, start + per_batch)):
            cid = first_conv + c
            out["conversation"].append(
                {"id": cid, "persona": "default", "title": f"chat {cid}", "never_train": False,
                 "uid": f"bench-{cid}", "created_at": t, "updated_at": t}
            )  # fmt: skip
            parent = None
            for turn in range(TURNS_PER_CONVERSATION):
                base = cid * 100 + turn * 2
                user_id, reply_id = base, base + 1
                out["message"].append(
                    {"id": user_id, "conversation_id": cid, "parent_id": parent, "role": "user",
                     "text": f"message {turn} of conversation {cid}: how are you today?",
                     "status": "complete", "created_at": t}
                )  # fmt: skip
                cand_ids = [reply_id * 10 + k for k in range(CANDIDATES_PER_TURN)]
                chosen = cand_ids[1] if (cid + turn) % 5 == 0 else None
                out["message"].append(
                    {"id": reply_id, "conversation_id": cid, "parent_id": user_id,
                     "role": "assistant", "text": REPLY, "status": "complete",
                     "shown_candidate_id": chosen or cand_ids[0], "chosen_candidate_id": chosen,
                     "created_at": t}
                )  # fmt: skip
                for k, cand_id in enumerate(cand_ids):
                    out["candidate"].append(
                        {"id": cand_id, "message_id": reply_id, "index": k,
                         "text": f"{REPLY} ({k})", "raw_text": None,
                         "params": {"temperature": 0.8}, "base_model": "smollm2",
                         "adapter_version": "v1", "safety": {"toxicity": 0.01},
                         "safety_action": "none", "latency": {"ttft_ms": 170},
                         "shown": k == 0 or chosen == cand_id, "created_at": t}
                    )  # fmt: skip
                out["rating"].append(
                    {"candidate_id": cand_ids[0], "value": 1 if turn % 2 else -1,
                     "reason": None, "comment": None, "created_at": t, "updated_at": t}
                )  # fmt: skip
                if chosen is not None:
                    out["choice"].append(
                        {"message_id": reply_id, "candidate_id": chosen, "created_at": t}
                    )
                parent = reply_id
        yield out


TABLES = {
    "conversation": Conversation,
    "message": Message,
    "candidate": Candidate,
    "rating": Rating,
    "choice": Choice,
}


def fill(engine: Engine, rows: int) -> float:
    """Insert `rows` feedback rows in bulk (not through Store: this is set-up, not the bench)."""
    t0 = time.perf_counter()
    for batch in _batches(rows, first_conv=1, per_batch=2000):
        with engine.begin() as conn:
            for name, model in TABLES.items():
                if batch[name]:
                    conn.execute(insert(model.__table__), batch[name])  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in TABLES:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))  # fmt: skip
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scan_child(url: str, batch_size: int) -> None:
    """Runs in a fresh process: scan everything, report time and memory as JSON."""
    engine = make_engine(url)
    store = Store(engine)
    base_rss = _status_mib("VmRSS")
    t0 = time.perf_counter()
    turns = candidates = 0
    for turn in store.iter_turns(batch_size=batch_size):
        turns += 1
        candidates += len(turn.candidates)
    elapsed = time.perf_counter() - t0
    # VmHWM, not ru_maxrss: the latter survives exec and would count the parent's memory.
    peak = _status_mib("VmHWM")
    engine.dispose()
    sys.stdout.write(
        json.dumps(
            {
                "seconds": elapsed,
                "turns": turns,
                "candidates": candidates,
                "base_rss_mib": base_rss,
                "peak_rss_mib": peak,
            }
        )
    )


def scan(url: str, batch_size: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--scan-child", url, "--batch-size", str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout))


# --- 3. partial saves while a reply streams ---------------------------------------------------

SENTENCE = "This is sentence {i} of a reply that goes on for a while, as replies do. "


class PacedModel:
    """A ChatClient stand-in: `sentences` sentences, a word every `pace_s` seconds."""

    def __init__(self, sentences: int, pace_s: float) -> None:
        self.sentences, self.pace_s = sentences, pace_s
        self.base_url, self.api_key = "http://bench", None

    async def stream_chat(self, messages: Any, **kw: Any) -> Any:
        import asyncio

        from companion.client import Delta

        for i in range(1, self.sentences + 1):
            for word in SENTENCE.format(i=i).split(" ")[:-1]:
                await asyncio.sleep(self.pace_s)
                yield Delta(0, word + " ")
        yield Delta(0, "", "stop")

    async def aclose(self) -> None:
        return None


class TimedStore(Store):
    """Times the partial saves (text-only updates); `off` skips them, for the baseline."""

    def __init__(self, engine: Engine, *, off: bool) -> None:
        super().__init__(engine)
        self.off = off
        self.save_ms: list[float] = []

    def update_message(self, message_id: int, *, text: str | None = None, **kw: Any) -> Any:
        if text is not None and kw.get("status") is None:
            if self.off:
                return None
            t0 = time.perf_counter()
            out = super().update_message(message_id, text=text, **kw)
            self.save_ms.append((time.perf_counter() - t0) * 1000)
            return out
        return super().update_message(message_id, text=text, **kw)


def partial_soak(
    tmp: Path, replies: int, sentences: int, pace_s: float, off: bool
) -> dict[str, Any]:
    import asyncio

    from companion.config import Config
    from companion.engine import Engine as ReplyEngine
    from companion.events import ReplyDone, TextDelta
    from companion.prompt import approx_counter
    from companion.safety.detox import FallbackClassifier
    from companion.safety.pipeline import SafetyPipeline

    db_file = tmp / f"partial-{'off' if off else 'on'}.db"
    engine = make_engine(f"sqlite:///{db_file}")
    migrate(engine)
    store = TimedStore(engine, off=off)
    config = Config.model_validate({"data_dir": str(tmp / "data"), "chat": {"max_tokens": 512}})
    safety = SafetyPipeline(config.safety, FallbackClassifier())
    model = PacedModel(sentences, pace_s)
    chat = ReplyEngine(config, model, store, safety, approx_counter)  # type: ignore[arg-type]
    walls: list[float] = []
    gaps: list[float] = []

    async def soak() -> None:
        conv = store.create_conversation("default")
        assert conv.id is not None
        parent = None
        for n in range(replies + 1):  # the first warms up (imports, caches): not counted
            t0 = last = time.perf_counter()
            reply_gaps = []
            async for ev in chat.reply(conv.id, f"Tell me more ({n}).", parent_id=parent):
                now = time.perf_counter()
                if isinstance(ev, TextDelta):
                    reply_gaps.append((now - last) * 1000)
                    last = now
                if isinstance(ev, ReplyDone):
                    parent = ev.message_id
            if n == 0:
                store.save_ms.clear()
                continue
            walls.append((time.perf_counter() - t0) * 1000)
            gaps.extend(reply_gaps)

    asyncio.run(soak())
    engine.dispose()
    size = sum(f.stat().st_size for f in tmp.glob(f"{db_file.name}*"))
    return {
        "saves": len(store.save_ms),
        "save_p50": percentile(store.save_ms, 50),
        "save_p95": percentile(store.save_ms, 95),
        "wall_p50": percentile(walls, 50),
        "wall_p95": percentile(walls, 95),
        "gap_p99": percentile(gaps, 99),
        "gap_max": max(gaps) if gaps else float("nan"),
        "size_mib": size / 2**20,
    }


def run_partial(args: argparse.Namespace, tmp: Path) -> None:
    load_start = os.getloadavg()[0]
    pace = args.pace_ms / 1000
    res = {}
    for off in (True, False):
        say(f"partial saves {'off' if off else 'on'}: {args.replies} replies × {args.sentences}")
        res["off" if off else "on"] = partial_soak(tmp, args.replies, args.sentences, pace, off)
        say(f"  {res['off' if off else 'on']}")
    on, off_ = res["on"], res["off"]
    words = len(SENTENCE.split(" ")) - 1
    lines = [
        "## Partial saves while a reply streams (`bench/storage.py --partial`)",
        "",
        f"{args.replies} replies of {args.sentences} sentences ({words} words each, one word "
        f"every {args.pace_ms} ms) through the real Engine (fallback safety) into a SQLite file "
        "(WAL, synchronous=FULL). With saves on, the text shown so far is stored at each "
        "finished sentence, in a thread (one write in flight, newest wins).",
        "",
        "| partial saves | saves | one save p50 | p95 | reply wall p50 | p95 "
        "| gap between pieces p99 | max | db + WAL |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in (("off", off_), ("on", on)):
        save = f"{r['save_p50']:.2f} ms | {r['save_p95']:.2f} ms" if r["saves"] else "– | –"
        lines.append(
            f"| {name} | {r['saves']} | {save} | {r['wall_p50']:.0f} ms | "
            f"{r['wall_p95']:.0f} ms | {r['gap_p99']:.1f} ms | {r['gap_max']:.1f} ms | "
            f"{r['size_mib']:.2f} MiB |"
        )
    extra = on["wall_p50"] - off_["wall_p50"]
    lines += [
        "",
        f"Cost: {on['saves'] / max(1, args.replies):.0f} saves a reply; the reply took "
        f"{extra:+.0f} ms at the median ({extra / off_['wall_p50'] * 100:+.1f} %).",
    ]
    report(lines, load_start, "storage_partial", write=not args.no_write)


def run_soak(args: argparse.Namespace, tmp: Path) -> None:
    load_start = os.getloadavg()[0]
    kinds = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    if not args.postgres_url:
        say("no PostgreSQL URL (--postgres-url or $COMPANION_TEST_POSTGRES_URL): SQLite only")
    results = {}
    for kind in kinds:
        url, schema = fresh_db(kind, args.postgres_url, tmp)
        try:
            say(f"{kind}: soak for {args.soak_minutes:g} min")
            results[kind] = storage_soak.soak(url, args.soak_minutes * 60, args.soak_pace_ms, tmp)
            say(f"  {results[kind]}")
        finally:
            if schema:
                schema.close()
    lines = storage_soak.lines_for(results, args.soak_minutes, args.soak_pace_ms)
    report(lines, load_start, "storage_soak", write=not args.no_write)


def report(lines: list[str], load_start: float, section: str, *, write: bool) -> None:
    """Close a report with the SQLite version and the machine's load; print and keep it."""
    lines += [
        "",
        f"SQLite {sqlite3.sqlite_version}. Load average (1 min) {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end: timings on a shared machine vary with its load.",
    ]
    body = "\n".join(lines)
    sys.stdout.write(body + "\n")
    if write:
        write_section(section, body)


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--pg-rows", type=int, nargs="+", default=None,
                    help="sizes for PostgreSQL (default: same as --rows)")  # fmt: skip
    ap.add_argument("--latency-n", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--postgres-url", default=os.environ.get("COMPANION_TEST_POSTGRES_URL"))
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--scan-child", help=argparse.SUPPRESS)
    ap.add_argument("--partial", action="store_true", help="the partial-save soak (3.)")
    ap.add_argument("--replies", type=int, default=30)
    ap.add_argument("--sentences", type=int, default=20)
    ap.add_argument("--pace-ms", type=float, default=20.0)
    ap.add_argument("--soak", action="store_true", help="the concurrent-writers soak (4.)")
    ap.add_argument("--soak-minutes", type=float, default=10.0)
    ap.add_argument("--soak-pace-ms", type=float, default=100.0)
    ap.add_argument("--soak-child", choices=["chat", "retrain"], help=argparse.SUPPRESS)
    ap.add_argument("--soak-url", help=argparse.SUPPRESS)
    ap.add_argument("--soak-seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--soak-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scan_child:
        scan_child(args.scan_child, args.batch_size)
        return
    if args.soak_child:
        storage_soak.run_child(args)
        return

    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp_dir:
        if args.partial:
            run_partial(args, Path(tmp_dir))
        elif args.soak:
            run_soak(args, Path(tmp_dir))
        else:
            run(args, Path(tmp_dir))


def run(args: argparse.Namespace, tmp: Path) -> None:
    load_start = os.getloadavg()[0]
    kinds = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    if not args.postgres_url:
        say("no PostgreSQL URL (--postgres-url or $COMPANION_TEST_POSTGRES_URL): SQLite only")
    latency: dict[str, dict[str, float]] = {}
    scans: dict[str, list[tuple[int, float, dict[str, float]]]] = {k: [] for k in kinds}
    for kind in kinds:
        url, schema = fresh_db(kind, args.postgres_url, tmp)
        try:
            say(f"{kind}: write latency over {args.latency_n} candidates + ratings")
            latency[kind] = write_latency(url, args.latency_n)
            say(f"  {latency[kind]}")
        finally:
            if schema:
                schema.close()
        sizes = args.rows if kind == "sqlite" or args.pg_rows is None else args.pg_rows
        for rows in sizes:
            url, schema = fresh_db(kind, args.postgres_url, tmp)
            try:
                engine = make_engine(url)
                migrate(engine)
                say(f"{kind}: filling {rows:,} rows")
                fill_s = fill(engine, rows)
                engine.dispose()
                result = scan(url, args.batch_size)
                say(f"  filled in {fill_s:.1f} s; scan {result}")
                scans[kind].append((rows, fill_s, result))
            finally:
                if schema:
                    schema.close()
                for f in tmp.glob("bench-*"):
                    f.unlink()

    lines = [
        "## Storage (`bench/storage.py`)",
        "",
        "Write latency: one durable commit each, through `Store` "
        f"({args.latency_n} of each; SQLite file in WAL with synchronous=FULL; "
        "PostgreSQL on loopback with default durability).",
        "",
        "| backend | add_candidate p50 | p95 | rate p50 | p95 |",
        "|---|---|---|---|---|",
    ]
    for kind, lat in latency.items():
        lines.append(
            f"| {kind} | {lat['candidate_p50']:.2f} ms | {lat['candidate_p95']:.2f} ms | "
            f"{lat['rating_p50']:.2f} ms | {lat['rating_p95']:.2f} ms |"
        )
    lines += [
        "",
        "Streamed scan for pair building (`Store.iter_turns`, batch "
        f"{args.batch_size}): a row is one candidate; 5 turns × 2 candidates per conversation, "
        "one rating per turn. Peak RSS is the scanning process's own (fresh process; the "
        "baseline is its RSS after imports).",
        "",
        "| backend | rows | turns | scan time | µs / row | peak RSS | over baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, results in scans.items():
        for _rows, _fill_s, r in results:
            per_row = r["seconds"] / max(1, r["candidates"]) * 1e6
            lines.append(
                f"| {kind} | {int(r['candidates']):,} | {int(r['turns']):,} | "
                f"{r['seconds']:.2f} s | {per_row:.1f} | {r['peak_rss_mib']:.0f} MiB | "
                f"+{r['peak_rss_mib'] - r['base_rss_mib']:.0f} MiB |"
            )
    growth = []
    for kind, results in scans.items():
        steps = []
        for (r0, _, a), (r1, _, b) in zip(results, results[1:], strict=False):
            steps.append(
                f"{r0:,}→{r1:,} rows: time ×{b['seconds'] / a['seconds']:.1f} "
                f"for rows ×{r1 / r0:.0f}"
            )
        if steps:
            growth.append(f"{kind}: " + ", ".join(steps))
    if growth:
        lines += ["", "Growth (linear = time grows like rows): " + "; ".join(growth) + "."]
    report(lines, load_start, "storage", write=not args.no_write)


if __name__ == "__main__":
    main()
