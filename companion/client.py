"""Async client for the OpenAI-compatible chat API that vLLM serves.

The httpx client is injectable (tests hand in an ``httpx.MockTransport``). Every failure is
turned into a :class:`ClientError` subclass whose ``str()`` is one line a user understands;
the stream is decoded incrementally by :mod:`companion.sse` and the response is always closed,
also when the consumer stops early or its task is cancelled (Esc in the chat).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from companion.sse import SSEDecoder

# --- errors ------------------------------------------------------------------------------


class ClientError(Exception):
    """Base of every client failure; ``str(err)`` is the one line shown to the user."""


class ServerNotRunning(ClientError):
    def __init__(self, url: str) -> None:
        super().__init__(f"The model server at {url} is not running; start it with `companion`.")
        self.url = url


class ModelNotLoaded(ClientError):
    def __init__(self, model: str) -> None:
        super().__init__(f"The server has no model or adapter called {model!r} loaded.")
        self.model = model


class ContextTooLong(ClientError):
    def __init__(self, detail: str) -> None:
        super().__init__("The conversation is too long for the model's context; start a new one.")
        self.detail = detail


class RequestTimeout(ClientError):
    def __init__(self, seconds: float, partial: dict[int, str] | None = None) -> None:
        super().__init__(f"The model server did not answer within {seconds:g} s.")
        self.seconds = seconds
        self.partial = partial or {}


class ServerDiedMidStream(ClientError):
    """The connection broke before the reply was complete; the text so far is kept."""

    def __init__(self, partial: dict[int, str] | None = None, detail: str = "") -> None:
        super().__init__(
            "The model server stopped in the middle of a reply; the partial reply was kept."
        )
        self.partial = partial or {}
        self.detail = detail

    @property
    def partial_text(self) -> str:
        return self.partial.get(0, "")


class BadResponse(ClientError):
    def __init__(self, detail: str, status: int | None = None) -> None:
        where = f" (HTTP {status})" if status else ""
        first = detail.strip().splitlines()[0] if detail.strip() else "no details"
        super().__init__(f"The model server gave an unexpected answer{where}: {first[:200]}")
        self.detail = detail
        self.status = status


# --- data --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        return cls(
            int(raw.get("prompt_tokens") or 0),
            int(raw.get("completion_tokens") or 0),
            int(raw.get("total_tokens") or 0),
        )


@dataclass(frozen=True, slots=True)
class Delta:
    """One piece of a streamed reply. ``usage`` only rides on the last, text-less delta."""

    index: int
    text: str
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    text: str
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class Completion:
    choices: list[Choice]
    usage: Usage | None
    model: str = ""


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """What a request asked for; recorded with each candidate."""

    model: str
    n: int = 1
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 384
    stop: list[str] | None = None
    seed: int | None = None

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "n": self.n,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }
        if self.stop:
            out["stop"] = list(self.stop)
        if self.seed is not None:
            out["seed"] = self.seed
        return out


# --- error mapping (pure) ----------------------------------------------------------------


def _error_message(body: str) -> str:
    """The human message inside an OpenAI/vLLM error body, or the body itself."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return body.strip()


def error_for(status: int, body: str, *, model: str) -> ClientError:
    """Map an HTTP error (or an in-stream error object) to a typed error."""
    msg = _error_message(body)
    low = msg.lower()
    if "context length" in low or "too long" in low or "maximum context" in low:
        return ContextTooLong(msg)
    if status == 404 and ("model" in low or "does not exist" in low or "not found" in low):
        return ModelNotLoaded(model)
    if status in (401, 403):
        return BadResponse("the API key was rejected; check server.api_key", status)
    return BadResponse(msg or f"HTTP {status}", status)


def _root_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


# --- client ------------------------------------------------------------------------------


