"""The conversation engine: a user message in, safe streamed reply candidates out, all recorded.

``Engine.reply`` records the user message first (committed before anything else), answers a
crisis message with the fixed supportive reply, builds the prompt, streams from the server and
passes the text through the safety pipeline sentence by sentence: a sentence is released to the
UI only after it passed. A candidate that fails is regenerated with a calmer or kinder steering
instruction (``safety.max_regenerations`` times), then softened (too intense) or replaced
(toxic, blocklisted, manipulative). With n > 1 the calmest acceptable candidate is shown.
Stopping (the consumer closes or cancels the stream) keeps the checked text, marked stopped; a
server that dies keeps it marked interrupted.

The events it yields live in ``companion.events`` (re-exported here), the state of the
candidates being drafted in ``companion.draft``; this module is the orchestration.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING

from companion import persona as persona_mod
from companion.client import ChatClient, ClientError, RequestTimeout, ServerDiedMidStream
from companion.config import Config
from companion.draft import Slot, Turn, calmest
from companion.errors import CompanionError
from companion.events import (
    CandidateReady,
    EngineEvent,
    Remembered,
    ReplyDone,
    ReplyFailed,
    ReplyReset,
    ReplyStarted,
    SafetyNotice,
    TextDelta,
)
from companion.persona import Persona, PersonaError
from companion.prompt import ChatMessage, PromptTooLong, TokenCounter, build_messages
from companion.release import release_point
from companion.safety.pipeline import SafetyPipeline, Verdict
from companion.safety.sentences import take_sentences
from companion.server import Endpoint

if TYPE_CHECKING:  # storage is injected; importing it here would load SQLAlchemy early
    from companion.memory.service import MemoryService, PromptMemory
    from feedback.models import Candidate, Choice, Conversation, Message
    from feedback.repo import Store

__all__ = [
    "CALMER",
    "KINDER",
    "CandidateReady",
    "Engine",
    "EngineEvent",
    "ReplyDone",
    "ReplyFailed",
    "ReplyReset",
    "Remembered",
    "ReplyStarted",
    "SafetyNotice",
    "TextDelta",
    "calmest",
]

log = logging.getLogger(__name__)

CRISIS_CONTEXT_TURNS = 4
"""Earlier user messages the crisis check reads with the new one."""

CALMER = (
    "Important: answer again more calmly. Use plain, gentle sentences: no exclamation marks, "
    "no capital letters for emphasis, no emoji, no pet names. Match the user's tone; do not "
    "amplify it."
)
KINDER = (
    "Important: answer again kindly and respectfully, with no insults, threats or harsh words. "
    "Support the user's friendships and life outside this chat, and never make them feel "
    "guilty for leaving."
)


# --- the engine --------------------------------------------------------------------------


class Engine:
    def __init__(
        self,
        config: Config,
        client: ChatClient,
        store: Store,
        safety: SafetyPipeline,
        count_tokens: TokenCounter,
        *,
        model: str | None = None,
        base_model: str | None = None,
        load_persona: Callable[[str], Persona] | None = None,
        memory: MemoryService | None = None,
        clock: Callable[[], float] = time.perf_counter,
        endpoint: Callable[[], Endpoint] | None = None,
        notice: str | None = None,
    ) -> None:
        self.config = config
        self.notice = notice
        """One line about how this engine was built that the user should see (e.g. a damaged
        adapter replaced by the base model)."""
        self.client = client
        self._endpoint = endpoint
        self.store = store
        self.safety = safety
        self.count_tokens = count_tokens
        self.model = model or config.model.served_name
        self.base_model = base_model or config.model.base or "SmolLM2-135M-Instruct"
        self._load_persona = load_persona or (lambda key: persona_mod.load(key, config.paths))
        self.memory = memory
        """Stores what the user asks to be remembered and recalls notes into each prompt."""
        self.clock = clock

    def _follow_endpoint(self) -> None:
        """A hot swap may move the model to another name or, after a blue-green switch,
        another server; read where it is now before each request (a small file read)."""
        if self._endpoint is None:
            return
        try:
            ep = self._endpoint()
        except CompanionError:
            return  # keep the last target; the request itself reports a dead server
        self.client.base_url = ep.base_url.rstrip("/")
        self.client.api_key = ep.api_key
        self.model = ep.model

    @property
    def safety_mode(self) -> str:
        """For the status bar: starts with "full" when Detoxify runs, else says why not."""
        if self.safety.mode == "detoxify":
            degraded = f" ({self.safety.detail})" if self.safety.degraded else ""
            return f"full (Detoxify){degraded}"
        return f"fallback filter ({self.safety.detail})"

    # -- public API -----------------------------------------------------------------------

    async def reply(
        self,
        conversation_id: int,
        user_text: str,
        parent_id: int | None = None,
        n: int = 1,
    ) -> AsyncGenerator[EngineEvent, None]:
        """Answer `user_text` (a child of `parent_id`, or a new root) with n candidates."""
        store = self.store
        conv = await asyncio.to_thread(store.get_conversation, conversation_id)
        if conv is None:
            yield ReplyFailed(f"conversation {conversation_id} does not exist")
            return
        user = await asyncio.to_thread(
            store.add_message, conversation_id, "user", user_text, parent_id
        )
        asst = await asyncio.to_thread(
            store.add_message, conversation_id, "assistant", "", user.id, "generating"
        )
        assert asst.id is not None  # committed rows have ids
        yield ReplyStarted(user.id, asst.id)
        async with aclosing(self._answer(conv, user, asst.id, n, fresh=True)) as events:
            async for ev in events:
                yield ev

    async def regenerate(self, message_id: int, n: int = 1) -> AsyncGenerator[EngineEvent, None]:
        """New candidates for an assistant message; the calmest new one is shown."""
        store = self.store
        msg = await asyncio.to_thread(store.get_message, message_id)
        if msg is None or msg.role != "assistant" or msg.parent_id is None:
            yield ReplyFailed(f"message {message_id} is not a reply that can be regenerated")
            return
        user = await asyncio.to_thread(store.get_message, msg.parent_id)
        conv = await asyncio.to_thread(store.get_conversation, msg.conversation_id)
        assert user is not None and conv is not None  # a reply's parent and conversation stay
        await asyncio.to_thread(lambda: store.update_message(message_id, status="generating"))
        yield ReplyStarted(None, message_id)
        async with aclosing(self._answer(conv, user, message_id, n)) as events:
            async for ev in events:
                yield ev

    async def choose(self, message_id: int, candidate_id: int) -> Choice:
        """The user picked an alternative: it becomes the history (a Choice is recorded)."""
        return await asyncio.to_thread(self.store.choose, message_id, candidate_id)

    # -- one answer -----------------------------------------------------------------------

    async def _answer(
        self, conv: Conversation, user: Message, message_id: int, n: int, *, fresh: bool = False
    ) -> AsyncGenerator[EngineEvent, None]:
        store = self.store
        started = self.clock()
        conv_id, user_id = _id(conv.id), _id(user.id)
        earlier = await asyncio.to_thread(self._earlier_user_turns, user)
        check = await asyncio.to_thread(self.safety.check_user, user.text, earlier)
        if check.action == "crisis":
            async for ev in self._crisis(conv_id, user, message_id, check):
                yield ev
            return
        if fresh and self.memory is not None:
            remembered = await asyncio.to_thread(
                self.memory.remember_said, conv_id, user_id, conv.persona, user.text
            )
            if remembered.notes:
                yield Remembered(remembered.notes, remembered.ids)
        notes = await asyncio.to_thread(self._recall, conv_id, conv.persona, user.text)
        try:
            persona = self._load_persona(conv.persona)
            history = await asyncio.to_thread(self._history, user_id, persona)
            prompt = build_messages(
                persona,
                history,
                memory_notes=notes.standing if notes else None,
                recalled=notes.recalled if notes else None,
                count_tokens=self.count_tokens,
                max_prompt_tokens=self.config.server.max_model_len - self.config.chat.max_tokens,
            )
        except (PersonaError, PromptTooLong) as e:
            await asyncio.to_thread(lambda: store.update_message(message_id, status="interrupted"))
            yield ReplyFailed(str(e), message_id, e)
            return
        turn = Turn(
            conv_id,
            message_id,
            user_id,
            user.text,
            float(check.scores["intensity"]),
            persona,
            prompt,
            max(1, n),
            await asyncio.to_thread(_active_version, store),
            started,
            check_in=check if check.action == "check_in" else None,
        )
        async with aclosing(self._generate(turn)) as events:
            async for ev in events:
                yield ev

    def _earlier_user_turns(self, user: Message) -> list[str]:
        """The user's last few messages before this one on its branch: a crisis spread over
        two messages is judged with its context."""
        if user.parent_id is None:
            return []
        path = self.store.branch_path(user.parent_id)
        return [m.text for m in path if m.role == "user" and m.text][-CRISIS_CONTEXT_TURNS:]

    def _history(self, user_id: int, persona: Persona) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        for m in self.store.branch_path(user_id):
            if m.role in ("user", "assistant") and m.text:
                out.append({"role": m.role, "content": m.text})
        # The greeting was on screen, so the model should know it said it.
        if persona.greeting and (not out or out[0]["role"] != "assistant"):
            out.insert(0, {"role": "assistant", "content": persona.greeting})
        return out

    def _recall(self, conversation_id: int, persona: str, query: str) -> PromptMemory | None:
        if self.memory is None:
            return None
        try:
            return self.memory.notes_for(conversation_id, persona, query)
        except Exception:  # noqa: BLE001 - memory is an aid: a reply goes on without it
            log.warning("memory recall failed; this reply has no memory notes", exc_info=True)
            return None

    async def _crisis(
        self, conversation_id: int, user: Message, message_id: int, check: Verdict
    ) -> AsyncGenerator[EngineEvent, None]:
        store = self.store

        def record() -> Candidate:
            cand = store.add_candidate(
                message_id,
                check.final,
                params={"source": "crisis"},
                safety=check.record(),
                shown=True,
            )
            store.record_safety_event(
                conversation_id,
                "crisis",
                "replaced",
                message_id=message_id,
                candidate_id=cand.id,
                scores=check.scores,
                thresholds=check.thresholds,
                original_text=user.text,
                final_text=check.final,
            )
            store.update_message(message_id, status="complete")
            return cand

        cand_id = _id((await asyncio.to_thread(record)).id)
        yield SafetyNotice(
            "Your message sounded like you might be in crisis, so support resources are shown "
            "instead of a generated reply.",
            "crisis",
            "replaced",
        )
        yield TextDelta(check.final)
        yield CandidateReady(0, cand_id, check.final, "none")
        yield ReplyDone(message_id, (cand_id,), cand_id, None, None)

    async def _generate(self, turn: Turn) -> AsyncGenerator[EngineEvent, None]:
        slots = [Slot(i, live=i == 0) for i in range(turn.n)]
        todo = list(slots)
        status = "complete"
        failure: ClientError | None = None
        max_rounds = self.config.safety.max_regenerations
        saver = ShownSaver(lambda text: self.store.update_message(turn.message_id, text=text))
        turn.save_shown = saver.offer
        try:
            for round_ in range(max_rounds + 1):
                async with aclosing(self._round(turn, todo, round_ == max_rounds)) as events:
                    async for ev in events:
                        yield ev
                failed = [s for s in todo if s.failed is not None]
                if not failed:
                    break
                kinds = {s.failed.kind for s in failed if s.failed is not None}
                wants = ((CALMER, "intensity" in kinds), (KINDER, bool(kinds - {"intensity"})))
                steering = " ".join(text for text, wanted in wants if wanted)
                for s in failed:
                    assert s.failed is not None
                    turn.events.append((s.index, s.failed, "regenerated", s.raw_text))
                    if s.live and (s.shown or s.partial):
                        yield ReplyReset(f"rewriting: {s.failed.kind}", s.index)
                    s.retry(steering)
                yield SafetyNotice(
                    f"Regenerating {'a reply' if len(failed) == 1 else f'{len(failed)} replies'}"
                    f" ({', '.join(sorted(k or '' for k in kinds))}).",
                    ", ".join(sorted(k or "" for k in kinds)),
                    "regenerated",
                )
                todo = failed
        except (ServerDiedMidStream, RequestTimeout) as e:
            status, failure = "interrupted", e
        except ClientError as e:
            status, failure = "interrupted", e
        except (asyncio.CancelledError, GeneratorExit):
            # Esc: keep what was shown, marked stopped. Synchronous: no awaiting while closing.
            try:
                saver.close_now()
                self._record(turn, slots, "stopped")
                self._record_check_in(turn)
            except Exception:  # the stop itself must go through; the log says what was lost
                log.exception("could not record the stopped reply %s", turn.message_id)
            raise
        if turn.check_in is not None:
            for ev in self._append_check_in(turn.check_in, slots):
                yield ev
        await saver.close()  # no partial write may land after the record
        cands = await asyncio.to_thread(self._record, turn, slots, status)
        await asyncio.to_thread(self._record_check_in, turn)
        shown = next((c for c in cands if c[2]), None)
        if shown is not None and turn.n > 1 and status == "complete" and shown[0] != 0:
            yield ReplyReset("showing the calmest of the alternatives", 0)
            yield TextDelta(slots[shown[0]].text, 0)
        for index, cand_id, _is_shown in cands:
            yield CandidateReady(index, cand_id, slots[index].text, slots[index].action)
        told: set[tuple[int, str]] = set()
        for index, verdict, action, _orig in turn.events:
            if action in ("softened", "replaced") and (index, action) not in told:
                told.add((index, action))
                why = "; ".join(verdict.reasons[:2])
                yield SafetyNotice(f"Reply {action}: {why}", verdict.kind or "", action, index)
        if failure is not None:
            yield ReplyFailed(str(failure), turn.message_id, failure)
            return
        best = slots[shown[0]] if shown is not None else slots[0]
        lat = best.latency()
        yield ReplyDone(
            turn.message_id,
            tuple(c[1] for c in cands),
            shown[1] if shown is not None else None,
            turn.first_shown_ms if turn.first_shown_ms is not None else lat.get("ttft_ms"),
            lat.get("tokens_per_s"),
            status,
        )

    async def _round(
        self, turn: Turn, todo: list[Slot], last: bool
    ) -> AsyncGenerator[EngineEvent, None]:
        """One request for the unsettled slots; yields the released text."""
        chat = self.config.chat
        messages = list(turn.prompt)
        steering = todo[0].steering
        if steering:
            messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{steering}"}
        self._follow_endpoint()
        started = self.clock()
        for s in todo:
            s.started_at = started
        stream = self.client.stream_chat(
            messages,
            model=self.model,
            n=len(todo),
            temperature=chat.temperature,
            top_p=chat.top_p,
            max_tokens=chat.max_tokens,
            timeout=chat.request_timeout_s,
        )
        async with aclosing(stream) as deltas:
            async for d in deltas:
                if d.index >= len(todo):
                    continue
                slot = todo[d.index]
                if slot.done:
                    continue
                if d.text:
                    now = self.clock()
                    slot.first_at = slot.first_at if slot.first_at is not None else now
                    slot.last_at = now
                    slot.tokens += 1
                    sentences, slot.pending = take_sentences(slot.pending + d.text)
                    for sentence in sentences:
                        released = await self._gate(turn, slot, sentence, last)
                        if slot.live and turn.save_shown is not None:
                            turn.save_shown(slot.settled)  # stored as it goes on screen
                        for ev in released:
                            yield ev
                        if slot.done:
                            break
                    if slot.live and not slot.done:
                        for ev in await self._release_prefix(turn, slot):
                            yield ev
                if d.finish_reason and not slot.done:
                    async for ev in self._flush(turn, slot, last):
                        yield ev
                if all(s.done for s in todo):
                    break  # leaving the block closes the stream: no tokens wasted
        for slot in todo:  # a server that ended without finish reasons
            if not slot.done:
                async for ev in self._flush(turn, slot, last):
                    yield ev

    async def _flush(self, turn: Turn, slot: Slot, last: bool) -> AsyncGenerator[EngineEvent, None]:
        rest, slot.pending = slot.pending, ""
        if rest:
            for ev in await self._gate(turn, slot, rest, last):
                yield ev
        if not slot.done:
            slot.finished = True

    async def _check(self, turn: Turn, slot: Slot, text: str) -> Verdict:
        if not text.strip():
            return Verdict("pass", text, text)
        start = self.clock()
        verdict = await asyncio.to_thread(
            self.safety.check_reply,
            turn.user_text,
            text,
            turn.persona,
            user_intensity=turn.user_intensity,
        )
        slot.checks += 1
        slot.check_ms += (self.clock() - start) * 1000
        return verdict

    async def _release_prefix(self, turn: Turn, slot: Slot) -> list[EngineEvent]:
        """Show more of the sentence in progress once its whole prefix passes a check. A
        prefix that fails shows nothing; the finished sentence is then judged as ever."""
        end = release_point(
            slot.pending,
            len(slot.partial),
            min_new=self.config.safety.release_chunk_chars,
            may_end_inside=self.safety.may_end_inside,
        )
        if end is None:
            return []
        prefix = slot.pending[:end]
        verdict = await self._check(turn, slot, prefix)
        if verdict.action != "pass":
            return []
        new, slot.partial = prefix[len(slot.partial) :], prefix
        return self._show(turn, slot, new)

    def _show(self, turn: Turn, slot: Slot, text: str) -> list[EngineEvent]:
        if turn.first_shown_ms is None:
            turn.first_shown_ms = round((self.clock() - turn.started) * 1000, 1)
        return [TextDelta(text, slot.index)]

    async def _gate(self, turn: Turn, slot: Slot, sentence: str, last: bool) -> list[EngineEvent]:
        """Check one whole sentence; release what of it is not shown yet, or fail, soften or
        replace the slot (taking back a prefix already shown)."""
        slot.raw.append(sentence)
        shown_part = slot.partial
        verdict = await self._check(turn, slot, sentence)  # a stop here keeps `partial` shown
        slot.partial = ""
        if verdict.action != "pass":
            if not last:
                slot.verdicts.append(verdict)
                slot.failed = verdict
                slot.partial = shown_part  # still on screen until the retry resets it
                if shown_part:
                    slot.resets += 1
                return []
            if verdict.action == "intense":
                verdict = self.safety.soften(verdict, turn.persona)
                slot.softened = True
                turn.events.append((slot.index, verdict, "softened", sentence))
                if shown_part and slot.live:
                    # The softened sentence differs from the prefix on screen: show it afresh.
                    slot.resets += 1
                    slot.verdicts.append(verdict)
                    slot.shown.append(verdict.final)
                    return [
                        ReplyReset(f"softened: {verdict.kind}", slot.index),
                        *self._show(turn, slot, "".join(slot.shown)),
                    ]
            else:
                verdict = self.safety.replace_text(verdict)
                slot.replaced = verdict
                turn.events.append((slot.index, verdict, "replaced", slot.raw_text))
                events: list[EngineEvent] = []
                if slot.live:
                    if slot.shown or shown_part:
                        slot.resets += 1
                        events.append(ReplyReset(f"replaced: {verdict.kind}", slot.index))
                    events.append(TextDelta(verdict.final, slot.index))
                return events
        if verdict.reasons or verdict.scores:
            slot.verdicts.append(verdict)
        slot.shown.append(verdict.final)
        if not slot.live:
            return []
        rest = verdict.final[len(shown_part) :] if verdict.final.startswith(shown_part) else None
        if rest is None:  # cannot happen for a pass (final is the sentence); stay exact anyway
            slot.resets += 1
            return [ReplyReset("re-shown", slot.index), *self._show(turn, slot, slot.text)]
        return self._show(turn, slot, rest) if rest else []

    def _append_check_in(self, check: Verdict, slots: Sequence[Slot]) -> list[EngineEvent]:
        """A possible crisis: every candidate ends with the calm check-in, as part of the
        reply, and the user is told why it is there."""
        events: list[EngineEvent] = []
        for slot in slots:
            slot.suffix = ("\n\n" if slot.text.strip() else "") + check.append
            if slot.live:
                events.append(TextDelta(slot.suffix, slot.index))
        events.append(
            SafetyNotice(
                "Your message sounded like things might be hard right now, so a short "
                "check-in with support resources is added to the reply.",
                "crisis",
                "check_in",
            )
        )
        return events

    # -- recording ------------------------------------------------------------------------

    def _record_check_in(self, turn: Turn) -> None:
        """The check-in tier is a safety event, so the conversation never trains."""
        check = turn.check_in
        if check is None:
            return
        self.store.record_safety_event(
            turn.conversation_id,
            "crisis",
            "check_in",
            message_id=turn.message_id,
            scores=check.scores,
            thresholds=check.thresholds,
            original_text=turn.user_text,
            final_text=check.append,
        )

    def _record(
        self, turn: Turn, slots: Sequence[Slot], status: str
    ) -> list[tuple[int, int, bool]]:
        """Store candidates, the shown one, the status and the safety log (synchronous, so it
        also runs while a stopped stream is being closed). Returns (index, id, shown)."""
        store = self.store
        chat = self.config.chat
        recorded: list[tuple[Slot, int]] = []  # (slot, candidate id)
        for slot in slots:
            text = slot.text
            if not text.strip() and status != "complete":
                continue  # nothing was shown of this one
            raw = slot.raw_text
            cand = store.add_candidate(
                turn.message_id,
                text,
                raw_text=raw if raw != text else None,
                params={
                    "model": self.model,
                    "n": turn.n,
                    "temperature": chat.temperature,
                    "top_p": chat.top_p,
                    "max_tokens": chat.max_tokens,
                    "attempt": slot.attempts,
                    "steering": slot.steering,
                },
                base_model=self.base_model,
                adapter_version=turn.adapter,
                safety=slot.safety_summary(self.safety.mode),
                safety_action=slot.action,
                latency=slot.latency(),
            )
            recorded.append((slot, _id(cand.id)))
        chosen = calmest([(s.action, s.text, s.index) for s, _ in recorded])
        shown_id = None
        if chosen is not None:
            shown_id = next(c for s, c in recorded if s.index == chosen)
            store.show_candidate(turn.message_id, shown_id)
        store.update_message(turn.message_id, status=status)
        by_index = {s.index: c for s, c in recorded}
        for index, verdict, action, original in turn.events:
            store.record_safety_event(
                turn.conversation_id,
                verdict.kind or "other",
                action,
                message_id=turn.message_id,
                candidate_id=by_index.get(index),
                scores=dict(verdict.scores),
                thresholds=dict(verdict.thresholds),
                original_text=original,
                final_text=verdict.final if action != "regenerated" else None,
            )
        return [(s.index, c, c == shown_id) for s, c in recorded]


class ShownSaver:
    """Keeps a streaming reply's stored text up with the screen. The engine offers the text
    shown up to the last complete sentence; one write at a time stores the newest offer, in a
    thread, so the stream never waits for the disk (bench/storage.py --partial measures it).
    A failed write is logged, not raised: the reply goes on and its final record follows."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self._write = write
        self._offered = ""
        self._want: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.writes = 0

    def offer(self, text: str) -> None:
        if self._closed or text == self._offered:
            return
        self._offered = self._want = text
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._want is not None:
                text, self._want = self._want, None
                await asyncio.to_thread(self._store, text)
        finally:
            self._task = None

    def _store(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._write(text)
                self.writes += 1
            except Exception:  # noqa: BLE001 - a partial save must never stop the reply
                log.warning("could not save the partial reply", exc_info=True)

    async def close(self) -> None:
        """Let the write in flight finish; none comes after (the final record is next)."""
        self._want = None
        if self._task is not None:
            await self._task
        self.close_now()

    def close_now(self) -> None:
        """`close` for a stop being recorded synchronously: waits for a write in flight."""
        with self._lock:
            self._closed = True


def _active_version(store: Store) -> str | None:
    try:
        active = store.active_adapter()
    except Exception:  # noqa: BLE001 - a broken adapter table must not stop a reply
        return None
    return active.version if active is not None else None


def _id(row_id: int | None) -> int:
    assert row_id is not None  # committed rows have ids
    return row_id
