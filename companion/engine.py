"""The conversation engine: a user message in, safe streamed reply candidates out, all recorded.

``Engine.reply`` records the user message first (committed before anything else), answers a
crisis message with the fixed supportive reply, builds the prompt, streams from the server and
passes the text through the safety pipeline sentence by sentence: a sentence is released to the
UI only after it passed. A candidate that fails is regenerated with a calmer or kinder steering
instruction (``safety.max_regenerations`` times), then softened (too intense) or replaced
(toxic, blocklisted, manipulative). With n > 1 the calmest acceptable candidate is shown.
Stopping (the consumer closes or cancels the stream) keeps the checked text, marked stopped; a
server that dies keeps it marked interrupted.

Events are small frozen dataclasses; the TUI and ``companion ask`` consume them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from companion import persona as persona_mod
from companion.client import ChatClient, ClientError, RequestTimeout, ServerDiedMidStream
from companion.config import Config
from companion.errors import CompanionError
from companion.persona import Persona, PersonaError
from companion.prompt import ChatMessage, PromptTooLong, TokenCounter, build_messages
from companion.safety.pipeline import SafetyPipeline, Verdict
from companion.safety.sentences import take_sentences
from companion.server import Endpoint

if TYPE_CHECKING:  # storage is injected; importing it here would load SQLAlchemy early
    from feedback.repo import Store

log = logging.getLogger(__name__)

# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    user_message_id: int | None
    """None for a regeneration (no new user message)."""
    message_id: int
    """The assistant message the candidates belong to."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Checked text to append to the reply on screen (candidate `index`, 0 is the live one)."""

    text: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class ReplyReset:
    """Clear the reply on screen: what was shown is being regenerated or replaced."""

    reason: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class SafetyNotice:
    """A safety decision the user may want to know about (softened, regenerated, crisis)."""

    text: str
    kind: str
    action: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class CandidateReady:
    index: int
    candidate_id: int
    text: str
    safety_action: str


@dataclass(frozen=True, slots=True)
class ReplyDone:
    message_id: int
    candidate_ids: tuple[int, ...]
    shown_candidate_id: int | None
    ttft_ms: float | None
    tokens_per_s: float | None
    status: str = "complete"


@dataclass(frozen=True, slots=True)
class ReplyFailed:
    """The reply could not be (fully) generated. `reason` is one line for the user; text that
    had passed the checks is kept on the message (status interrupted)."""

    reason: str
    message_id: int | None = None
    error: BaseException | None = field(default=None, compare=False)


EngineEvent = (
    ReplyStarted | TextDelta | ReplyReset | SafetyNotice | CandidateReady | ReplyDone | ReplyFailed
)


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


# --- one candidate being generated -------------------------------------------------------


@dataclass
class _Slot:
    index: int
    live: bool
    """Streamed to the screen as it is checked (candidate 0)."""
    shown: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    pending: str = ""
    verdicts: list[Verdict] = field(default_factory=list)
    failed: Verdict | None = None
    replaced: Verdict | None = None
    finished: bool = False
    softened: bool = False
    attempts: int = 0
    steering: str | None = None
    tokens: int = 0
    started_at: float = 0.0
    first_at: float | None = None
    last_at: float | None = None

    @property
    def done(self) -> bool:
        return self.finished or self.failed is not None or self.replaced is not None

    @property
    def text(self) -> str:
        return self.replaced.final if self.replaced else "".join(self.shown)

    @property
    def raw_text(self) -> str:
        return "".join(self.raw) + self.pending

    @property
    def action(self) -> str:
        if self.replaced:
            return "replaced"
        if self.softened:
            return "softened"
        return "regenerated" if self.attempts else "none"

    def retry(self, steering: str) -> None:
        self.shown, self.raw, self.pending, self.verdicts = [], [], "", []
        self.failed = self.replaced = None
        self.finished = self.softened = False
        self.tokens, self.first_at, self.last_at = 0, None, None
        self.attempts += 1
        self.steering = steering

    def safety_summary(self, mode: str) -> dict[str, Any]:
        """The worst score per label over the checked sentences, and why anything changed."""
        scores: dict[str, float] = {}
        for v in self.verdicts:
            for k, x in v.scores.items():
                scores[k] = round(max(scores.get(k, 0.0), float(x)), 4)
        thresholds = self.verdicts[-1].thresholds if self.verdicts else {}
        reasons = [r for v in self.verdicts for r in v.reasons]
        return {
            "scores": scores,
            "thresholds": thresholds,
            "mode": mode,
            "reasons": reasons[:20],
            "attempts": self.attempts,
        }

    def latency(self) -> dict[str, Any]:
        if self.first_at is None or self.last_at is None:
            return {}
        span = self.last_at - self.first_at
        return {
            "ttft_ms": round((self.first_at - self.started_at) * 1000, 1),
            "total_ms": round((self.last_at - self.started_at) * 1000, 1),
            "tokens": self.tokens,
            "tokens_per_s": round((self.tokens - 1) / span, 2) if span > 0 else None,
        }


