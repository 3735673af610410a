"""The client and the engine against real servers.

- A local streaming HTTP server that is killed (SIGKILL) in the middle of a reply.
- The real vLLM server fixture (marked ``vllm``): streamed reply, n=3, cancel mid-stream,
  typed errors, and the engine end to end with regenerate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from companion.client import (
    ChatClient,
    ContextTooLong,
    ModelNotLoaded,
    ServerDiedMidStream,
    ServerNotRunning,
)
from companion.config import Config
from companion.engine import Engine, ReplyDone, ReplyFailed, ReplyStarted, TextDelta
from companion.prompt import load_counter
from companion.safety.detox import FallbackClassifier
from companion.safety.pipeline import SafetyPipeline
from feedback.repo import Store, open_store

MSGS = [{"role": "user", "content": "Tell me a long story about a lighthouse."}]


@pytest.fixture
def slow_server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    script = Path(__file__).with_name("slow_sse_server.py")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}/v1", proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'live.db'}")


async def test_server_killed_mid_stream_keeps_partial(
    slow_server: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = slow_server
    got = ""
    async with ChatClient(url, connect_retry_s=0) as client:
        with pytest.raises(ServerDiedMidStream) as e:
            async for d in client.stream_chat(MSGS, model="m"):
                got += d.text
                if got.count("Word") == 3:
                    os.kill(proc.pid, signal.SIGKILL)
    assert e.value.partial_text.startswith(got) and "Word 3." in e.value.partial_text
    assert "\n" not in str(e.value)


async def test_engine_marks_reply_interrupted_when_the_server_dies(
    slow_server: tuple[str, subprocess.Popen[str]], config: Config, store: Store
) -> None:
    url, proc = slow_server
    async with ChatClient(url, connect_retry_s=0) as client:
        safety = SafetyPipeline(config.safety, FallbackClassifier())
        engine = Engine(config, client, store, safety, lambda m: 10)
        conv = store.create_conversation("default")
        events: list[Any] = []
        async for ev in engine.reply(conv.id, "hi"):
            events.append(ev)
            if sum(isinstance(e, TextDelta) for e in events) == 2:
                os.kill(proc.pid, signal.SIGKILL)
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and isinstance(failed.error, ServerDiedMidStream)
    msg = store.get_message(failed.message_id or 0)
    assert msg is not None and msg.status == "interrupted"
    assert msg.text.startswith("Word 1. Word 2. ")


async def test_nothing_listening_is_server_not_running() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with ChatClient(f"http://127.0.0.1:{port}/v1", connect_retry_s=0.3) as client:
        with pytest.raises(ServerNotRunning):
            await client.complete(MSGS, model="m")
        assert await client.health() is False


# --- the real vLLM server ----------------------------------------------------------------


@pytest.fixture
async def live(vllm_server: Any) -> Any:
    async with ChatClient(vllm_server.base_url, vllm_server.api_key) as client:
        yield client


@pytest.mark.vllm
async def test_vllm_streamed_reply_and_n3(vllm_server: Any, live: ChatClient) -> None:
    assert await live.health()
    assert vllm_server.model in await live.models()
    text, reasons, usage = "", [], None
    async for d in live.stream_chat(MSGS, model=vllm_server.model, max_tokens=24, seed=1):
        text += d.text
        reasons += [d.finish_reason] if d.finish_reason else []
        usage = d.usage or usage
    assert text.strip() and reasons in (["stop"], ["length"])
    assert usage is not None and 0 < usage.completion_tokens <= 24

    texts: dict[int, str] = {}
    async for d in live.stream_chat(MSGS, model=vllm_server.model, n=3, max_tokens=16):
        texts[d.index] = texts.get(d.index, "") + d.text
    assert sorted(texts) == [0, 1, 2] and all(t.strip() for t in texts.values())


@pytest.mark.vllm
async def test_vllm_cancel_mid_stream_then_serve_again(vllm_server: Any, live: ChatClient) -> None:
    got: list[str] = []

    async def consume() -> None:
        async for d in live.stream_chat(MSGS, model=vllm_server.model, max_tokens=400):
            got.append(d.text)

    task = asyncio.create_task(consume())
    while len(got) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the server is fine and answers the next request
    done = await live.complete(MSGS, model=vllm_server.model, max_tokens=4)
    assert done.choices and done.choices[0].finish_reason in ("stop", "length")

    async with aclosing(live.stream_chat(MSGS, model=vllm_server.model, max_tokens=400)) as s:
        async for _ in s:
            break


@pytest.mark.vllm
async def test_vllm_typed_errors(vllm_server: Any, live: ChatClient) -> None:
    with pytest.raises(ModelNotLoaded):
        await live.complete(MSGS, model="no-such-adapter", max_tokens=4)
    huge = [{"role": "user", "content": "lighthouse " * 5000}]
    with pytest.raises(ContextTooLong):
        async for _ in live.stream_chat(huge, model=vllm_server.model, max_tokens=4):
            pass


@pytest.mark.vllm
async def test_vllm_engine_reply_alternatives_and_regenerate(
    vllm_server: Any, live: ChatClient, config: Config, store: Store, embedded_model_dir: Path
) -> None:
    # short replies keep this test quick on a CPU
    config = config.model_copy(update={"chat": config.chat.model_copy(update={"max_tokens": 40})})
    safety = SafetyPipeline(config.safety, FallbackClassifier())
    engine = Engine(
        config, live, store, safety, load_counter(embedded_model_dir), model=vllm_server.model
    )
    conv = store.create_conversation("default")
    events = [e async for e in engine.reply(conv.id, "Hi! What's a good name for a cat?")]
    started, done = events[0], events[-1]
    assert isinstance(started, ReplyStarted) and isinstance(done, ReplyDone), events[-1]
    assert any(isinstance(e, TextDelta) for e in events)
    msg = store.get_message(started.message_id)
    assert msg is not None and msg.status == "complete" and msg.text
    (cand,) = store.candidates(msg.id)
    assert cand.latency["ttft_ms"] > 0 and cand.latency["tokens"] > 0
    assert done.ttft_ms is not None

    again = [e async for e in engine.regenerate(started.message_id, n=3)]
    last = again[-1]
    assert isinstance(last, ReplyDone) and len(last.candidate_ids) == 3
    assert len(store.candidates(msg.id)) == 4
