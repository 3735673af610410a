"""Local vLLM server: start-up time, TTFT and decode speed under the settings that matter.

For each variant it starts the server through companion's own ServerManager (as
`companion serve` does), waits for health, then sends a persona prompt with a 10-turn history
(30 streamed requests, the last user message varying) and reports TTFT p50/p90 and decode
tokens/s. Run: .venv/bin/python bench/server.py [--requests 30] [--variants all]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from companion.config import Config, load  # noqa: E402
from companion.model_setup import ensure_embedded_model  # noqa: E402
from companion.server import ServerManager  # noqa: E402

PERSONA = (
    "You are Sol, a warm and attentive companion. You listen closely, answer briefly in a "
    "friendly, natural voice, remember what the user told you, and often ask a gentle "
    "question back. You never pretend to be human and you respect the user's boundaries."
)
HISTORY = [
    ("I had a long day at work.", "That sounds tiring. What made it so long?"),
    ("Back-to-back meetings, mostly.", "Meetings all day can drain anyone. Did you get a break?"),
    ("Only for lunch.", "At least there was lunch! What did you have?"),
    ("Just a sandwich at my desk.", "Desk lunches happen. Anything good planned for tonight?"),
    ("Maybe a walk if it stops raining.", "A walk sounds lovely. Do you have a favourite route?"),
    ("Along the river, usually.", "The river must be calming. Do you go alone or with someone?"),
    ("Usually with my dog, Pepper.", "Pepper! What kind of dog is she?"),
    ("A scruffy terrier mix.", "Terriers have such big personalities. Is she energetic?"),
    ("Very. She never gets tired.", "Ha, she probably keeps you fit. How old is she?"),
    ("Four this spring.", "Still young then! Has she learned any tricks?"),
]
QUESTIONS = [
    "What should I cook for dinner?",
    "Any idea how to relax after work?",
    "Can you suggest a book?",
    "How do I get better at sleeping early?",
    "What's a fun weekend plan?",
    "Should I take up running?",
]

VARIANTS: dict[str, dict[str, object]] = {
    "fp32, 1 core, no prefix cache": {
        "dtype": "float32",
        "cpu_threads": "0",
        "prefix_caching": False,
    },
    "fp32, both cores bound": {"dtype": "float32", "cpu_threads": "0-1", "prefix_caching": False},
    "fp32, both cores + prefix caching, LoRA off": {"dtype": "float32", "enable_lora": False},
    "fp32, both cores + prefix caching + --enable-lora": {"dtype": "float32", "enable_lora": True},
    "bf16, both cores + prefix caching, LoRA off": {"dtype": "bfloat16", "enable_lora": False},
    "bf16 + --enable-lora (companion's CPU default)": {},
}


def messages(i: int) -> list[dict[str, str]]:
    out = [{"role": "system", "content": PERSONA}]
    for user, bot in HISTORY:
        out += [{"role": "user", "content": user}, {"role": "assistant", "content": bot}]
    out.append({"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]})
    return out


def one_request(url: str, key: str, model: str, i: int, max_tokens: int) -> tuple[float, float]:
    """(TTFT seconds, decode tokens/s) for one streamed request."""
    body = {
        "model": model,
        "messages": messages(i),
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": f"Bearer {key}"}
    t0 = time.perf_counter()
    first = last = None
    tokens = 0
    with httpx.stream(
        "POST", f"{url}/chat/completions", json=body, headers=headers, timeout=300
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
    assert first is not None and last is not None
    decode = (tokens - 1) / (last - first) if last > first else float("nan")
    return first - t0, decode


def run_variant(base: str, overrides: dict[str, object], requests: int, max_tokens: int) -> dict:
    with tempfile.TemporaryDirectory() as home:
        server = {"kv_cache_gib": 1, **overrides}
        cfg = Config.model_validate({"data_dir": home, "server": server})
        manager = ServerManager(cfg)
        t0 = time.perf_counter()
        state = manager.start(base)
        startup = time.perf_counter() - t0
        try:
            one_request(state.base_url, state.api_key, state.model, 0, 8)  # warm-up
            ttfts, speeds = [], []
            for i in range(requests):
                ttft, speed = one_request(state.base_url, state.api_key, state.model, i, max_tokens)
                ttfts.append(ttft * 1000)
                speeds.append(speed)
        finally:
            manager.stop()
    return {
        "startup_s": startup,
        "ttft_p50": percentile(ttfts, 50),
        "ttft_p90": percentile(ttfts, 90),
        "tok_s_p50": percentile(speeds, 50),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--variants", default="all", help="comma-separated substrings, or all")
    args = ap.parse_args()
    # The user's own converted checkpoint (set up once, like `companion model setup`).
    base = str(ensure_embedded_model(load().config))
    rows = []
    for name, overrides in VARIANTS.items():
        if args.variants != "all" and not any(v in name for v in args.variants.split(",")):
            continue
        res = run_variant(base, overrides, args.requests, args.max_tokens)
        print(f"{name}: {json.dumps({k: round(v, 1) for k, v in res.items()})}", flush=True)
        rows.append((name, res))
    table = [
        "## Local vLLM server (SmolLM2-135M-Instruct, CPU)",
        "",
        f"`companion serve` → healthy, then {args.requests} streamed requests: persona prompt + "
        f"10-turn history, {args.max_tokens} tokens each. Target: TTFT p50 < 200 ms.",
        "",
        "| variant | start → healthy (s) | TTFT p50 (ms) | TTFT p90 (ms) | decode tok/s p50 |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows:
        table.append(
            f"| {name} | {r['startup_s']:.1f} | {r['ttft_p50']:.0f} | {r['ttft_p90']:.0f} "
            f"| {r['tok_s_p50']:.1f} |"
        )
    table.append("\nReproduce: `.venv/bin/python bench/server.py`")
    write_section("server", "\n".join(table))


if __name__ == "__main__":
    main()
