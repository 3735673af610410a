"""ChatClient against canned chunks through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from companion.client import (
    BadResponse,
    ChatClient,
    ContextTooLong,
    Delta,
    ModelNotLoaded,
    RequestTimeout,
    ServerDiedMidStream,
    ServerNotRunning,
    Usage,
)

MSGS = [{"role": "user", "content": "hi"}]


def chunk(index: int, text: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    body = {"choices": [{"index": index, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n".encode()


_USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
USAGE = f"data: {json.dumps({'choices': [], 'usage': _USAGE})}\n\n".encode()
DONE = b"data: [DONE]\n\n"


def make_client(
    handler: Callable[[httpx.Request], Any], **kw: Any
) -> tuple[ChatClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    async def wrapped(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        result = handler(request)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    http = httpx.AsyncClient(transport=httpx.MockTransport(wrapped))
    return ChatClient("http://test/v1", "k", http_client=http, **kw), seen


def sse_response(parts: list[bytes], status: int = 200) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for p in parts:
            yield p

    return httpx.Response(status, content=body(), headers={"content-type": "text/event-stream"})


async def collect(client: ChatClient, **kw: Any) -> list[Delta]:
    return [d async for d in client.stream_chat(MSGS, model="m", **kw)]


async def test_stream_deltas_usage_and_request_shape() -> None:
    parts = [chunk(0, "Hel"), chunk(0, "lo"), b": ping\n\n", chunk(0, finish="stop"), USAGE, DONE]
    # re-split the bytes badly, to be sure the client does not rely on chunk boundaries
    raw = b"".join(parts)
    client, seen = make_client(
        lambda r: sse_response([raw[i : i + 7] for i in range(0, len(raw), 7)])
    )
    deltas = await collect(client, n=1, temperature=0.5, seed=3, stop=["\nUser:"])
    assert "".join(d.text for d in deltas) == "Hello"
    assert deltas[-2].finish_reason == "stop"
    assert deltas[-1].usage == Usage(5, 3, 8)
    body = json.loads(seen[0].content)
    assert body["stream"] is True and body["seed"] == 3 and body["temperature"] == 0.5
    assert body["stream_options"] == {"include_usage": True} and body["stop"] == ["\nUser:"]
    assert seen[0].headers["authorization"] == "Bearer k"


async def test_n_choices_interleaved() -> None:
    parts = [chunk(0, "a"), chunk(1, "b"), chunk(1, "c"), chunk(0, finish="stop")]
    parts += [chunk(1, finish="length"), DONE]
    client, _ = make_client(lambda r: sse_response(parts))
    deltas = await collect(client, n=2)
    texts: dict[int, str] = {}
    for d in deltas:
        texts[d.index] = texts.get(d.index, "") + d.text
    assert texts == {0: "a", 1: "bc"}


async def test_context_too_long_and_missing_model() -> None:
    msg = "This model's maximum context length is 2048 tokens. However, your prompt contains 3000"
    client, _ = make_client(
        lambda r: httpx.Response(400, json={"error": {"message": msg, "code": 400}})
    )
    with pytest.raises(ContextTooLong) as e:
        await collect(client)
    assert "\n" not in str(e.value)
    client, _ = make_client(
        lambda r: httpx.Response(404, json={"error": {"message": "The model `m` does not exist."}})
    )
    with pytest.raises(ModelNotLoaded, match="'m'"):
        await collect(client)


async def test_error_event_inside_stream() -> None:
    err = {"error": {"message": "boom", "type": "InternalServerError", "code": 500}}
    parts = [chunk(0, "x"), f"data: {json.dumps(err)}\n\n".encode(), DONE]
    client, _ = make_client(lambda r: sse_response(parts))
    with pytest.raises(BadResponse, match="boom"):
        await collect(client)


async def test_connection_refused_retries_then_gives_up() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("Connection refused", request=request)

    client, _ = make_client(refuse, connect_retry_s=0.35)
    with pytest.raises(ServerNotRunning) as e:
        await collect(client)
    assert calls >= 2
    assert "not running" in str(e.value)


async def test_connection_refused_then_server_comes_up() -> None:
    calls = 0

    def warming(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("Connection refused", request=request)
        return sse_response([chunk(0, "ok"), chunk(0, finish="stop"), DONE])

    client, _ = make_client(warming, connect_retry_s=5)
    assert "".join(d.text for d in await collect(client)) == "ok"


async def test_died_mid_stream_keeps_partial() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield chunk(0, "I was say")
        raise httpx.RemoteProtocolError("peer closed connection")

    client, _ = make_client(lambda r: httpx.Response(200, content=body()))
    with pytest.raises(ServerDiedMidStream) as e:
        await collect(client)
    assert e.value.partial_text == "I was say"


async def test_stream_ending_without_done_is_a_dead_server() -> None:
    client, _ = make_client(lambda r: sse_response([chunk(0, "half")]))
    with pytest.raises(ServerDiedMidStream) as e:
        await collect(client)
    assert e.value.partial == {0: "half"}


async def test_read_timeout_mid_stream() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield chunk(0, "slow")
        raise httpx.ReadTimeout("read timed out")

    client, _ = make_client(lambda r: httpx.Response(200, content=body()), timeout=3)
    with pytest.raises(RequestTimeout) as e:
        await collect(client)
    assert e.value.partial == {0: "slow"} and "3 s" in str(e.value)


async def test_early_stop_and_cancel_close_the_response() -> None:
    release = asyncio.Event()
    responses: list[httpx.Response] = []

    async def body() -> AsyncIterator[bytes]:
        yield chunk(0, "one ")
        await release.wait()  # the server would keep streaming forever
        yield chunk(0, "two")

    def handler(request: httpx.Request) -> httpx.Response:
        responses.append(httpx.Response(200, content=body()))
        return responses[-1]

    client, _ = make_client(handler)
    async with aclosing(client.stream_chat(MSGS, model="m")) as stream:
        async for d in stream:
            assert d.text == "one "
            break
    assert responses[-1].is_closed

    got: list[str] = []

    async def consume() -> None:
        async for d in client.stream_chat(MSGS, model="m"):
            got.append(d.text)

    task = asyncio.create_task(consume())
    while not got:
        await asyncio.sleep(0.01)
    assert not responses[-1].is_closed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert responses[-1].is_closed


async def test_complete_models_health() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/chat/completions":
            return httpx.Response(
                200,
                json={
                    "model": "m",
                    "choices": [
                        {"index": 1, "message": {"content": "b"}, "finish_reason": "stop"},
                        {"index": 0, "message": {"content": "a"}, "finish_reason": "stop"},
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                },
            )
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"data": [{"id": "m"}, {"id": "adapter-1"}]})
        if request.url.path == "/health":
            return httpx.Response(200)
        return httpx.Response(404)

    client, _ = make_client(handler)
    done = await client.complete(MSGS, model="m", n=2)
    assert [c.text for c in done.choices] == ["a", "b"] and done.usage == Usage(1, 2, 3)
    assert await client.models() == ["m", "adapter-1"]
    assert await client.health() is True

    client, _ = make_client(lambda r: (_ for _ in ()).throw(httpx.ConnectError("no", request=r)))
    assert await client.health() is False
