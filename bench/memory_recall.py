"""Does it remember? A simulated user tells facts across five conversations; later, in fresh
conversations, it asks questions whose answers need them. Memory on and off, interleaved.

Through the product's own path: the real engine (fallback safety), store and memory service,
a local vLLM server on SmolLM2-135M-Instruct with the user's starter persona adapter. Each
telling conversation ends the way the chat ends one: `MemoryService.suggest`, with
``memory.auto_accept`` (a user who keeps every suggestion); "remember that ..." is stored as
it is said. An answer uses the fact when it contains one of the fact's answer words.

Run: .venv/bin/python bench/memory.py --recall   (called from bench/memory.py)
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory_facts import FACTS, SMALL_TALK, Fact  # noqa: E402
from bench.report import percentile  # noqa: E402

PERSONA = "default"
PER_CONVERSATION = 8


@dataclass
class Answer:
    fact: Fact
    memory: bool
    text: str
    ttft_ms: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def uses_fact(self) -> bool:
        low = self.text.lower()
        # The word itself or its plural: "Helena" is not "Helen"; "mushrooms" is "mushroom".
        return any(
            re.search(rf"\b{re.escape(a.lower())}(?:s|es)?\b", low) for a in self.fact.answer
        )


async def _reply(engine: Any, store: Any, conv_id: int, text: str) -> tuple[str, float | None]:
    from companion.events import ReplyDone

    done: ReplyDone | None = None
    parent = await asyncio.to_thread(store.latest_leaf, conv_id)
    async for ev in engine.reply(conv_id, text, parent.id if parent else None):
        if isinstance(ev, ReplyDone):
            done = ev
    if done is None or done.shown_candidate_id is None:
        return "", None
    cands = await asyncio.to_thread(store.candidates, done.message_id)
    shown = next(c for c in cands if c.id == done.shown_candidate_id)
    return shown.text, done.ttft_ms


async def tell(engine: Any, store: Any, service: Any) -> int:
    """The facts, told across conversations with small talk between; returns how many
    memories the store holds after each conversation ended."""
    for start in range(0, len(FACTS), PER_CONVERSATION):
        conv = await asyncio.to_thread(store.create_conversation, PERSONA)
        assert conv.id is not None
        for i, fact in enumerate(FACTS[start : start + PER_CONVERSATION]):
            await _reply(engine, store, conv.id, fact.said)
            await _reply(engine, store, conv.id, SMALL_TALK[i % len(SMALL_TALK)])
        await asyncio.to_thread(service.suggest, conv.id, PERSONA)
    return len(await asyncio.to_thread(store.active_memories, PERSONA))


async def ask(engines: dict[bool, Any], store: Any, service: Any) -> list[Answer]:
    out: list[Answer] = []
    for i, fact in enumerate(FACTS):
        for memory in (True, False) if i % 2 == 0 else (False, True):
            conv = await asyncio.to_thread(store.create_conversation, PERSONA)
            assert conv.id is not None
            notes: list[str] = []
            if memory:
                got = await asyncio.to_thread(service.notes_for, conv.id, PERSONA, fact.question)
                notes = [*got.standing, *got.recalled]
            text, ttft = await _reply(engines[memory], store, conv.id, fact.question)
            out.append(Answer(fact, memory, text, ttft, notes))
            mark = "+" if out[-1].uses_fact else "-"
            print(f"[{'on ' if memory else 'off'}] {mark} {fact.question} -> {text[:90]!r}")
    return out


def _share(answers: list[Answer], memory: bool, split: str | None = None) -> tuple[int, int]:
    rs = [a for a in answers if a.memory == memory and (split is None or a.fact.split == split)]
    return sum(a.uses_fact for a in rs), len(rs)


def report(answers: list[Answer], stored: int, load: float, wall_s: float) -> str:
    lines = [
        "## Does it remember? (`bench/memory.py --recall`)",
        "",
        f"A simulated user tells {len(FACTS)} facts (`bench/memory_facts.py`, written for this "
        f"project) across {-(-len(FACTS) // PER_CONVERSATION)} conversations, with small talk "
        "between; each conversation ends as the chat ends one (suggestions, auto-accepted). "
        "Then each question is asked in a fresh conversation, with memory on and off "
        "(interleaved). Real engine, store and memory service; local vLLM, SmolLM2-135M-Instruct "
        f"with the starter persona adapter; sampling as in the chat. {stored} memories were "
        f"stored. 1-minute load average at the start: {load:.1f}; wall {wall_s:.0f} s.",
        "",
        "| split | facts | memory on | memory off | difference |",
        "|---|---|---|---|---|",
    ]
    diffs = {}
    for split in ("dev", "heldout", None):
        on_hits, n = _share(answers, True, split)
        off_hits, _ = _share(answers, False, split)
        if not n:
            continue
        d = (on_hits - off_hits) / n * 100
        diffs[split] = d
        lines.append(
            f"| {split or '**all**'} | {n} | {on_hits / n:.0%} ({on_hits}) | "
            f"{off_hits / n:.0%} ({off_hits}) | **{d:+.0f} points** |"
        )
    ttft = {m: [a.ttft_ms for a in answers if a.memory == m and a.ttft_ms] for m in (True, False)}
    if ttft[True] and ttft[False]:
        on50, off50 = percentile(ttft[True], 50), percentile(ttft[False], 50)
        lines += [
            "",
            f"Server TTFT with memory notes in the prompt p50 {on50:.0f} ms / p95 "
            f"{percentile(ttft[True], 95):.0f} ms, without p50 {off50:.0f} / p95 "
            f"{percentile(ttft[False], 95):.0f} ms: **{(on50 / off50 - 1) * 100:+.0f}%** at p50 "
            "(target +10%).",
        ]
    recalled = [a for a in answers if a.memory]
    found = sum(
        any(w.lower() in " ".join(a.notes).lower() for w in a.fact.answer) for a in recalled
    )
    used = sum(a.uses_fact for a in recalled)
    lines += [
        "",
        f"The fact was in the prompt for {found}/{len(recalled)} questions (recall of the "
        f"retrieval); the answer used it in {used}. Target: on − off ≥ +40 points "
        f"({'met' if diffs.get(None, 0) >= 40 else 'not met'}). Worst split: "
        f"{min((d, s or 'all') for s, d in diffs.items())[1]}.",
    ]
    return "\n".join(lines) + "\n"


def run_recall(write: bool) -> str:
    from bench.report import write_section
    from companion.cli.common import open_store
    from companion.cli.wiring import active_adapter, memory_service
    from companion.client import ChatClient
    from companion.config import Config, load
    from companion.engine import Engine
    from companion.model_setup import base_model
    from companion.prompt import load_counter
    from companion.safety.pipeline import build_pipeline
    from companion.server import ServerManager

    user = load().config
    ref = active_adapter(open_store(user))
    base = base_model(user)
    home = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    cfg = Config.model_validate({"data_dir": str(home / "data"), "memory": {"auto_accept": True}})
    cfg.paths.ensure()
    store = open_store(cfg)
    manager = ServerManager(cfg)
    load_avg = os.getloadavg()[0]
    t0 = time.monotonic()
    state = manager.start(base, ref)
    try:
        count = load_counter(state.checkpoint or base)
        service = memory_service(cfg, store, count)
        pipeline = build_pipeline(cfg.safety, cfg.paths)

        def engine(memory: bool) -> Engine:
            return Engine(
                cfg,
                ChatClient(state.base_url, state.api_key, timeout=120),
                store,
                pipeline,
                count,
                model=state.model,
                memory=service if memory else None,
            )

        engines = {True: engine(True), False: engine(False)}

        async def main() -> tuple[int, list[Answer]]:
            stored = await tell(engines[True], store, service)
            answers = await ask(engines, store, service)
            for e in engines.values():
                await e.client.aclose()
            return stored, answers

        stored, answers = asyncio.run(main())
    finally:
        manager.stop()
    body = report(answers, stored, load_avg, time.monotonic() - t0)
    print(body)
    if write:
        write_section("memory_recall", body)
    return body