@dataclass
class _Turn:
    """Everything one reply (or regeneration) needs, and what it produced."""

    conversation_id: int
    message_id: int
    user_message_id: int
    user_text: str
    user_intensity: float
    persona: Persona
    prompt: list[ChatMessage]
    n: int
    adapter: str | None
    started: float
    first_shown_ms: float | None = None
    events: list[tuple[int, Verdict, str, str | None]] = field(default_factory=list)
    """(slot index, verdict, action, original text) for the safety log."""


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
        memory_notes: Callable[[int], list[str]] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        endpoint: Callable[[], Endpoint] | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self._endpoint = endpoint
        self.store = store
        self.safety = safety
        self.count_tokens = count_tokens
        self.model = model or config.model.served_name
        self.base_model = base_model or config.model.base or "SmolLM2-135M-Instruct"
        self._load_persona = load_persona or (lambda key: persona_mod.load(key, config.paths))
        self._memory_notes = memory_notes
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
            return "full (Detoxify)"
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
        async with aclosing(self._answer(conv, user, asst.id, n)) as events:
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
        await asyncio.to_thread(lambda: store.update_message(message_id, status="generating"))
        yield ReplyStarted(None, message_id)
        async with aclosing(self._answer(conv, user, message_id, n)) as events:
            async for ev in events:
                yield ev

    async def choose(self, message_id: int, candidate_id: int) -> Any:
        """The user picked an alternative: it becomes the history (a Choice is recorded)."""
        return await asyncio.to_thread(self.store.choose, message_id, candidate_id)

    # -- one answer -----------------------------------------------------------------------

    async def _answer(
        self, conv: Any, user: Any, message_id: int, n: int
    ) -> AsyncGenerator[EngineEvent, None]:
        store = self.store
        started = self.clock()
        check = await asyncio.to_thread(self.safety.check_user, user.text)
        if check.action == "crisis":
            async for ev in self._crisis(conv.id, user, message_id, check):
                yield ev
            return
        try:
            persona = self._load_persona(conv.persona)
            history = await asyncio.to_thread(self._history, user.id, persona)
            notes = self._memory_notes(conv.id) if self._memory_notes else None
            prompt = build_messages(
                persona,
                history,
                memory_notes=notes,
                count_tokens=self.count_tokens,
                max_prompt_tokens=self.config.server.max_model_len - self.config.chat.max_tokens,
            )
        except (PersonaError, PromptTooLong) as e:
            await asyncio.to_thread(lambda: store.update_message(message_id, status="interrupted"))
            yield ReplyFailed(str(e), message_id, e)
            return
        turn = _Turn(
            conv.id,
            message_id,
            user.id,
            user.text,
            float(check.scores["intensity"]),
            persona,
            prompt,
            max(1, n),
            await asyncio.to_thread(_active_version, store),
            started,
        )
        async with aclosing(self._generate(turn)) as events:
            async for ev in events:
                yield ev

    def _history(self, user_id: int, persona: Persona) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        for m in self.store.branch_path(user_id):
            if m.role in ("user", "assistant") and m.text:
                out.append({"role": m.role, "content": m.text})
        # The greeting was on screen, so the model should know it said it.
        if persona.greeting and (not out or out[0]["role"] != "assistant"):
            out.insert(0, {"role": "assistant", "content": persona.greeting})
        return out

    async def _crisis(
        self, conversation_id: int, user: Any, message_id: int, check: Verdict
    ) -> AsyncGenerator[EngineEvent, None]:
        store = self.store

        def record() -> Any:
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

        cand = await asyncio.to_thread(record)
        yield SafetyNotice(
            "Your message sounded like you might be in crisis, so support resources are shown "
            "instead of a generated reply.",
            "crisis",
            "replaced",
        )
        yield TextDelta(check.final)
        yield CandidateReady(0, cand.id, check.final, "none")
        yield ReplyDone(message_id, (cand.id,), cand.id, None, None)

    async def _generate(self, turn: _Turn) -> AsyncGenerator[EngineEvent, None]:
        slots = [_Slot(i, live=i == 0) for i in range(turn.n)]
        todo = list(slots)
        status = "complete"
        failure: ClientError | None = None
        max_rounds = self.config.safety.max_regenerations
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
                    if s.live and s.shown:
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
                self._record(turn, slots, "stopped")
            except Exception:  # the stop itself must go through; the log says what was lost
                log.exception("could not record the stopped reply %s", turn.message_id)
            raise
        cands = await asyncio.to_thread(self._record, turn, slots, status)
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
        self, turn: _Turn, todo: list[_Slot], last: bool
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
                        for ev in await self._gate(turn, slot, sentence, last):
                            yield ev
                        if slot.done:
                            break
                if d.finish_reason and not slot.done:
                    async for ev in self._flush(turn, slot, last):
                        yield ev
                if all(s.done for s in todo):
                    break  # leaving the block closes the stream: no tokens wasted
        for slot in todo:  # a server that ended without finish reasons
            if not slot.done:
                async for ev in self._flush(turn, slot, last):
                    yield ev

    async def _flush(
        self, turn: _Turn, slot: _Slot, last: bool
    ) -> AsyncGenerator[EngineEvent, None]:
        rest, slot.pending = slot.pending, ""
        if rest:
            for ev in await self._gate(turn, slot, rest, last):
                yield ev
        if not slot.done:
            slot.finished = True

    async def _gate(self, turn: _Turn, slot: _Slot, sentence: str, last: bool) -> list[EngineEvent]:
        """Check one sentence; release it, or fail/soften/replace the slot."""
        slot.raw.append(sentence)
        if sentence.strip():
            verdict = await asyncio.to_thread(
                self.safety.check_reply,
                turn.user_text,
                sentence,
                turn.persona,
                user_intensity=turn.user_intensity,
            )
        else:
            verdict = Verdict("pass", sentence, sentence)
        if verdict.action != "pass":
            if not last:
                slot.verdicts.append(verdict)
                slot.failed = verdict
                return []
            if verdict.action == "intense":
                verdict = self.safety.soften(verdict, turn.persona)
                slot.softened = True
                turn.events.append((slot.index, verdict, "softened", sentence))
            else:
                verdict = self.safety.replace_text(verdict)
                slot.replaced = verdict
                turn.events.append((slot.index, verdict, "replaced", slot.raw_text))
                events: list[EngineEvent] = []
                if slot.live:
                    if slot.shown:
                        events.append(ReplyReset(f"replaced: {verdict.kind}", slot.index))
                    events.append(TextDelta(verdict.final, slot.index))
                return events
        if verdict.reasons or verdict.scores:
            slot.verdicts.append(verdict)
        slot.shown.append(verdict.final)
        if not slot.live:
            return []
        if turn.first_shown_ms is None:
            turn.first_shown_ms = round((self.clock() - turn.started) * 1000, 1)
        return [TextDelta(verdict.final, slot.index)]

    # -- recording ------------------------------------------------------------------------

    def _record(
        self, turn: _Turn, slots: Sequence[_Slot], status: str
    ) -> list[tuple[int, int, bool]]:
        """Store candidates, the shown one, the status and the safety log (synchronous, so it
        also runs while a stopped stream is being closed). Returns (index, id, shown)."""
        store = self.store
        chat = self.config.chat
        recorded: list[tuple[_Slot, Any]] = []
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
            recorded.append((slot, cand))
        chosen = calmest([(s.action, s.text, s.index) for s, _ in recorded])
        shown_id = None
        if chosen is not None:
            slot, cand = next((s, c) for s, c in recorded if s.index == chosen)
            store.show_candidate(turn.message_id, cand.id)
            shown_id = cand.id
        store.update_message(turn.message_id, status=status)
        by_index = {s.index: c.id for s, c in recorded}
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
        return [(s.index, c.id, c.id == shown_id) for s, c in recorded]


_RANK = {"none": 0, "regenerated": 0, "softened": 1, "replaced": 2}


def calmest(candidates: Sequence[tuple[str, str, int]]) -> int | None:
    """Index of the candidate to show: unchanged ones before softened before replaced, then
    the lowest intensity, then the first. Input: (safety action, text, index). Pure."""
    if not candidates:
        return None
    from companion.safety.intensity import score

    best = min(candidates, key=lambda c: (_RANK.get(c[0], 3), score(c[1]).score, c[2]))
    return best[2]


def _active_version(store: Store) -> str | None:
    try:
        active = store.active_adapter()
    except Exception:  # noqa: BLE001 - a broken adapter table must not stop a reply
        return None
    return getattr(active, "version", None)
