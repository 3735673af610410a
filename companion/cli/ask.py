"""`companion ask "message"`: one message through the same engine and safety pipeline as the
chat, recorded to storage like any conversation. Scriptable: --json prints one object.

Exit codes: 0 a reply was given; 1 it failed (one line on stderr, or an "error" key in JSON).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from companion.cli.common import ERROR_PREFIX, load_config, one_line_errors, open_store
from companion.config import Config

if TYPE_CHECKING:  # the engine pulls in httpx and the safety stack: import it when asked
    from companion.engine import Engine


@dataclass
class AskResult:
    conversation_id: int
    persona: str
    user_message_id: int | None = None
    message_id: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    shown_candidate_id: int | None = None
    notices: list[dict[str, str]] = field(default_factory=list)
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    status: str = "complete"
    error: str | None = None
    safety_mode: str = ""

    @property
    def text(self) -> str:
        for c in self.candidates:
            if c["id"] == self.shown_candidate_id:
                return str(c["text"])
        return ""


async def ask_once(engine: Engine, store: Any, persona: str, message: str, n: int) -> AskResult:
    """Run one message through `engine` in a new conversation and collect the outcome."""
    from companion.engine import (
        CandidateReady,
        ReplyDone,
        ReplyFailed,
        ReplyStarted,
        SafetyNotice,
    )

    conv = await asyncio.to_thread(store.create_conversation, persona)
    result = AskResult(conv.id, persona, safety_mode=engine.safety_mode)
    async for ev in engine.reply(conv.id, message, None, n):
        if isinstance(ev, ReplyStarted):
            result.user_message_id, result.message_id = ev.user_message_id, ev.message_id
        elif isinstance(ev, CandidateReady):
            result.candidates.append(
                {
                    "id": ev.candidate_id,
                    "index": ev.index,
                    "text": ev.text,
                    "safety_action": ev.safety_action,
                }
            )
        elif isinstance(ev, SafetyNotice):
            result.notices.append({"kind": ev.kind, "action": ev.action, "text": ev.text})
        elif isinstance(ev, ReplyDone):
            result.shown_candidate_id = ev.shown_candidate_id
            result.ttft_ms, result.tokens_per_s, result.status = (
                ev.ttft_ms,
                ev.tokens_per_s,
                ev.status,
            )
        elif isinstance(ev, ReplyFailed):
            result.error, result.status = ev.reason, "interrupted"
    for c in result.candidates:
        c["shown"] = c["id"] == result.shown_candidate_id
    return result


def render(result: AskResult, *, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Print the result; returns the exit code."""
    if as_json:
        payload = {k: v for k, v in result.__dict__.items()}
        payload["text"] = result.text
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return 1 if result.error else 0
    for note in result.notices:
        err.write(f"companion: {note['text']}\n")
    if len(result.candidates) > 1:
        for c in result.candidates:
            mark = "*" if c["shown"] else " "
            out.write(f"[{c['index'] + 1}]{mark} {c['text']}\n\n")
    elif result.text:
        out.write(result.text.rstrip("\n") + "\n")
    if result.error:
        err.write(f"{ERROR_PREFIX}{result.error}\n")
        return 1
    return 0


def build_engine(config: Config, *, log: Callable[[str], None]) -> tuple[Engine, Any]:
    """Store, a running server, client, safety and token counter, wired into an Engine."""
    from companion.cli import wiring

    store = open_store(config)
    started: list[bool] = []

    def progress(_line: str, _elapsed: float) -> None:
        if not started:
            started.append(True)
            log("starting the companion server (about 30 s on CPU)…")

    engine = wiring.connect_engine(
        config,
        store,
        progress=progress,
        model_progress=lambda m, i, n: log(f"model setup {i}/{n}: {m}"),
    )
    return engine, store


def ask(
    message: Annotated[str, typer.Argument(help="What to say to the companion.")],
    persona: Annotated[
        str | None, typer.Option("--persona", "-p", help="Persona (default: chat.persona).")
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, max=8, help="How many alternatives.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send one message and print the reply (recorded like any conversation)."""
    from companion import persona as persona_mod

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")

    config = load_config()
    key = persona or config.chat.persona
    with one_line_errors(persona_mod.PersonaError):
        persona_mod.load(key, config.paths)  # a bad persona is a one-line error, before any work
        engine, store = build_engine(config, log=log)

    async def go() -> AskResult:
        try:
            return await ask_once(engine, store, key, message, n)
        finally:
            await engine.client.aclose()

    result = asyncio.run(go())
    code = render(result, as_json=as_json, out=sys.stdout, err=sys.stderr)
    if code:
        raise typer.Exit(code)
