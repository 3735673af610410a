"""Candidates: the generated alternatives of an assistant turn; showing and choosing one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from feedback.models import EDITED_FROM, SAFETY_ACTIONS, Candidate, Choice, JSONObject, Message
from feedback.store.base import StoreBase, check_choice


class CandidateRepo(StoreBase):
    def _reply(self, s: Session, message_id: int) -> Message:
        msg = self._get(s, Message, message_id)
        if msg.role != "assistant":
            raise ValueError(f"message {message_id} is a {msg.role} message, not a reply")
        return msg

    @staticmethod
    def _next_index(s: Session, message_id: int) -> int:
        last = s.exec(
            select(func.max(Candidate.index)).where(col(Candidate.message_id) == message_id)
        ).one()
        return 0 if last is None else last + 1

    def add_candidate(
        self,
        message_id: int,
        text: str,
        *,
        raw_text: str | None = None,
        params: JSONObject | None = None,
        base_model: str | None = None,
        adapter_version: str | None = None,
        safety: JSONObject | None = None,
        safety_action: str = "none",
        latency: JSONObject | None = None,
        shown: bool = False,
    ) -> Candidate:
        """Record a generated reply for an assistant turn. ``shown=True`` also makes it the
        message's text (as `show_candidate` does)."""
        check_choice(safety_action, SAFETY_ACTIONS, "safety_action")
        now = self._now()

        def do(s: Session) -> Candidate:
            msg = self._reply(s, message_id)
            cand = Candidate(
                message_id=message_id,
                index=self._next_index(s, message_id),
                text=text,
                raw_text=raw_text,
                params=dict(params or {}),
                base_model=base_model,
                adapter_version=adapter_version,
                safety=dict(safety or {}),
                safety_action=safety_action,
                latency=dict(latency or {}),
                shown=shown,
                created_at=now,
            )
            s.add(cand)
            s.flush()
            if shown:
                msg.shown_candidate_id = cand.id
                msg.text = text
                s.add(msg)
            self._touch(s, msg.conversation_id)
            return cand

        return self._write(do)

    def update_candidate(
        self,
        candidate_id: int,
        *,
        text: str | None = None,
        raw_text: str | None = None,
        safety: JSONObject | None = None,
        safety_action: str | None = None,
        latency: JSONObject | None = None,
    ) -> Candidate:
        """Fill in a candidate recorded before its generation finished (None = unchanged)."""
        if safety_action is not None:
            check_choice(safety_action, SAFETY_ACTIONS, "safety_action")

        def do(s: Session) -> Candidate:
            cand = self._get(s, Candidate, candidate_id)
            if text is not None:
                cand.text = text
            if raw_text is not None:
                cand.raw_text = raw_text
            if safety is not None:
                cand.safety = dict(safety)
            if safety_action is not None:
                cand.safety_action = safety_action
            if latency is not None:
                cand.latency = dict(latency)
            s.add(cand)
            if text is not None:
                msg = self._get(s, Message, cand.message_id)
                if msg.shown_candidate_id == cand.id:
                    msg.text = text
                    s.add(msg)
            return cand

        return self._write(do)

    def get_candidate(self, candidate_id: int) -> Candidate | None:
        return self._find(Candidate, candidate_id)

    def candidates(self, message_id: int) -> list[Candidate]:
        stmt = (
            select(Candidate)
            .where(col(Candidate.message_id) == message_id)
            .order_by(col(Candidate.index))
        )
        return self._all(stmt)

    def candidates_for_conversation(self, conversation_id: int) -> dict[int, list[Candidate]]:
        """Every candidate of a conversation by message id, in index order (one query, for
        rendering a whole conversation)."""
        stmt = (
            select(Candidate)
            .join(Message, col(Message.id) == col(Candidate.message_id))
            .where(col(Message.conversation_id) == conversation_id)
            .order_by(col(Candidate.message_id), col(Candidate.index))
        )
        out: dict[int, list[Candidate]] = {}
        with self._session() as s:
            for cand in s.exec(stmt):
                out.setdefault(cand.message_id, []).append(cand)
        return out

    def _own_candidate(self, s: Session, message_id: int, candidate_id: int) -> Candidate:
        cand = self._get(s, Candidate, candidate_id)
        if cand.message_id != message_id:
            raise ValueError(f"candidate {candidate_id} is not a reply of message {message_id}")
        return cand

    def show_candidate(self, message_id: int, candidate_id: int) -> Message:
        """The user is looking at this alternative: mark it shown, make it the message text."""

        def do(s: Session) -> Message:
            cand = self._own_candidate(s, message_id, candidate_id)
            msg = self._get(s, Message, message_id)
            cand.shown = True
            msg.shown_candidate_id = cand.id
            msg.text = cand.text
            s.add_all([cand, msg])
            return msg

        return self._write(do)

    def choose(self, message_id: int, candidate_id: int) -> Choice:
        """Record that the user picked this alternative; it becomes part of the history."""
        now = self._now()

        def do(s: Session) -> Choice:
            cand = self._own_candidate(s, message_id, candidate_id)
            return self._choose(s, self._get(s, Message, message_id), cand, now)

        return self._write(do)

    def _choose(self, s: Session, msg: Message, cand: Candidate, now: datetime) -> Choice:
        assert msg.id is not None and cand.id is not None
        cand.shown = True
        msg.shown_candidate_id = cand.id
        msg.chosen_candidate_id = cand.id
        msg.text = cand.text
        choice = Choice(message_id=msg.id, candidate_id=cand.id, created_at=now)
        s.add_all([cand, msg, choice])
        s.flush()
        self._touch(s, msg.conversation_id)
        return choice

    def edit_reply(self, message_id: int, candidate_id: int, text: str) -> Candidate:
        """The user rewrote a reply into the one they wanted: a new candidate of the turn that
        records which one it was edited from, shown and picked (the history follows it)."""
        if not text.strip():
            raise ValueError("an edited reply needs some text")
        now = self._now()

        def do(s: Session) -> Candidate:
            original = self._own_candidate(s, message_id, candidate_id)
            msg = self._reply(s, message_id)
            cand = Candidate(
                message_id=message_id,
                index=self._next_index(s, message_id),
                text=text,
                params={EDITED_FROM: original.id},
                base_model=original.base_model,
                adapter_version=original.adapter_version,
                shown=True,
                created_at=now,
            )
            s.add(cand)
            s.flush()
            self._choose(s, msg, cand, now)
            return cand

        return self._write(do)
