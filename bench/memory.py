"""Long-term memory: what recall costs as history grows.

``--latency``: a database grows to each size in ``--sizes`` (default 10k, 100k, 1M stored
messages: synthetic conversations of 10 messages, varied text, 1% of them crisis
conversations), the semantic index catches up with it (the product's path:
``MessageIndex.catch_up`` over ``Store.messages_after``: the embedding throughput and the
HNSW build are timed), and ``Recall.notes`` answers ``--queries`` messages in a fresh child
process that loads the index from its file (p50/p95, load time, peak RSS). SQLite first; then
PostgreSQL (``--postgres-url``, default ``$COMPANION_TEST_POSTGRES_URL``), on the same index
file, since its keys are the same message ids.

``--tune``: chooses the index's dimensions and scalar type: recall@10 (and 10@24, what recall
re-scores) of usearch's HNSW against exact cosine on WordLlama's full 256 dimensions, with
query latency, memory and build time, on ``--tune-size`` messages.

Run: .venv/bin/python bench/memory.py --latency [--sizes 10000 100000 1000000] [--queries 200]
     .venv/bin/python bench/memory.py --tune [--tune-size 100000]

``--recall``: does it remember? A simulated user tells facts across conversations and asks
about them later, memory on and off, through the real engine and a local vLLM server
(``bench/memory_recall.py``); with the TTFT the notes cost.

Run: .venv/bin/python bench/memory.py --recall
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.report import percentile, write_section  # noqa: E402
from bench.storage import PgSchema, fresh_db, say  # noqa: E402
from companion.memory.index import IndexSettings, MessageIndex, reduce  # noqa: E402
from companion.memory.recall import Recall  # noqa: E402
from companion.safety.semantic import Embedder, load_wordllama  # noqa: E402
from feedback.db import make_engine, migrate  # noqa: E402
from feedback.models import Conversation, Message, SafetyEvent  # noqa: E402
from feedback.repo import Store  # noqa: E402

MESSAGES_PER_CONVERSATION = 10
CRISIS_EVERY = 100
SECTION = "memory_latency"
TUNE_SECTION = "memory_index"

# --- synthetic history ---------------------------------------------------------------------

NAMES = ("Ana Marco Lena Tom Priya Yusuf Mei Carlos Sofia Jonas Amara Ivan Noor Leo Hana "
         "Diego Elif Sam Rosa Kenji Fatima Ollie Zara Mateo Ingrid Kwame Lucia Aiko Ben "
         "Chloe").split()  # fmt: skip
RELATIONS = "sister brother mother father friend boss cousin neighbour partner grandma".split()
PETS = "dog cat parrot rabbit hamster tortoise goldfish horse".split()
PLACES = (
    "Lisbon Berlin Tokyo the mountains the beach Paris the lake Madrid Oslo the park "
    "the office the gym Rome the library Seoul Prague the garden Chicago"
).split(" ")
ACTIVITIES = ("hiking baking painting running chess gardening cycling knitting swimming "
              "climbing coding photography yoga dancing fishing skating singing pottery "
              "surfing reading").split()  # fmt: skip
FOODS = "pasta sushi curry tacos ramen pizza dumplings soup salad pancakes falafel".split()
FEELINGS = ("tired happy nervous excited stressed lonely calm anxious proud grateful bored "
            "overwhelmed hopeful sad relieved").split()  # fmt: skip
TIMES = "yesterday today last week this morning tonight on Sunday next month".split(" ")
TOPICS = (
    "my new job, the exam, the move, the wedding, my health, the trip, money, the "
    "project at work, my sleep, the holidays, the garden, the noise upstairs"
).split(", ")
USER = (
    "My {rel} {name} is feeling {feel} about {topic}.",
    "I went {act} in {place} {time} and it was great.",
    "I cooked {food} {time}, my {rel} loved it.",
    "My {pet} {name} has been sick, I'm {feel}.",
    "I'm planning a trip to {place} with {name}.",
    "{time} I felt {feel} because of {topic}.",
    "Do you think I should try {act}? {name} does it every week.",
    "I can't stop thinking about {topic}, it makes me {feel}.",
    "{name} and I had {food} in {place}.",
    "I started {act} lessons {time}.",
    "My {rel} wants me to visit {place} but I'm {feel}.",
    "I adopted a {pet} and called it {name}.",
)
ASSISTANT = (
    "That sounds {feel2}. How did {name} take it?",
    "{act2} in {place} sounds lovely. What was the best part?",
    "I'm glad you told me about {topic}. Do you want to talk it through?",
    "It's okay to feel {feel} about {topic}. What would help right now?",
    "{food2} is a great choice! Did you make it from scratch?",
    "Your {pet} is lucky to have you. I hope {name} feels better soon.",
)


def _pick(rng: np.random.Generator, words: tuple[str, ...] | list[str], n: int) -> list[str]:
    return [words[i] for i in rng.integers(0, len(words), n)]


def synthetic_texts(n: int, seed: int) -> list[str]:
    """`n` messages, alternating user and assistant, from templates and word lists."""
    rng = np.random.default_rng(seed)
    slots = {
        "name": _pick(rng, NAMES, n), "rel": _pick(rng, RELATIONS, n),
        "pet": _pick(rng, PETS, n), "place": _pick(rng, PLACES, n),
        "act": _pick(rng, ACTIVITIES, n), "food": _pick(rng, FOODS, n),
        "feel": _pick(rng, FEELINGS, n), "time": _pick(rng, TIMES, n),
        "topic": _pick(rng, TOPICS, n),
    }  # fmt: skip
    user_t = rng.integers(0, len(USER), n)
    bot_t = rng.integers(0, len(ASSISTANT), n)
    out = []
    for i in range(n):
        s = {k: v[i] for k, v in slots.items()}
        if i % 2 == 0:
            t = USER[user_t[i]].format(**s)
        else:
            s.update(feel2=s["feel"], act2=s["act"].capitalize(), food2=s["food"].capitalize())
            t = ASSISTANT[bot_t[i]].format(**s)
        out.append(t[0].upper() + t[1:])
    return out


QUERIES = (
    "How is {name} doing?", "Do you remember my {pet}?", "I want to go {act} again.",
    "What should I cook tonight, maybe {food}?", "I'm still {feel} about {topic}.",
    "My {rel} called me today.", "Should I visit {place}?", "what's the weather like",
    "tell me a joke", "I had a long day.",
)  # fmt: skip


def queries(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t = QUERIES[i % len(QUERIES)]
        out.append(
            t.format(name=_pick(rng, NAMES, 1)[0], pet=_pick(rng, PETS, 1)[0],
                     act=_pick(rng, ACTIVITIES, 1)[0], food=_pick(rng, FOODS, 1)[0],
                     feel=_pick(rng, FEELINGS, 1)[0], topic=_pick(rng, TOPICS, 1)[0],
                     rel=_pick(rng, RELATIONS, 1)[0], place=_pick(rng, PLACES, 1)[0])
        )  # fmt: skip
    return out


def _rows(first: int, count: int) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Messages first+1 .. first+count (whole conversations), in insert batches."""
    t0 = datetime(2025, 1, 1)
    per_batch = 20_000
    for start in range(first, first + count, per_batch):
        n = min(per_batch, first + count - start)
        texts = synthetic_texts(n, seed=start)
        out: dict[str, list[dict[str, Any]]] = {"conversation": [], "message": [], "safety": []}
        for j in range(n):
            mid = start + j + 1
            cid = (mid - 1) // MESSAGES_PER_CONVERSATION + 1
            at = t0 + timedelta(minutes=mid)
            if (mid - 1) % MESSAGES_PER_CONVERSATION == 0:
                out["conversation"].append(
                    {"id": cid, "persona": "default", "title": f"chat {cid}",
                     "never_train": cid % CRISIS_EVERY == 0, "uid": f"bench-{cid}",
                     "created_at": at, "updated_at": at}
                )  # fmt: skip
                if cid % CRISIS_EVERY == 0:
                    out["safety"].append(
                        {"conversation_id": cid, "message_id": mid, "kind": "crisis",
                         "action": "replaced", "scores": {}, "thresholds": {}, "created_at": at}
                    )  # fmt: skip
            first_of_conv = (mid - 1) % MESSAGES_PER_CONVERSATION == 0
            out["message"].append(
                {"id": mid, "conversation_id": cid, "parent_id": None if first_of_conv else mid - 1,
                 "role": "user" if j % 2 == 0 else "assistant", "text": texts[j],
                 "status": "complete", "created_at": at}
            )  # fmt: skip
        yield out


