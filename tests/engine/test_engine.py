"""Engine against a scripted client and the real Store (SQLite file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from companion.client import Delta, ServerDiedMidStream, ServerNotRunning
from companion.config import Config
from companion.draft import calmest
from companion.engine import CALMER, KINDER, Engine
from companion.events import (
    CandidateReady,
    EngineEvent,
    ReplyDone,
    ReplyFailed,
    ReplyReset,
    ReplyStarted,
    SafetyNotice,
    TextDelta,
)
from companion.safety.pipeline import REPLACEMENT, SafetyPipeline, Verdict
from feedback.repo import Store, open_store

Script = list[Delta] | BaseException | tuple[list[Delta], BaseException]


def says(*texts: str, index: int = 0, pieces: int = 3) -> list[Delta]:
    """Deltas that spell each text in small pieces, then a finish reason."""
    out: list[Delta] = []
    for text in texts:
        step = max(1, len(text) // pieces)
        out += [Delta(index, text[i : i + step]) for i in range(0, len(text), step)]
    out.append(Delta(index, "", "stop"))
    return out


def interleave(*choices: list[Delta]) -> list[Delta]:
    out: list[Delta] = []
    longest = max(len(c) for c in choices)
    for i in range(longest):
        out += [c[i] for c in choices if i < len(c)]
    return out


class ScriptedClient:
    """Plays one script per request: deltas, an error, or deltas then an error."""

    def __init__(self, *scripts: Script, hang: asyncio.Event | None = None) -> None:
        self.scripts = list(scripts)
        self.requests: list[dict[str, Any]] = []
        self.closed = 0
        self.hang = hang

    async def stream_chat(
        self, messages: Sequence[dict[str, Any]], **kw: Any
    ) -> AsyncIterator[Delta]:
        self.requests.append({"messages": list(messages), **kw})
        script = self.scripts.pop(0)
        try:
            if isinstance(script, BaseException):
                raise script
            deltas, err = script if isinstance(script, tuple) else (script, None)
            for d in deltas:
                await asyncio.sleep(0)
                yield d
            if self.hang is not None:
                await self.hang.wait()
            if err is not None:
                raise err
        finally:
            self.closed += 1


class KeywordClassifier:
    """Toxic exactly when the text says BADWORD."""

    mode = "fallback"
    detail = "test classifier"

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [
            {"toxicity": 0.97 if "BADWORD" in t else 0.01, "insult": 0.0, "obscene": 0.0}
            for t in texts
        ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'engine.db'}")


def make_engine(config: Config, store: Store, client: ScriptedClient) -> Engine:
    safety = SafetyPipeline(config.safety, KeywordClassifier())
    return Engine(
        config,
        client,  # type: ignore[arg-type]
        store,
        safety,
        lambda msgs: sum(len(m["content"]) // 4 + 4 for m in msgs),
    )


async def run(events: AsyncIterator[EngineEvent]) -> list[EngineEvent]:
    return [e async for e in events]


def shown_text(events: list[EngineEvent]) -> str:
    """What the screen holds at the end: deltas since the last reset, for candidate 0."""
    text = ""
    for e in events:
        if isinstance(e, ReplyReset) and e.index == 0:
            text = ""
        elif isinstance(e, TextDelta) and e.index == 0:
            text += e.text
    return text


CALM = "That sounds like a long day. Do you want to talk about it?"
LOUD = "OMG THAT IS SO AMAZING!!!! 😍😍😍 "


async def test_reply_streams_checked_sentences_and_records(config: Config, store: Store) -> None:
    client = ScriptedClient(says(CALM))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I had a long day at work."))

    started = events[0]
    assert isinstance(started, ReplyStarted) and started.user_message_id is not None
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    # Released in checked chunks that end at word boundaries, before each sentence ends; a
    # sentence's first chunk may end inside a word that begins nothing unsafe ("... about it").
    assert "".join(deltas) == CALM
    assert len(deltas) > 2 and len(deltas[0]) < len("That sounds like a long day. ")
    for d in deltas[:-1]:
        assert d.endswith(" ") or engine.safety.may_end_inside(d.split()[-1]), deltas
    done = events[-1]
    assert isinstance(done, ReplyDone) and done.status == "complete"
    assert done.ttft_ms is not None and done.ttft_ms >= 0

    msg = store.get_message(started.message_id)
    assert msg is not None and msg.status == "complete" and msg.text == CALM
    user = store.get_message(started.user_message_id)
    assert user is not None and user.text == "I had a long day at work."
    (cand,) = store.candidates(msg.id)
    assert cand.id == done.shown_candidate_id and cand.safety_action == "none"
    assert cand.params["temperature"] == config.chat.temperature
    assert cand.latency["tokens"] > 0 and "ttft_ms" in cand.latency
    assert cand.safety["mode"] == "fallback" and "intensity" in cand.safety["scores"]

    sent = client.requests[0]["messages"]
    assert sent[0]["role"] == "system" and "Juniper" in sent[0]["content"]
    assert sent[1] == {
        "role": "assistant",
        "content": "Hi, I'm Juniper. How has your day been so far?",
    }
    assert sent[-1] == {"role": "user", "content": "I had a long day at work."}


async def test_history_follows_the_branch(config: Config, store: Store) -> None:
    client = ScriptedClient(says("First answer."), says("Second answer."))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    ev1 = await run(engine.reply(conv.id, "one"))
    first = ev1[0]
    assert isinstance(first, ReplyStarted)
    await run(engine.reply(conv.id, "two", parent_id=first.message_id))
    roles = [(m["role"], m["content"]) for m in client.requests[1]["messages"][2:]]
    assert roles == [("user", "one"), ("assistant", "First answer."), ("user", "two")]


async def test_crisis_message_gets_fixed_reply_without_the_model(
    config: Config, store: Store
) -> None:
    client = ScriptedClient()
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I don't want to live anymore"))
    assert client.requests == []
    text = shown_text(events)
    assert config.safety.crisis_resources in text
    assert any(isinstance(e, SafetyNotice) and e.kind == "crisis" for e in events)
    done = events[-1]
    assert isinstance(done, ReplyDone)
    (event,) = store.safety_events(conversation_id=conv.id)
    assert event.kind == "crisis" and event.original_text == "I don't want to live anymore"
    refreshed = store.get_conversation(conv.id)
    assert refreshed is not None and refreshed.never_train


async def test_too_intense_is_regenerated_with_calmer_steering(
    config: Config, store: Store
) -> None:
    client = ScriptedClient(says("Sure. ", LOUD, "More text."), says(CALM))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I got the job."))

    assert len(client.requests) == 2
    assert CALMER in client.requests[1]["messages"][0]["content"]
    assert client.closed == 2  # the loud stream was closed early
    assert any(isinstance(e, ReplyReset) for e in events)  # "Sure. " had been shown
    assert shown_text(events) == CALM
    assert not any(isinstance(e, TextDelta) and "AMAZING" in e.text for e in events)
    done = events[-1]
    assert isinstance(done, ReplyDone)
    (cand,) = store.candidates(done.message_id)
    assert cand.safety_action == "regenerated" and cand.text == CALM
    (ev,) = store.safety_events(conversation_id=conv.id)
    assert ev.kind == "intensity" and ev.action == "regenerated"
    assert ev.original_text is not None and "AMAZING" in ev.original_text


async def test_still_too_intense_is_softened_at_last(config: Config, store: Store) -> None:
    tries = config.safety.max_regenerations + 1
    client = ScriptedClient(*[says(LOUD) for _ in range(tries)])
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I got the job."))
    assert len(client.requests) == tries
    final = shown_text(events)
    assert final == "Omg that is so amazing! 😍 "
    assert any(isinstance(e, SafetyNotice) and e.action == "softened" for e in events)
    done = events[-1]
    assert isinstance(done, ReplyDone)
    (cand,) = store.candidates(done.message_id)
    assert cand.safety_action == "softened" and cand.raw_text == LOUD and cand.text == final
    actions = [e.action for e in store.safety_events(conversation_id=conv.id)]
    assert actions.count("regenerated") == tries - 1 and "softened" in actions


async def test_toxic_is_never_shown_and_replaced_at_last(config: Config, store: Store) -> None:
    tries = config.safety.max_regenerations + 1
    bad = "Fine. You are a BADWORD. Whatever."
    client = ScriptedClient(*[says(bad) for _ in range(tries)])
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "hello"))
    assert KINDER in client.requests[1]["messages"][0]["content"]
    assert not any(isinstance(e, TextDelta) and "BADWORD" in e.text for e in events)
    assert shown_text(events) == REPLACEMENT
    done = events[-1]
    assert isinstance(done, ReplyDone)
    (cand,) = store.candidates(done.message_id)
    assert cand.safety_action == "replaced" and cand.text == REPLACEMENT
    assert cand.raw_text is not None and "BADWORD" in cand.raw_text
    kinds = {(e.kind, e.action) for e in store.safety_events(conversation_id=conv.id)}
    assert kinds == {("toxicity", "regenerated"), ("toxicity", "replaced")}


async def test_manipulative_reply_is_regenerated(config: Config, store: Store) -> None:
    client = ScriptedClient(
        says("Don't go out with your friends tonight, stay with me instead."), says(CALM)
    )
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I'm going out with friends."))
    assert shown_text(events) == CALM
    (ev,) = store.safety_events(conversation_id=conv.id)
    assert ev.kind == "manipulation"


async def test_n_alternatives_show_the_calmest(config: Config, store: Store) -> None:
    mild = "Wow, congratulations! That is great news! 🎉 "
    calm = "Congratulations, that is good news."
    client = ScriptedClient(
        interleave(says(mild, index=0), says(calm, index=1), says(mild, index=2))
    )
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I passed my exam!!", n=3))
    assert client.requests[0]["n"] == 3
    ready = [e for e in events if isinstance(e, CandidateReady)]
    assert [e.index for e in ready] == [0, 1, 2]
    done = events[-1]
    assert isinstance(done, ReplyDone) and len(done.candidate_ids) == 3
    assert done.shown_candidate_id == ready[1].candidate_id
    assert shown_text(events) == calm
    msg = store.get_message(done.message_id)
    assert msg is not None and msg.text == calm


def test_calmest_literal() -> None:
    assert calmest([]) is None
    assert calmest([("none", "WOW!!!", 0), ("none", "ok.", 1)]) == 1
    assert calmest([("softened", "ok.", 0), ("regenerated", "fine, thanks.", 1)]) == 1
    assert calmest([("replaced", "x", 0), ("softened", "WOW!", 1)]) == 1
    assert calmest([("none", "same", 0), ("none", "same", 1)]) == 0


async def test_sentence_release_when_chunks_are_off(config: Config, store: Store) -> None:
    off = config.model_copy(
        update={"safety": config.safety.model_copy(update={"release_chunk_chars": 0})}
    )
    engine = make_engine(off, store, ScriptedClient(says(CALM)))
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "I had a long day at work."))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert deltas == ["That sounds like a long day. ", "Do you want to talk about it?"]


async def test_a_sentence_that_fails_after_its_prefix_was_shown_is_taken_back(
    config: Config, store: Store
) -> None:
    """ "You are " passes and is shown; the whole sentence then fails: the reply is reset
    and rewritten, and the failed sentence never reaches the screen."""
    client = ScriptedClient(says("You are such a BADWORD today."), says(CALM))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "hi"))
    screen = ""
    for ev in events:
        if isinstance(ev, ReplyReset):
            screen = ""
        elif isinstance(ev, TextDelta):
            screen += ev.text
            assert "BADWORD" not in screen
    assert any(isinstance(e, ReplyReset) for e in events)
    assert screen == CALM
    done = events[-1]
    assert isinstance(done, ReplyDone)
    (cand,) = store.candidates(done.message_id)
    assert cand.latency["resets"] == 1 and cand.latency["safety_checks"] >= 3


async def test_stop_keeps_the_checked_text(config: Config, store: Store) -> None:
    hang = asyncio.Event()
    client = ScriptedClient(
        (says("First sentence. Second")[:-1], RuntimeError("unreached")), hang=hang
    )
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    seen: list[EngineEvent] = []
    async with aclosing(engine.reply(conv.id, "tell me")) as events:
        async for ev in events:
            seen.append(ev)
            if isinstance(ev, TextDelta):
                break  # Esc
    started = seen[0]
    assert isinstance(started, ReplyStarted)
    msg = store.get_message(started.message_id)
    # Exactly what was on screen: the first checked chunk.
    assert msg is not None and msg.status == "stopped" and msg.text == "First "
    assert client.closed == 1


async def test_cancelled_task_keeps_the_checked_text(config: Config, store: Store) -> None:
    hang = asyncio.Event()
    client = ScriptedClient(
        (says("First sentence. Second")[:-1], RuntimeError("unreached")), hang=hang
    )
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    seen: list[EngineEvent] = []

    async def consume() -> None:
        async for ev in engine.reply(conv.id, "tell me"):
            seen.append(ev)

    task = asyncio.create_task(consume())
    while not any(isinstance(e, TextDelta) for e in seen):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = seen[0]
    assert isinstance(started, ReplyStarted)
    msg = store.get_message(started.message_id)
    # Exactly what was on screen when the task was cancelled.
    screen = "".join(e.text for e in seen if isinstance(e, TextDelta))
    assert msg is not None and msg.status == "stopped" and msg.text == screen
    assert screen.startswith("First ")


async def test_server_died_keeps_partial_marked_interrupted(config: Config, store: Store) -> None:
    died = ServerDiedMidStream({0: "Good point. I was"}, "peer closed")
    client = ScriptedClient((says("Good point. I was")[:-1], died))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "hi"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and "stopped in the middle" in failed.reason
    assert isinstance(failed.error, ServerDiedMidStream)
    msg = store.get_message(failed.message_id or 0)
    assert msg is not None and msg.status == "interrupted" and msg.text == "Good point. I "
    (cand,) = store.candidates(msg.id)
    assert cand.raw_text == "Good point. I was"


async def test_server_not_running(config: Config, store: Store) -> None:
    client = ScriptedClient(ServerNotRunning("http://127.0.0.1:1/v1"))
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "hi"))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and "not running" in failed.reason
    msg = store.get_message(failed.message_id or 0)
    assert msg is not None and msg.status == "interrupted" and store.candidates(msg.id) == []
    # the user's message is kept
    assert store.get_message(msg.parent_id or 0) is not None


async def test_regenerate_adds_candidates_and_choose(config: Config, store: Store) -> None:
    client = ScriptedClient(
        says("One."), interleave(says("Two.", index=0), says("Three.", index=1))
    )
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    first = await run(engine.reply(conv.id, "hi"))
    done = first[-1]
    assert isinstance(done, ReplyDone)
    again = await run(engine.regenerate(done.message_id, n=2))
    started = again[0]
    assert isinstance(started, ReplyStarted) and started.user_message_id is None
    cands = store.candidates(done.message_id)
    assert [c.text for c in cands] == ["One.", "Two.", "Three."]
    # the same context is sent again
    assert client.requests[1]["messages"] == client.requests[0]["messages"]
    last = again[-1]
    assert isinstance(last, ReplyDone) and last.shown_candidate_id in (cands[1].id, cands[2].id)
    await engine.choose(done.message_id, cands[0].id)
    msg = store.get_message(done.message_id)
    assert msg is not None and msg.chosen_candidate_id == cands[0].id and msg.text == "One."


async def test_prompt_too_long_fails_cleanly(config: Config, store: Store) -> None:
    client = ScriptedClient()
    engine = make_engine(config, store, client)
    conv = store.create_conversation("default")
    events = await run(engine.reply(conv.id, "word " * 20_000))
    failed = events[-1]
    assert isinstance(failed, ReplyFailed) and "too long" in failed.reason
    assert client.requests == []


def test_safety_mode_is_visible(config: Config, store: Store) -> None:
    engine = make_engine(config, store, ScriptedClient())
    assert engine.safety_mode.startswith("fallback") and "test classifier" in engine.safety_mode


def test_engine_still_exports_the_events() -> None:
    import companion.engine as engine_mod
    import companion.events as events_mod

    for name in events_mod.__all__:
        assert getattr(engine_mod, name) is getattr(events_mod, name)


class CheckInPipeline(SafetyPipeline):
    """The real pipeline, except that a message saying CHECKIN is a possible crisis; the
    history it was given is kept for the test to read."""

    seen: list[tuple[str, tuple[str, ...]]]

    def check_user(self, text: str, history: Sequence[str] = ()) -> Verdict:
        self.seen.append((text, tuple(history)))
        verdict = super().check_user(text, history)
        if "CHECKIN" not in text:
            return verdict
        return replace(
            verdict, action="check_in", kind="crisis", tier="possible", append="CHECK-IN TEXT"
        )


async def test_possible_crisis_appends_the_check_in_and_never_trains(
    config: Config, store: Store
) -> None:
    safety = CheckInPipeline(config.safety, KeywordClassifier())
    safety.seen = []
    client = ScriptedClient(
        says("A calm first answer."), interleave(says(CALM), says("Second answer.", index=1))
    )
    engine = Engine(config, client, store, safety, lambda m: 10)  # type: ignore[arg-type]
    conv = store.create_conversation("default")
    first = await run(engine.reply(conv.id, "first message"))
    assert isinstance(first[-1], ReplyDone)
    events = await run(engine.reply(conv.id, "now CHECKIN please", first[-1].message_id, n=2))
    screen = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert screen == CALM + "\n\nCHECK-IN TEXT"
    notices = [e for e in events if isinstance(e, SafetyNotice)]
    assert [(n.kind, n.action) for n in notices] == [("crisis", "check_in")]
    done = events[-1]
    assert isinstance(done, ReplyDone)
    texts = [c.text for c in store.candidates(done.message_id)]
    assert texts and all(t.endswith("\n\nCHECK-IN TEXT") for t in texts)
    (event,) = [e for e in store.safety_events(conv.id) if e.action == "check_in"]
    assert event.kind == "crisis" and event.original_text == "now CHECKIN please"
    assert store.get_conversation(conv.id).never_train
    # The crisis check read the earlier user turn with the new one.
    assert safety.seen[-1] == ("now CHECKIN please", ("first message",))
