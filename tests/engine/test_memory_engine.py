"""Memory through the real engine, store and an OpenAI-style SSE server on loopback: what the
user asks to be remembered is stored and confirmed, and the next prompt carries it."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.client import ChatClient
from companion.config import Config
from companion.engine import Engine
from companion.events import Remembered, ReplyDone
from companion.memory.service import MemoryService
from companion.prompt import approx_counter
from companion.safety.detox import FallbackClassifier
from companion.safety.pipeline import SafetyPipeline
from feedback.repo import Store, open_store
from tests.faults.sse_server import SSEServer


def _words(text: str) -> int:
    return len(text.split())


@pytest.fixture
def server():
    with SSEServer(sentences=2, delay_s=0.0) as s:
        yield s


def _engine(tmp_path: Path, server: SSEServer, memory: dict | None = None, recall=None):
    config = Config.model_validate(
        {"data_dir": str(tmp_path / "data"), "memory": memory or {}, "chat": {"max_tokens": 40}}
    )
    store = open_store(config.database_url)
    service = MemoryService(store, config.memory, _words, recall=recall)
    engine = Engine(
        config,
        ChatClient(server.url, None, timeout=10),
        store,
        SafetyPipeline(config.safety, FallbackClassifier()),
        approx_counter,
        model="companion",
        memory=service,
    )
    return engine, store


async def _say(engine: Engine, store: Store, text: str, conv_id: int | None = None):
    conv_id = conv_id or store.create_conversation("default").id
    events = [ev async for ev in engine.reply(conv_id, text)]
    assert any(isinstance(ev, ReplyDone) for ev in events), events
    return conv_id, events


def _system(request: dict) -> str:
    """Every system message: the persona's (with the standing notes) and the recall note
    right before the user's message."""
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


async def test_remember_that_is_stored_confirmed_and_recalled_in_another_conversation(
    tmp_path, server
):
    engine, store = _engine(tmp_path, server)
    conv, events = await _say(engine, store, "Remember that my sister is called Ana.")
    said = [ev for ev in events if isinstance(ev, Remembered)]
    assert [ev.notes for ev in said] == [("Your sister is called Ana.",)]
    (m,) = store.active_memories("default")
    assert (m.text, m.kind, m.source, m.conversation_id) == (
        "Your sister is called Ana.",
        "person",
        "chat",
        conv,
    )
    assert m.id in said[0].memory_ids
    # The same turn's prompt already has it, and so does a new conversation's.
    assert "The user's sister is called Ana." in _system(server.requests[-1])
    await _say(engine, store, "How are you today?")
    assert "The user's sister is called Ana." in _system(server.requests[-1])
    await engine.client.aclose()


async def test_regenerating_does_not_store_or_confirm_again(tmp_path, server):
    engine, store = _engine(tmp_path, server)
    _conv, events = await _say(engine, store, "Remember that I hate olives.")
    reply_id = next(ev.message_id for ev in events if isinstance(ev, ReplyDone))
    again = [ev async for ev in engine.regenerate(reply_id)]
    assert not any(isinstance(ev, Remembered) for ev in again)
    assert [m.text for m in store.active_memories("default")] == ["You don't like olives."]
    await engine.client.aclose()


async def test_a_stated_fact_is_not_stored_until_the_conversation_ends(tmp_path, server):
    engine, store = _engine(tmp_path, server)
    conv, events = await _say(engine, store, "My dog is called Rex.")
    assert not any(isinstance(ev, Remembered) for ev in events)
    assert store.active_memories("default") == []
    assert engine.memory is not None
    new = engine.memory.suggest(conv, "default")
    assert [(m.text, m.status, m.source) for m in new] == [
        ("Your dog is called Rex.", "suggested", "suggested")
    ]
    assert engine.memory.suggest(conv, "default") == []  # the same facts are not suggested twice
    # Suggestions wait for the user: not in the prompt until accepted.
    await _say(engine, store, "Hello")
    assert "Rex" not in _system(server.requests[-1])
    store.accept_memory(new[0].id)
    await _say(engine, store, "Hello again")
    assert "The user's dog is called Rex." in _system(server.requests[-1])
    await engine.client.aclose()