@dataclass
class ChatClient:
    """OpenAI-compatible chat client. ``timeout`` bounds the wait for each read (so also the
    time to first token); ``connect_retry_s`` is how long a refused connection is retried
    while a server warms up."""

    base_url: str
    api_key: str | None = None
    http_client: httpx.AsyncClient | None = None
    timeout: float = 120.0
    connect_timeout: float = 5.0
    connect_retry_s: float = 10.0
    _owns_client: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        if self.http_client is None:
            self.http_client = httpx.AsyncClient()
            self._owns_client = True

    @property
    def http(self) -> httpx.AsyncClient:
        assert self.http_client is not None
        return self.http_client

    async def aclose(self) -> None:
        if self._owns_client:
            await self.http.aclose()

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def _timeout(self, timeout: float | None) -> httpx.Timeout:
        t = self.timeout if timeout is None else timeout
        return httpx.Timeout(t, connect=min(self.connect_timeout, t))

    async def _send(
        self, method: str, url: str, *, json_body: Any = None, timeout: float | None, stream: bool
    ) -> httpx.Response:
        """Send, retrying only a refused connection (server still warming up), bounded."""
        request = self.http.build_request(
            method, url, json=json_body, headers=self._headers(), timeout=self._timeout(timeout)
        )
        deadline = time.monotonic() + self.connect_retry_s
        delay = 0.1
        while True:
            try:
                return await self.http.send(request, stream=stream)
            except httpx.ConnectError as e:
                if time.monotonic() + delay > deadline:
                    raise ServerNotRunning(self.base_url) from e
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            except httpx.TimeoutException as e:
                raise RequestTimeout(self.timeout if timeout is None else timeout) from e
            except (httpx.RemoteProtocolError, httpx.ReadError) as e:
                raise ServerDiedMidStream({}, str(e)) from e

    async def stream_chat(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        model: str,
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 384,
        stop: list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[Delta, None]:
        """Stream the reply as :class:`Delta` pieces, several choices interleaved when n>1.

        Use it with ``contextlib.aclosing`` when stopping early, so the connection is released
        at once rather than when the generator is collected."""
        params = SamplingParams(model, n, temperature, top_p, max_tokens, stop, seed)
        body = {
            **params.payload(),
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        seconds = self.timeout if timeout is None else timeout
        response = await self._send(
            "POST",
            f"{self.base_url}/chat/completions",
            json_body=body,
            timeout=timeout,
            stream=True,
        )
        partial: dict[int, str] = {}
        finished: set[int] = set()
        try:
            if response.status_code != 200:
                text = (await response.aread()).decode("utf-8", "replace")
                raise error_for(response.status_code, text, model=model)
            decoder = SSEDecoder()
            try:
                async for chunk in response.aiter_bytes():
                    for event in decoder.feed(chunk):
                        for delta in _deltas(event.data, model):
                            if delta.text:
                                partial[delta.index] = partial.get(delta.index, "") + delta.text
                            if delta.finish_reason:
                                finished.add(delta.index)
                            yield delta
                    if decoder.done:
                        break
                else:
                    for event in decoder.flush():
                        for delta in _deltas(event.data, model):
                            yield delta
            except httpx.TimeoutException as e:
                raise RequestTimeout(seconds, partial) from e
            except (httpx.RemoteProtocolError, httpx.ReadError) as e:
                raise ServerDiedMidStream(partial, str(e)) from e
            if not decoder.done and len(finished) < n:
                # The body ended without [DONE] and without a finish reason: a dead server.
                raise ServerDiedMidStream(partial, "stream ended early")
        finally:
            await response.aclose()

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        model: str,
        n: int = 1,
        temperature: float = 0.8,
        top_p: float = 0.95,
        max_tokens: int = 384,
        stop: list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> Completion:
        params = SamplingParams(model, n, temperature, top_p, max_tokens, stop, seed)
        body = {**params.payload(), "messages": list(messages)}
        response = await self._send(
            "POST",
            f"{self.base_url}/chat/completions",
            json_body=body,
            timeout=timeout,
            stream=False,
        )
        data = _json_or_error(response, model)
        try:
            choices = [
                Choice(
                    int(c.get("index", i)),
                    (c.get("message") or {}).get("content") or "",
                    c.get("finish_reason"),
                )
                for i, c in enumerate(data["choices"])
            ]
        except (KeyError, TypeError, AttributeError) as e:
            raise BadResponse(f"malformed completion: {str(data)[:200]}") from e
        return Completion(
            sorted(choices, key=lambda c: c.index),
            Usage.from_json(data.get("usage")),
            data.get("model", ""),
        )

    async def models(self, *, timeout: float | None = 10.0) -> list[str]:
        """Ids of the served models and loaded adapters."""
        response = await self._send("GET", f"{self.base_url}/models", timeout=timeout, stream=False)
        data = _json_or_error(response, "")
        try:
            return [str(m["id"]) for m in data["data"]]
        except (KeyError, TypeError) as e:
            raise BadResponse(f"malformed model list: {str(data)[:200]}") from e

    async def health(self, *, timeout: float = 2.0) -> bool:
        """True when the server answers its health check; never raises, never retries."""
        try:
            r = await self.http.get(
                f"{_root_url(self.base_url)}/health", headers=self._headers(), timeout=timeout
            )
            if r.status_code == 404:  # not vLLM: any OpenAI server lists models
                r = await self.http.get(
                    f"{self.base_url}/models", headers=self._headers(), timeout=timeout
                )
            return r.status_code == 200
        except httpx.HTTPError:
            return False


def _json_or_error(response: httpx.Response, model: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise error_for(response.status_code, response.text, model=model)
    try:
        data = response.json()
    except ValueError as e:
        raise BadResponse(f"not JSON: {response.text[:200]}", response.status_code) from e
    if not isinstance(data, dict):
        raise BadResponse(f"not an object: {response.text[:200]}", response.status_code)
    return data


def _deltas(data: str, model: str) -> list[Delta]:
    """The deltas in one SSE data payload (pure)."""
    try:
        obj = json.loads(data)
    except ValueError as e:
        raise BadResponse(f"undecodable stream event: {data[:200]}") from e
    if not isinstance(obj, dict):
        raise BadResponse(f"unexpected stream event: {data[:200]}")
    if "error" in obj:
        err = obj["error"]
        status = int(err.get("code") or 500) if isinstance(err, dict) else 500
        raise error_for(status, json.dumps(obj), model=model)
    out: list[Delta] = []
    for c in obj.get("choices") or []:
        delta = c.get("delta") or {}
        text = delta.get("content") or ""
        reason = c.get("finish_reason")
        if text or reason:
            out.append(Delta(int(c.get("index", 0)), text, reason))
    usage = Usage.from_json(obj.get("usage"))
    if usage is not None and not obj.get("choices"):
        out.append(Delta(0, "", None, usage))
    return out
