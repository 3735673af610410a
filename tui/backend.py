"""The one place the TUI touches the engine and the store: turns their rows and events into
the plain views the widgets show. Synchronous methods are called from thread workers."""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from tui.view import UNFINISHED, CandidateView, ConversationView, Role, TurnView

if TYPE_CHECKING:  # the real types; the TUI gets the objects through its constructor
    from companion.engine import Engine
    from companion.events import EngineEvent
    from companion.persona import Persona
    from feedback.models import Candidate, Conversation, Message, Rating, SafetyEvent
    from feedback.repo import Store

PersonaList = Callable[[], Sequence[tuple[str, "Persona"]]]
"""(key, Persona) for every persona the user can pick."""


@dataclass(frozen=True)
class PersonaInfo:
    name: str
    display: str
    greeting: str
    description: str


class Backend:
    """Adapter over `feedback.repo.Store` and `companion.engine.Engine`. The engine is None
    until the server is up (the chat screen sets it then)."""

    def __init__(
        self,
        engine: Engine | None,
        store: Store,
        *,
        personas: PersonaList | None = None,
        load_persona: Callable[[str], Persona] | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self._list_personas = personas
        self._load_persona = load_persona
        self._persona_cache: dict[str, PersonaInfo] = {}

    # -- personas -----------------------------------------------------------------------------

    def persona(self, name: str) -> PersonaInfo:
        if name not in self._persona_cache:
            info = PersonaInfo(name, name, "", "")
            if self._load_persona is not None:
                try:
                    p = self._load_persona(name)
                except Exception:  # a broken persona file must not take the chat down
                    p = None
                if p is not None:
                    info = PersonaInfo(name, p.name or name, p.greeting, p.description)
            self._persona_cache[name] = info
        return self._persona_cache[name]

    def persona_name(self, name: str) -> str:
        return self.persona(name).display

    def greeting(self, name: str) -> str:
        return self.persona(name).greeting

    def personas(self) -> list[tuple[str, str]]:
        if self._list_personas is None:
            return []
        out = []
        for key, p in self._list_personas():
            about = " ".join(p.description.split())
            out.append((key, f"{p.name}: {about[:60]}" if about else p.name))
        return out

    # -- conversations --------------------------------------------------------------------------

    @staticmethod
    def _conv(c: Conversation) -> ConversationView:
        return ConversationView(id=_id(c.id), title=c.title or "", persona=c.persona or "")

    def conversations(self, query: str = "") -> list[ConversationView]:
        rows = self.store.list_conversations(search=query or None)
        return [self._conv(c) for c in rows]

    def conversation(self, conv_id: int) -> ConversationView | None:
        c = self.store.get_conversation(conv_id)
        return self._conv(c) if c is not None else None

    def create_conversation(self, persona: str) -> ConversationView:
        return self._conv(self.store.create_conversation(persona=persona))

    def rename(self, conv_id: int, title: str) -> None:
        self.store.rename_conversation(conv_id, title)

    def delete_conversation(self, conv_id: int) -> None:
        self.store.delete_conversation(conv_id)

    def resume_leaf(self, conv_id: int) -> int | None:
        leaf = self.store.latest_leaf(conv_id)
        return leaf.id if leaf is not None else None

    def resume_point(self, conv_id: int, saved_leaf: int | None) -> int | None:
        """Where a conversation reopens: its true end. That is the latest message when a
        crash left it unfinished (a user message with no reply, a reply still `generating`
        or `interrupted`), else the newest message under the saved position (so a branch
        the user was reading stays open), else the latest message."""
        latest = self.store.latest_leaf(conv_id)
        if latest is None:
            return None
        if latest.role == "user" or (latest.role == "assistant" and latest.status in UNFINISHED):
            return latest.id
        saved = self.store.get_message(saved_leaf) if saved_leaf is not None else None
        if saved is not None and saved.conversation_id == conv_id:
            return self.latest_leaf(_id(saved.id))
        return latest.id

    def latest_leaf(self, message_id: int) -> int:
        """The most recently written message under `message_id` (itself when it has none):
        where a branch picked by its first message resumes."""
        best = message_id
        frontier = [message_id]
        while frontier:
            nxt = [_id(c.id) for m in frontier for c in self.store.children(m)]
            if nxt:
                best = max(best, *nxt)
            frontier = nxt
        return best

    # -- messages ---------------------------------------------------------------------------

    def _candidate(
        self, c: Candidate, rating: Rating | None, events: Sequence[SafetyEvent]
    ) -> CandidateView:
        details = ""
        action = c.safety_action if c.safety_action not in ("", "none") else None
        mine = [e for e in events if e.candidate_id == c.id]
        if action is None and any(e.kind == "crisis" for e in mine):
            action = "crisis"
        if action:
            details = self._details(c, mine)
        return CandidateView(
            id=_id(c.id),
            text=c.text,
            rating=rating.value if rating is not None else None,
            reason=_reason_text(rating),
            safety_action=action,
            safety_details=details,
        )

    def _turn(
        self,
        m: Message,
        siblings: Sequence[Message],
        candidates: Sequence[Candidate],
        ratings: Mapping[int, Rating],
        events: Sequence[SafetyEvent],
    ) -> TurnView:
        cands: tuple[CandidateView, ...] = ()
        shown = 0
        partial = False
        if m.role == "assistant":
            cands = tuple(self._candidate(c, ratings.get(_id(c.id)), events) for c in candidates)
            current = m.shown_candidate_id or m.chosen_candidate_id
            for i, c in enumerate(cands):
                if c.id == current:
                    shown = i
            # A regeneration cut off by a crash: its saved text is what was on screen.
            partial = bool(cands) and m.status in UNFINISHED and m.text != cands[shown].text
        return TurnView(
            message_id=m.id,
            role=cast(Role, m.role),  # the store checks roles on write
            text=m.text,
            status=m.status,
            candidates=cands,
            shown=shown,
            chosen_id=m.chosen_candidate_id,
            siblings=tuple(_id(s.id) for s in siblings if s.role == m.role)
            if m.role == "user"
            else (),
            parent_id=m.parent_id,
            partial=partial,
        )

    def path(self, leaf_id: int | None) -> list[TurnView]:
        """The turns from the conversation's start down to `leaf_id`, read in a fixed number
        of queries however long the conversation is."""
        branch = self.store.branch_path(leaf_id) if leaf_id is not None else []
        if not branch:
            return []
        conv_id = branch[0].conversation_id
        by_parent: dict[int | None, list[Message]] = {}
        for m in self.store.messages(conv_id):
            by_parent.setdefault(m.parent_id, []).append(m)
        candidates = self.store.candidates_for_conversation(conv_id)
        ratings = self.store.ratings_for_conversation(conv_id)
        events: dict[int | None, list[SafetyEvent]] = {}
        for e in self.store.safety_events(conversation_id=conv_id):
            events.setdefault(e.message_id, []).append(e)
        return [
            self._turn(
                m,
                by_parent.get(m.parent_id, []),
                candidates.get(_id(m.id), []),
                ratings,
                events.get(m.id, []),
            )
            for m in branch
            if m.role != "system"
        ]

    def turn(self, message_id: int) -> TurnView | None:
        """One turn, as `path` would show it."""
        m = self.store.get_message(message_id)
        if m is None or m.role == "system":
            return None
        siblings = (
            self.store.roots(m.conversation_id)
            if m.parent_id is None
            else self.store.children(m.parent_id)
        )
        if m.role != "assistant":
            return self._turn(m, siblings, [], {}, [])
        return self._turn(
            m,
            siblings,
            self.store.candidates(message_id),
            self.store.ratings_for_message(message_id),
            self.store.safety_events(message_id=message_id),
        )

    def parent_of(self, message_id: int) -> int | None:
        m = self.store.get_message(message_id)
        return m.parent_id if m is not None else None

    def delete_turn(self, message_id: int) -> int | None:
        """Delete a user message and its reply (and what followed); returns the new leaf."""
        m = self.store.get_message(message_id)
        if m is None:
            return None
        if m.role == "assistant" and m.parent_id is not None:
            m = self.store.get_message(m.parent_id)
            assert m is not None  # a reply's parent goes only with the reply
        parent = m.parent_id
        self.store.delete_message(_id(m.id))
        if parent is None:
            return self.resume_leaf(m.conversation_id)
        return self.latest_leaf(parent)

    # -- feedback ---------------------------------------------------------------------------

    def rate(
        self,
        candidate_id: int,
        value: int | None,
        reason: str | None = None,
        comment: str | None = None,
    ) -> None:
        self.store.rate(candidate_id, value, reason=reason, comment=comment)

    def choose(self, message_id: int, candidate_id: int) -> None:
        self.store.choose(message_id, candidate_id)

    def edit_reply(self, message_id: int, candidate_id: int, text: str) -> None:
        self.store.edit_reply(message_id, candidate_id, text)

    def show(self, message_id: int, candidate_id: int) -> None:
        """Browsing to an alternative: it is now seen, and the history follows the screen."""
        self.store.show_candidate(message_id, candidate_id)

    def _details(self, c: Candidate, events: Sequence[SafetyEvent]) -> str:
        lines = [f"**Action:** {c.safety_action}"]
        for ev in events:
            lines.append(f"- **{ev.kind}** → {ev.action}")
            if ev.scores:
                lines.append(f"  - scores: `{json.dumps(ev.scores, default=str)[:300]}`")
            if ev.thresholds:
                lines.append(f"  - limits: `{json.dumps(ev.thresholds, default=str)[:300]}`")
        if c.safety:
            lines.append(f"\n**Scores:** `{json.dumps(c.safety, default=str)[:500]}`")
        if c.raw_text and c.raw_text != c.text:
            lines.append("\n**Original (not shown before):**\n")
            lines.append("> " + c.raw_text.replace("\n", "\n> "))
        return "\n".join(lines)

    def safety_details(self, message_id: int, candidate_id: int | None) -> str:
        turn = self.turn(message_id)
        if turn is None:
            return ""
        for c in turn.candidates:
            if c.id == candidate_id:
                return c.safety_details
        return ""

    def feedback_count(self) -> int:
        """Ratings and choices since the last successful retrain."""
        run = self.store.last_training_run(status="succeeded")
        since = (run.finished_at or run.started_at) if run is not None else None
        return int(self.store.feedback_count_since(since))

    def safety_mode(self) -> str:
        return self.engine.safety_mode if self.engine is not None else ""

    # -- engine ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """An engine is there to talk to (it arrives once the server is up)."""
        return self.engine is not None

    def _live(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("no engine yet: check `ready` first")
        return self.engine

    def reply(
        self, conv_id: int, text: str, *, parent_id: int | None
    ) -> AsyncGenerator[EngineEvent, None]:
        return self._live().reply(conv_id, text, parent_id=parent_id)

    def regenerate(self, message_id: int, n: int) -> AsyncGenerator[EngineEvent, None]:
        return self._live().regenerate(message_id, n=n)

    async def answer(self, user_message_id: int, n: int = 1) -> AsyncGenerator[EngineEvent, None]:
        """A reply to a stored user message that has none (the chat closed before it began):
        its reply is recorded first, then generated like a regeneration."""
        engine = self._live()
        user = await asyncio.to_thread(self.store.get_message, user_message_id)
        assert user is not None and user.role == "user"  # the screen passes its own turn
        reply = await asyncio.to_thread(
            self.store.add_message, user.conversation_id, "assistant", "", user.id, "generating"
        )
        async with aclosing(engine.regenerate(_id(reply.id), n=n)) as events:
            async for ev in events:
                yield ev

    def mark_interrupted(self, message_id: int) -> None:
        """A reply the app had to stop on its way out (a signal): regenerable, not stopped."""
        self.store.update_message(message_id, status="interrupted")


def _id(row_id: int | None) -> int:
    assert row_id is not None  # rows read back from the store have ids
    return row_id


def database_busy(error: BaseException) -> bool:
    """A write refused because another program holds the database (SQLite's lock, or a
    PostgreSQL serialization conflict): worth trying again later."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    text = str(error).lower()
    return code in {"40001", "40P01"} or "database is locked" in text or "database is busy" in text


def disk_full(error: BaseException) -> bool:
    """A write refused for want of space (SQLite's SQLITE_FULL, PostgreSQL's 53100, ENOSPC)."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    text = str(error).lower()
    return (
        code == "53100"
        or getattr(error, "errno", None) == errno.ENOSPC
        or "database or disk is full" in text
        or "no space left on device" in text
    )


def database_unreachable(error: BaseException) -> bool:
    """The database server could not be reached (down, restarting, or the network)."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    text = str(error).lower()
    return (code or "").startswith("08") or any(
        s in text
        for s in ("connection refused", "connection failed", "server closed the connection")
    )


def _reason_text(rating: Rating | None) -> str | None:
    if rating is None:
        return None
    parts = [p for p in (rating.reason, rating.comment) if p]
    return ": ".join(parts) or None
