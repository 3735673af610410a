"""Client overhead: time to first token through companion's ChatClient vs a raw httpx request.

Both talk to the same vLLM server in the same run, alternating request by request (so server
warm-up and load drift hit both alike), with the same persona prompt and 10-turn history.
TTFT is from the call to the first piece of text in hand. Target: ratio <= 1.05.

Run: .venv/bin/python bench/client.py [--requests 30]   (starts a local server), or
     .venv/bin/python bench/client.py --url http://HOST:PORT/v1 --model NAME [--api-key K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from contextlib import aclosing
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from bench.server import messages  # noqa: E402
from companion.client import ChatClient  # noqa: E402


async def ttft_ours(client: ChatClient, model: str, i: int) -> float:
    t0 = time.perf_counter()
    async with aclosing(client.stream_chat(messages(i), model=model, max_tokens=16)) as s:
        async for d in s:
            if d.text:
                return time.perf_counter() - t0
    raise RuntimeError("no text")


async def ttft_raw(http: httpx.AsyncClient, url: str, key: str | None, model: str, i: int) -> float:
    body = {
        "model": model,
        "messages": messages(i),
        "max_tokens": 16,
        "stream": True,
        "stream_options": {"include_usage": True},
        "n": 1,
        "temperature": 0.8,
        "top_p": 0.95,
    }
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    t0 = time.perf_counter()
    async with http.stream("POST", f"{url}/chat/completions", json=body, headers=headers) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                choices = json.loads(line[6:]).get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    return time.perf_counter() - t0
    raise RuntimeError("no text")


async def run(url: str, key: str | None, model: str, requests: int) -> dict[str, float]:
    ours: list[float] = []
    raw: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http, ChatClient(url, key) as client:
        for i in range(3):  # warm-up both paths and the server's prefix cache
            await ttft_ours(client, model, i)
            await ttft_raw(http, url, key, model, i)
        for i in range(requests):
            if i % 2:
                ours.append(await ttft_ours(client, model, i))
                raw.append(await ttft_raw(http, url, key, model, i))
            else:
                raw.append(await ttft_raw(http, url, key, model, i))
                ours.append(await ttft_ours(client, model, i))
    ms = {"ours": [x * 1000 for x in ours], "raw": [x * 1000 for x in raw]}
    return {
        "ours_p50": percentile(ms["ours"], 50),
        "ours_p90": percentile(ms["ours"], 90),
        "raw_p50": percentile(ms["raw"], 50),
        "raw_p90": percentile(ms["raw"], 90),
        "ratio_p50": percentile(ms["ours"], 50) / percentile(ms["raw"], 50),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--url")
    ap.add_argument("--model", default="companion")
    ap.add_argument("--api-key")
    args = ap.parse_args()
    if args.url:
        res = asyncio.run(run(args.url, args.api_key, args.model, args.requests))
        where = f"the server at {args.url}"
    else:
        from companion.config import Config, load
        from companion.model_setup import ensure_embedded_model
        from companion.server import ServerManager

        base = str(ensure_embedded_model(load().config))
        with tempfile.TemporaryDirectory() as home:
            cfg = Config.model_validate(
                {"data_dir": home, "server": {"kv_cache_gib": 1, "enable_lora": False}}
            )
            manager = ServerManager(cfg)
            state = manager.start(base)
            try:
                res = asyncio.run(run(state.base_url, state.api_key, state.model, args.requests))
            finally:
                manager.stop()
        where = "a local vLLM server (SmolLM2-135M-Instruct, CPU, started by companion)"
    print(json.dumps({k: round(v, 3) for k, v in res.items()}), flush=True)
    verdict = "meets" if res["ratio_p50"] <= 1.05 else "misses"
    body = [
        "## Client overhead: TTFT through ChatClient vs raw httpx",
        "",
        f"{args.requests} streamed requests each, alternating, against {where}; persona prompt "
        "+ 10-turn history. TTFT = call to first text in hand.",
        "",
        "| path | TTFT p50 (ms) | TTFT p90 (ms) |",
        "|---|---|---|",
        f"| raw httpx | {res['raw_p50']:.1f} | {res['raw_p90']:.1f} |",
        f"| companion ChatClient | {res['ours_p50']:.1f} | {res['ours_p90']:.1f} |",
        "",
        f"Ratio (p50): **{res['ratio_p50']:.3f}**, which {verdict} the target of <= 1.05.",
        "",
        f"Load average during the run: {os.getloadavg()[0]:.1f} (other work on this "
        "machine slows every figure; the ratio and the comparison are what to read).",
        "",
        "Reproduce: `.venv/bin/python bench/client.py`",
    ]
    write_section("client", "\n".join(body))


if __name__ == "__main__":
    main()
