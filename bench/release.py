"""The first text's wait, and what chunked release costs: checked chunks vs whole sentences.

Through the real engine, store and safety pipeline (fallback mode, as on a fresh install)
and a local vLLM server (SmolLM2-135M-Instruct, CPU), each prompt is answered twice in the
same run, interleaved: once releasing checked word-boundary chunks (`safety.release_chunk_chars`
16, the default), once whole sentences only (0). Per reply, whole replies (no stop):
  - engine call → first released text, and the server's TTFT for that same reply;
  - how often text already shown was taken back (a sentence that failed after its prefix
    was shown, or was softened);
  - the safety checks run and their CPU time.
Targets (issue 14): first text p50 < 200 ms and ≤ 1.3 × the server's TTFT p50, p95 < 400 ms.

Run: .venv/bin/python bench/release.py [--replies 20] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from companion.config import Config  # noqa: E402
from feedback.repo import Store, open_store  # noqa: E402

PROMPTS = [
    "Hi! How are you today?",
    "I had a really long day at work and I'm exhausted.",
    "Can you give me an idea for dinner tonight?",
    "I GOT THE JOB!!! I can't believe it!!!",
    "What's a good way to start journaling?",
    "My cat keeps waking me up at 5am, what do I do?",
    "Tell me something interesting about octopuses.",
    "I'm nervous about a presentation tomorrow.",
    "What should I read next if I loved The Hobbit?",
    "Ugh, my code broke again and I hate this bug so much.",
]


async def one(engine: Any, store: Store, prompt: str) -> dict[str, float] | None:
    from companion.events import ReplyDone, TextDelta

    conv = await asyncio.to_thread(store.create_conversation, "default")
    called = time.perf_counter()
    first: float | None = None
    done: ReplyDone | None = None
    async for ev in engine.reply(conv.id, prompt):
        if isinstance(ev, TextDelta) and ev.index == 0 and ev.text and first is None:
            first = time.perf_counter()
        if isinstance(ev, ReplyDone):
            done = ev
    if first is None or done is None or done.shown_candidate_id is None:
        return None
    cand = next(c for c in store.candidates(done.message_id) if c.id == done.shown_candidate_id)
    lat = cand.latency
    return {
        "first_ms": (first - called) * 1000,
        "ttft_ms": float(lat.get("ttft_ms", 0.0)),
        "resets": float(lat.get("resets", 0)),
        "checks": float(lat.get("safety_checks", 0)),
        "check_ms": float(lat.get("safety_ms", 0.0)),
        "chars": float(len(cand.text)),
    }


def _engine(cfg: Config, store: Store, pipeline: Any, url: str, key: str | None, model: str) -> Any:
    from companion.client import ChatClient
    from companion.engine import Engine
    from companion.prompt import approx_counter

    return Engine(
        cfg, ChatClient(url, key, timeout=120), store, pipeline, approx_counter, model=model
    )


async def run(
    cfg: Config, url: str, key: str | None, model: str, replies: int
) -> dict[str, list[dict[str, float]]]:
    from companion.safety.pipeline import build_pipeline

    store = open_store(cfg.database_url)
    pipeline = build_pipeline(cfg.safety, cfg.paths)
    modes = {"chunks (16)": 16, "sentences (0)": 0}
    engines = {
        name: _engine(
            cfg.model_copy(
                update={"safety": cfg.safety.model_copy(update={"release_chunk_chars": n})}
            ),
            store,
            pipeline,
            url,
            key,
            model,
        )
        for name, n in modes.items()
    }
    out: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
    await one(engines["chunks (16)"], store, PROMPTS[0])  # warm-up: prefix cache, first loads
    for i in range(replies):
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        for name in order:
            r = await one(engines[name], store, PROMPTS[i % len(PROMPTS)])
            if r is not None:
                out[name].append(r)
                print(
                    f"{name:14} reply {i}: first {r['first_ms']:.0f} ms, "
                    f"TTFT {r['ttft_ms']:.0f} ms, checks {r['checks']:.0f} "
                    f"({r['check_ms']:.1f} ms), resets {r['resets']:.0f}",
                    flush=True,
                )
    for e in engines.values():
        await e.client.aclose()
    return out


def report(results: dict[str, list[dict[str, float]]], load: float) -> str:
    rows = [
        "| release | replies | first text p50 / p95 (ms) | server TTFT p50 / p95 (ms) "
        "| first ÷ TTFT (p50) | replies with shown text taken back | checks per reply (mean) "
        "| check ms per reply (mean / max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdict = ""
    for name, rs in results.items():
        if not rs:
            continue
        first = [r["first_ms"] for r in rs]
        ttft = [r["ttft_ms"] for r in rs]
        p50f, p95f, p50t = percentile(first, 50), percentile(first, 95), percentile(ttft, 50)
        reset_share = sum(1 for r in rs if r["resets"]) / len(rs)
        checks = sum(r["checks"] for r in rs) / len(rs)
        ms = [r["check_ms"] for r in rs]
        rows.append(
            f"| {name} | {len(rs)} | {p50f:.0f} / {p95f:.0f} "
            f"| {p50t:.0f} / {percentile(ttft, 95):.0f} | {p50f / p50t:.2f} | {reset_share:.0%} "
            f"| {checks:.1f} | {sum(ms) / len(ms):.1f} / {max(ms):.1f} |"
        )
        if name.startswith("chunks"):
            met = p50f < 200 and p50f <= 1.3 * p50t and p95f < 400
            verdict = (
                f"Chunked release: first text p50 {p50f:.0f} ms (target < 200 and "
                f"≤ 1.3 × TTFT p50 = {1.3 * p50t:.0f}), p95 {p95f:.0f} ms (target < 400): "
                + ("**met**." if met else "**not met** on this run.")
            )
    return (
        "## Chunked release (`bench/release.py`)\n\n"
        "Whole replies through the real engine, store and fallback safety pipeline and a local "
        "vLLM server (SmolLM2-135M-Instruct, CPU); each prompt answered in both modes, "
        f"interleaved, in one run. 1-minute load average at the start: {load:.1f}.\n\n"
        + "\n".join(rows)
        + "\n\n"
        + verdict
        + "\n\nWhat it rests on: a chunk ends after a complete word, except a sentence's first, "
        "which may end inside a word that begins nothing unsafe (`companion/safety/prefixes.py`); "
        "later ones every 16 new characters; each is shown only "
        "once the whole sentence so far passed every check, and the finished sentence is checked "
        "again as a whole. A fallback check costs a few ms, so a reply of ~40 tokens costs "
        "the check time above in CPU, spent while the server generates.\n"
    )


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replies", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    from companion.config import load
    from companion.model_setup import base_model
    from companion.server import ServerManager

    home = Path(tempfile.mkdtemp(prefix="bench-release-"))
    cfg = Config(data_dir=home / "data")
    cfg = cfg.model_copy(update={"chat": cfg.chat.model_copy(update={"max_tokens": 60})})
    cfg.paths.ensure()
    base = base_model(load().config)
    manager = ServerManager(cfg)
    load_avg = os.getloadavg()[0]
    state = manager.start(base)
    try:
        results = asyncio.run(run(cfg, state.base_url, state.api_key, state.model, a.replies))
    finally:
        manager.stop()
    body = report(results, load_avg)
    print(body)
    if not a.no_write:
        write_section("release", body)


if __name__ == "__main__":
    main()