def grow(engine: Engine, have: int, want: int) -> float:
    """Insert messages have+1..want in bulk (set-up, not the bench); returns seconds."""
    t0 = time.perf_counter()
    tables = {"conversation": Conversation, "message": Message, "safety": SafetyEvent}
    for batch in _rows(have, want - have):
        with engine.begin() as conn:
            for name, model in tables.items():
                if batch[name]:
                    conn.execute(insert(model.__table__), batch[name])  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for name in ("conversation", "message", "safety_event"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))  # fmt: skip
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


# --- the latency child ---------------------------------------------------------------------


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


MEMORIES = [
    ("The user's name is Sam.", "name"),
    ("Don't call the user sweetie.", "boundary"),
    ("The user's sister is called Ana.", "person"),
    ("The user has a dog called Rex.", "pet"),
    ("The user likes hiking.", "like"),
    ("The user dislikes loud music.", "dislike"),
    ("The user is moving to Berlin in May.", "plan"),
    ("The user's favourite food is ramen.", "like"),
]


class _Note:
    def __init__(self, i: int, note: str, kind: str) -> None:
        self.id, self.text, self.kind = i, note, kind


def latency_child(url: str, index_path: str, n: int, budget: int) -> None:
    """Runs in a fresh process: load the index, answer `n` messages through Recall.notes."""
    base = _status_mib("VmRSS")
    embedder = Embedder(load_wordllama())
    engine = make_engine(url)
    store = Store(engine)
    t0 = time.perf_counter()
    index = MessageIndex(Path(index_path), embedder)
    size = len(index)
    load_s = time.perf_counter() - t0
    notes = [_Note(i, t, k) for i, (t, k) in enumerate(MEMORIES)]
    recall = Recall(
        store=store,
        memories=lambda _p: notes,
        embedder=embedder,
        index=index,
        count_tokens=lambda line: int(len(line.split()) * 1.3) + 1,
        clock=lambda: datetime.now(UTC),
    )
    n_conv = max(1, store.max_message_id() // MESSAGES_PER_CONVERSATION)
    rng = np.random.default_rng(7)
    qs = queries(n + 10, seed=3)
    ms: list[float] = []
    recalled = 0
    for i, q in enumerate(qs):
        conv = int(rng.integers(1, n_conv + 1))
        t = time.perf_counter()
        lines = recall.notes("default", conv, q, budget_tokens=budget)
        if i >= 10:  # the first few warm the caches and the embedding
            ms.append((time.perf_counter() - t) * 1000)
            recalled += sum(line.startswith("Earlier") for line in lines)
    engine.dispose()
    sys.stdout.write(json.dumps({
        "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": max(ms),
        "load_s": load_s, "index_size": size, "turns_per_query": recalled / len(ms),
        "base_rss_mib": base, "peak_rss_mib": _status_mib("VmHWM"),
    }))  # fmt: skip


def latency(url: str, index_path: Path, n: int, budget: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--latency-child", url, str(index_path), str(n), str(budget)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-2000:])
    return dict(json.loads(proc.stdout))


# --- 1. latency at growing sizes -----------------------------------------------------------


def run_latency(args: argparse.Namespace, tmp: Path) -> list[str]:
    embedder = Embedder(load_wordllama())
    index_path = tmp / "index" / "messages.usearch"
    index = MessageIndex(index_path, embedder, notice=say)
    url, _ = fresh_db("sqlite", None, tmp)
    engine = make_engine(url)
    migrate(engine)
    store = Store(engine)
    pg: tuple[Engine, PgSchema] | None = None
    if args.postgres_url:
        pg_url, schema = fresh_db("postgres", args.postgres_url, tmp)
        assert schema is not None
        pg_engine = make_engine(pg_url)
        migrate(pg_engine)
        pg = (pg_engine, schema)
    else:
        say("no PostgreSQL URL (--postgres-url or $COMPANION_TEST_POSTGRES_URL): SQLite only")
    s = index.settings
    lines = [
        "Retrieval for one reply (`Recall.notes`: the query embedded, index catch-up check, "
        "HNSW search, FTS search, the hits read back and re-scored exactly, 8 memories), "
        f"{args.queries} messages a size, in a fresh process that loads the index file. "
        f"Index: WordLlama, {s.dims} of its 256 dims, `{s.dtype}`, HNSW M={s.connectivity}, "
        f"ef_add={s.expansion_add}, ef_search={s.expansion_search} (see the tuning table). "
        "Synthetic conversations of 10 messages (templates over word lists), 1% crisis.",
        "",
        "| messages | db | fill s | index build s (msgs/s) | index file MiB | load s | "
        "p50 ms | p95 ms | max ms | peak RSS MiB | turns/reply |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    have = 0
    for size in args.sizes:
        say(f"filling SQLite to {size:,} messages")
        fill_s = grow(engine, have, size)
        t0 = time.perf_counter()
        added = index.catch_up(store)
        index.save()
        build_s = time.perf_counter() - t0
        rate = added / build_s if build_s else float("nan")
        mib = index_path.stat().st_size / 2**20
        say(f"  index: +{added:,} in {build_s:.1f}s ({rate:,.0f}/s), {mib:.0f} MiB")
        r = latency(url, index_path, args.queries, args.budget)
        say(f"  sqlite: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms")
        lines.append(
            f"| {size:,} | SQLite | {fill_s:.1f} | {build_s:.1f} ({rate:,.0f}) | {mib:.0f} | "
            f"{r['load_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r['max_ms']:.1f} | "
            f"{r['peak_rss_mib']:.0f} | {r['turns_per_query']:.1f} |"
        )
        if pg is not None:
            say(f"filling PostgreSQL to {size:,} messages")
            pg_fill = grow(pg[0], have, size)
            r = latency(pg[1].url, index_path, args.queries, args.budget)
            say(f"  postgres: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms")
            lines.append(
                f"| {size:,} | PostgreSQL | {pg_fill:.1f} | (same index) | {mib:.0f} | "
                f"{r['load_s']:.2f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
                f"{r['max_ms']:.1f} | {r['peak_rss_mib']:.0f} | {r['turns_per_query']:.1f} |"
            )
        have = size
    engine.dispose()
    if pg is not None:
        pg[0].dispose()
        pg[1].close()
    lines += [
        "",
        "Index build = `MessageIndex.catch_up` for the messages added since the size before "
        "(read from the database, embedded by WordLlama in batches of 4096, added to the "
        "graph) and one save. Peak RSS: the child process (WordLlama, index, SQLAlchemy).",
    ]
    return lines


# --- 2. tuning ------------------------------------------------------------------------------


def run_tune(args: argparse.Namespace) -> list[str]:
    from usearch.index import Index

    embedder = Embedder(load_wordllama())
    n, k, wide = args.tune_size, 10, 24
    say(f"embedding {n:,} messages")
    texts = synthetic_texts(n, seed=11)
    t0 = time.perf_counter()
    full = np.concatenate([embedder.embed(texts[i : i + 4096]) for i in range(0, n, 4096)])
    embed_rate = n / (time.perf_counter() - t0)
    qs = queries(200, seed=5)
    qfull = embedder.embed(qs)
    truth = np.argsort(-(qfull @ full.T), axis=1)[:, :k]
    lines = [
        f"Index settings on {n:,} synthetic messages (WordLlama embeds {embed_rate:,.0f} "
        "messages/s here): recall of the exact top 10 (cosine, all 256 dims) in the index's "
        f"top 10 and top {wide} (recall re-scores its top {wide} exactly), 200 queries.",
        "",
        "| dims | dtype | recall@10 | recall 10@24 | search p50 ms | p95 ms | build s | "
        "index MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for dims in (64, 128, 256):
        for dtype in ("f32", "f16", "i8", "b1"):
            if dtype == "f32" and dims != 256:
                continue
            s = IndexSettings(dims=dims, dtype=dtype)
            index = MessageIndex(Path(tempfile.mktemp()), embedder, s)
            vecs = reduce(full, dims)
            ann = index._loaded()  # the bench measures the graph alone, without the DB
            t0 = time.perf_counter()
            ann.add(np.arange(n, dtype=np.uint64), vecs)
            build = time.perf_counter() - t0
            ms, hit10, hit24 = [], 0, 0
            qv = reduce(qfull, dims)
            for qi in range(len(qs)):
                t = time.perf_counter()
                found = [key for key, _ in ann.search(qv[qi], wide)]
                ms.append((time.perf_counter() - t) * 1000)
                want = set(truth[qi].tolist())
                hit10 += len(want & set(found[:k]))
                hit24 += len(want & set(found))
            total = k * len(qs)
            lines.append(
                f"| {dims} | {dtype} | {hit10 / total:.3f} | {hit24 / total:.3f} | "
                f"{percentile(ms, 50):.3f} | {percentile(ms, 95):.3f} | {build:.1f} | "
                f"{ann.memory_bytes() / 2**20:.0f} |"
            )
            say(lines[-1])
            del ann, index
    assert Index is not None
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--latency", action="store_true", help="retrieval latency at growing sizes")
    ap.add_argument("--tune", action="store_true", help="choose the index's dims and dtype")
    ap.add_argument(
        "--recall", action="store_true", help="does it remember? memory on/off with the model"
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--budget", type=int, default=300, help="recall's token budget")
    ap.add_argument("--tune-size", type=int, default=100_000)
    ap.add_argument("--postgres-url", default=os.environ.get("COMPANION_TEST_POSTGRES_URL"))
    ap.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument("--latency-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.latency_child:
        url, path, n, budget = args.latency_child
        latency_child(url, path, int(n), int(budget))
        return
    if not (args.latency or args.tune or args.recall):
        ap.error("say what to measure: --latency, --tune and/or --recall")
    if args.recall:
        from bench.memory_recall import run_recall

        run_recall(write=not args.no_write)
    if args.tune:
        tune = "\n".join(["## Memory recall: the index's settings", "", *run_tune(args)])
        print(tune)
        if not args.no_write:
            write_section(TUNE_SECTION, tune)
    if args.latency:
        with tempfile.TemporaryDirectory(prefix="companion-bench-memory-") as d:
            body = "\n".join(
                ["## Memory recall: retrieval latency", "", *run_latency(args, Path(d))]
            )
        print(body)
        if not args.no_write:
            write_section(SECTION, body)


if __name__ == "__main__":
    main()
