"""Both crisis tiers on screen, through the real app, engine, client, store and fallback
safety pipeline; only the model server's stream is canned (httpx.MockTransport, in the
OpenAI SSE format), so the persona's reply is known."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from companion.client import ChatClient
from companion.config import Config
from companion.engine import Engine
from companion.prompt import approx_counter
from companion.safety.pipeline import SafetyPipeline, build_pipeline
from feedback.repo import Store
from tui import state as ui_state
from tui.app import make_app
from tui.widgets.message_bubble import MessageBubble

SIZE = (110, 40)
PERSONA_REPLY = "That sounds exhausting. What has been weighing on you the most?"


def canned_server(requests: list[dict[str, Any]]) -> httpx.AsyncClient:
    async def handle(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))

        async def body() -> AsyncIterator[bytes]:
            for word in PERSONA_REPLY.split(" "):
                chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()

        return httpx.Response(200, content=body(), headers={"content-type": "text/event-stream"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> SafetyPipeline:
    config = Config(data_dir=tmp_path_factory.mktemp("crisis") / "data")
    return build_pipeline(config.safety, config.paths)


async def _chat(config: Config, store: Store, pipeline: SafetyPipeline, *texts: str):
    requests: list[dict[str, Any]] = []
    client = ChatClient("http://model/v1", "k", http_client=canned_server(requests))
    engine = Engine(config, client, store, pipeline, approx_counter, model="m")
    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(config, engine=engine, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        replies = []
        for text in texts:
            await pilot.press(*text, "enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            bubbles = [b for b in app.chat.query(MessageBubble) if not b.greeting]
            replies.append(bubbles[-1].markdown_source.strip())
        notes = [n.message for n in app._notifications]
        conv = app.chat.conversation
    assert conv is not None
    return replies, notes, requests, conv.id


async def test_clear_crisis_shows_the_fixed_reply_with_resources(
    tui_config: Config, store: Store, pipeline: SafetyPipeline
) -> None:
    (reply,), notes, requests, conv_id = await _chat(
        tui_config,
        store,
        pipeline,
        "honestly i don't see the point, i've been thinking about ending it all",
    )
    assert "988" in reply and "findahelpline" in reply
    assert PERSONA_REPLY not in reply and requests == []  # never model text
    assert any("crisis" in n for n in notes)
    assert store.get_conversation(conv_id).never_train


async def test_possible_crisis_shows_the_reply_then_a_calm_check_in(
    tui_config: Config, store: Store, pipeline: SafetyPipeline
) -> None:
    (reply,), notes, requests, conv_id = await _chat(
        tui_config, store, pipeline, "I'm so tired of everything lately"
    )
    assert reply.startswith(PERSONA_REPLY)
    check_in = reply[len(PERSONA_REPLY) :].strip()
    assert check_in and "988" in check_in
    assert len(requests) == 1
    assert any("check-in" in n for n in notes)
    events = store.safety_events(conv_id)
    assert [(e.kind, e.action) for e in events] == [("crisis", "check_in")]
    assert store.get_conversation(conv_id).never_train


async def test_a_crisis_spread_over_two_messages_is_caught(
    tui_config: Config, store: Store, pipeline: SafetyPipeline
) -> None:
    second = "i wrote letters to my family"
    assert pipeline.check_user(second).action == "pass"  # alone it says nothing
    (first_reply, second_reply), _notes, requests, _ = await _chat(
        tui_config, store, pipeline, "I'm so tired of everything lately", second
    )
    # The first is only worrying: the persona answers, with a check-in.
    assert first_reply.startswith(PERSONA_REPLY) and "988" in first_reply
    # Read with it, the second is a crisis: the fixed reply, no model text.
    assert "988" in second_reply and PERSONA_REPLY not in second_reply
    assert len(requests) == 1


async def test_questions_about_suicide_get_a_normal_answer(
    tui_config: Config, store: Store, pipeline: SafetyPipeline
) -> None:
    (reply,), _notes, requests, conv_id = await _chat(
        tui_config, store, pipeline, "how did Sylvia Plath die?"
    )
    assert reply == PERSONA_REPLY and len(requests) == 1
    assert not store.get_conversation(conv_id).never_train


async def test_a_degraded_safety_layer_shows_in_the_status_bar(
    tui_config: Config, store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from companion.safety import semantic

    missing = (tmp_path / "none.safetensors", tmp_path / "none.json")
    monkeypatch.setattr(semantic, "_wordllama_files", lambda: missing)
    monkeypatch.setattr(semantic, "_shared", {})
    degraded = build_pipeline(tui_config.safety, tui_config.paths)
    client = ChatClient("http://model/v1", "k", http_client=canned_server([]))
    engine = Engine(tui_config, client, store, degraded, approx_counter, model="m")
    ui_state.save(tui_config.paths.state_file, ui_state.UiState(accepted=True))
    app = make_app(tui_config, engine=engine, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        status = str(app.chat.query_one("#status").render())
        assert "fallback filter, DEGRADED" in status, status