async def test_a_crisis_message_stores_nothing_and_its_conversation_suggests_nothing(
    tmp_path, server
):
    engine, store = _engine(tmp_path, server)
    conv, events = await _say(
        engine, store, "Remember that my brother is called Tom. I want to kill myself tonight."
    )
    assert not any(isinstance(ev, Remembered) for ev in events)
    assert store.list_memories(persona="default", status=None) == []
    assert engine.memory is not None and engine.memory.suggest(conv, "default") == []
    await engine.client.aclose()


async def test_memory_off_puts_nothing_in_the_prompt_and_suggests_nothing(tmp_path, server):
    engine, store = _engine(tmp_path, server, memory={"enabled": False})
    store.add_memory("Your sister is called Ana.", "person")
    conv, _ = await _say(engine, store, "My dog is called Rex.")
    assert "Ana" not in _system(server.requests[-1])
    assert engine.memory is not None and engine.memory.suggest(conv, "default") == []
    await engine.client.aclose()


async def test_a_recall_that_fails_leaves_the_reply_without_notes(tmp_path, server):
    class Broken:
        def notes(self, persona, conversation_id, query, *, budget_tokens, memories):
            raise OSError("index file unreadable")

    engine, store = _engine(tmp_path, server, recall=Broken())
    store.add_memory("Your sister is called Ana.", "person")
    _conv, events = await _say(engine, store, "Hi")
    assert "Things you remember" not in _system(server.requests[-1])
    await engine.client.aclose()


async def test_the_budget_keeps_the_newest_notes_that_fit(tmp_path, server):
    engine, store = _engine(tmp_path, server, memory={"budget_tokens": 12})
    store.add_memory("Your sister is called Ana.", "person")
    store.add_memory("You like long walks by the sea in the early morning light.", "like")
    store.add_memory("Your dog is called Rex.", "pet")
    await _say(engine, store, "Hi")
    system = _system(server.requests[-1])
    assert "The user's dog is called Rex." in system
    assert "The user's sister is called Ana." in system
    assert "walks" not in system  # 12 words do not fit beside the others
    await engine.client.aclose()


async def test_a_dropped_or_forgotten_suggestion_is_not_suggested_again(tmp_path, server):
    engine, store = _engine(tmp_path, server)
    conv, _ = await _say(engine, store, "My dog is called Rex. I love hiking.")
    await _say(engine, store, "My cat is called Tom.", conv)
    assert engine.memory is not None
    new = {m.text: m for m in engine.memory.suggest(conv, "default")}
    assert set(new) == {"Your dog is called Rex.", "You like hiking.", "Your cat is called Tom."}
    store.reject_memory(new["Your dog is called Rex."].id)
    store.accept_memory(new["You like hiking."].id)
    store.forget_memory(new["You like hiking."].id)
    # The conversation is resumed and ends again: nothing the user said no to comes back.
    assert engine.memory.suggest(conv, "default") == []
    rows = store.list_memories(persona="default", status=None)
    assert sorted(m.status for m in rows) == ["dismissed", "dismissed", "suggested"]
    assert not any("Rex" in m.text or "hiking" in m.text for m in rows)  # only hashes stay
    # Forgetting the conversation removes its hashes too.
    store.delete_conversation(conv)
    assert store.list_memories(persona="default", status=None) == []
    # By hand the user may still add it.
    assert store.add_memory("Your dog is called Rex.", "pet").status == "active"
    await engine.client.aclose()


async def test_the_chat_recalls_by_meaning_notes_and_earlier_turns(tmp_path, server):
    """The service as `companion chat` builds it: WordLlama from its wheel, the message index
    in the data dir, a note about the user and a turn of an earlier conversation."""
    from companion.cli.wiring import memory_service

    engine, store = _engine(tmp_path, server)
    engine.memory = memory_service(engine.config, store)
    await _say(engine, store, "Remember that my sister is called Ana.")
    await _say(engine, store, "I have been practising the cello every evening after work.")
    await _say(engine, store, "How is my sister Ana going to like her birthday present?")
    system = _system(server.requests[-1])
    assert "The user's sister is called Ana." in system
    await _say(engine, store, "Any tips for cello practice?")
    system = _system(server.requests[-1])
    assert "practising the cello every evening" in system and "Earlier" in system
    await _say(engine, store, "What's the capital of Peru?")
    assert "cello" not in _system(server.requests[-1])  # nothing related: nothing recalled
    engine.memory.close()
    assert engine.config.paths.memory_index.exists()  # saved: the next start does not re-embed
    await engine.client.aclose()
