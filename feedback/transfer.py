"""Export, import and forget: the user's control over their data.

The JSONL export holds one record per line: a header, then for each conversation the
conversation, its messages (parents first), candidates, ratings, rating events, choices and
safety events. Ids in the file are the exporting database's; import maps them to new ones,
and skips conversations whose ``uid`` is already present, so importing twice is harmless.
Preference pairs, training runs and adapters are derived data and are not exported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from feedback.db import WRITE_OPTION
from feedback.models import (
    Candidate,
    Choice,
    Conversation,
    Message,
    Rating,
    RatingEvent,
    SafetyEvent,
)
from feedback.repo import NotFound, Store

FORMAT = "companion-export"
VERSION = 1
COMMIT_EVERY = 500


# --- records ---------------------------------------------------------------------------------


class _Record(BaseModel):
    # Unknown keys are ignored so a newer export still imports what this version knows.
    model_config = ConfigDict(extra="ignore")


class HeaderRecord(_Record):
    type: Literal["companion-export"]
    version: int
    exported_at: datetime | None = None


class ConversationRecord(_Record):
    type: Literal["conversation"]
    id: int
    uid: str
    persona: str
    title: str | None = None
    never_train: bool = False
    created_at: datetime
    updated_at: datetime


class MessageRecord(_Record):
    type: Literal["message"]
    id: int
    conversation_id: int
    parent_id: int | None = None
    role: Literal["system", "user", "assistant"]
    text: str
    status: Literal["complete", "generating", "interrupted", "stopped"] = "complete"
    shown_candidate_id: int | None = None
    chosen_candidate_id: int | None = None
    created_at: datetime


class CandidateRecord(_Record):
    type: Literal["candidate"]
    id: int
    message_id: int
    index: int
    text: str
    raw_text: str | None = None
    params: dict[str, Any] = {}
    base_model: str | None = None
    adapter_version: str | None = None
    safety: dict[str, Any] = {}
    safety_action: Literal["none", "softened", "regenerated", "replaced", "blocked"] = "none"
    latency: dict[str, Any] = {}
    shown: bool = False
    created_at: datetime


class RatingRecord(_Record):
    type: Literal["rating"]
    candidate_id: int
    value: Literal[1, -1]
    reason: str | None = None
    comment: str | None = None
    created_at: datetime
    updated_at: datetime


class RatingEventRecord(_Record):
    type: Literal["rating_event"]
    candidate_id: int
    value: Literal[1, -1] | None = None
    reason: str | None = None
    comment: str | None = None
    created_at: datetime


class ChoiceRecord(_Record):
    type: Literal["choice"]
    message_id: int
    candidate_id: int
    created_at: datetime


class SafetyEventRecord(_Record):
    type: Literal["safety_event"]
    conversation_id: int
    message_id: int | None = None
    candidate_id: int | None = None
    kind: str
    action: str
    scores: dict[str, Any] = {}
    thresholds: dict[str, Any] = {}
    original_text: str | None = None
    final_text: str | None = None
    created_at: datetime


RECORD_TYPES: dict[str, type[_Record]] = {
    "companion-export": HeaderRecord,
    "conversation": ConversationRecord,
    "message": MessageRecord,
    "candidate": CandidateRecord,
    "rating": RatingRecord,
    "rating_event": RatingEventRecord,
    "choice": ChoiceRecord,
    "safety_event": SafetyEventRecord,
}


class BadLine(ValueError):
    """A line that cannot be imported; the message says why in one line."""


def parse_line(line: str) -> _Record:
    """Parse and validate one JSONL line; raises BadLine with a short reason."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as e:
        raise BadLine(f"not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(data, dict):
        raise BadLine("not a JSON object")
    kind = data.get("type")
    model = RECORD_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise BadLine(f"unknown record type {str(kind)[:40]!r}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "record"
        raise BadLine(f"{kind}: {where}: {err['msg']}") from e


# --- export ----------------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _conversation_records(s: Session, conv: Conversation) -> Iterator[dict[str, Any]]:
    yield {
        "type": "conversation",
        "id": conv.id,
        "uid": conv.uid,
        "persona": conv.persona,
        "title": conv.title,
        "never_train": conv.never_train,
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(conv.updated_at),
    }
    msgs = list(
        s.exec(
            select(Message).where(col(Message.conversation_id) == conv.id).order_by(col(Message.id))
        )
    )
    msg_ids = [m.id for m in msgs]
    for m in msgs:
        yield {
            "type": "message",
            "id": m.id,
            "conversation_id": m.conversation_id,
            "parent_id": m.parent_id,
            "role": m.role,
            "text": m.text,
            "status": m.status,
            "shown_candidate_id": m.shown_candidate_id,
            "chosen_candidate_id": m.chosen_candidate_id,
            "created_at": _iso(m.created_at),
        }
    cands = list(
        s.exec(
            select(Candidate)
            .where(col(Candidate.message_id).in_(msg_ids))
            .order_by(col(Candidate.message_id), col(Candidate.index))
        )
    )
    cand_ids = [c.id for c in cands]
    for c in cands:
        yield {
            "type": "candidate",
            "id": c.id,
            "message_id": c.message_id,
            "index": c.index,
            "text": c.text,
            "raw_text": c.raw_text,
            "params": c.params,
            "base_model": c.base_model,
            "adapter_version": c.adapter_version,
            "safety": c.safety,
            "safety_action": c.safety_action,
            "latency": c.latency,
            "shown": c.shown,
            "created_at": _iso(c.created_at),
        }
    for r in s.exec(
        select(Rating).where(col(Rating.candidate_id).in_(cand_ids)).order_by(col(Rating.id))
    ):
        yield {
            "type": "rating",
            "candidate_id": r.candidate_id,
            "value": r.value,
            "reason": r.reason,
            "comment": r.comment,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
        }
    for e in s.exec(
        select(RatingEvent)
        .where(col(RatingEvent.candidate_id).in_(cand_ids))
        .order_by(col(RatingEvent.id))
    ):
        yield {
            "type": "rating_event",
            "candidate_id": e.candidate_id,
            "value": e.value,
            "reason": e.reason,
            "comment": e.comment,
            "created_at": _iso(e.created_at),
        }
    for ch in s.exec(
        select(Choice).where(col(Choice.message_id).in_(msg_ids)).order_by(col(Choice.id))
    ):
        yield {
            "type": "choice",
            "message_id": ch.message_id,
            "candidate_id": ch.candidate_id,
            "created_at": _iso(ch.created_at),
        }
    for ev in s.exec(
        select(SafetyEvent)
        .where(col(SafetyEvent.conversation_id) == conv.id)
        .order_by(col(SafetyEvent.id))
    ):
        yield {
            "type": "safety_event",
            "conversation_id": ev.conversation_id,
            "message_id": ev.message_id,
            "candidate_id": ev.candidate_id,
            "kind": ev.kind,
            "action": ev.action,
            "scores": ev.scores,
            "thresholds": ev.thresholds,
            "original_text": ev.original_text,
            "final_text": ev.final_text,
            "created_at": _iso(ev.created_at),
        }


def _conversation_ids(store: Store, conversation_id: int | None) -> list[int]:
    if conversation_id is not None:
        if store.get_conversation(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return [conversation_id]
    with Session(store.engine) as s:
        return [i for i in s.exec(select(col(Conversation.id)).order_by(col(Conversation.id))) if i]


def export_jsonl(store: Store, out: IO[str], conversation_id: int | None = None) -> int:
    """Write the JSONL export; returns the number of conversations written."""
    ids = _conversation_ids(store, conversation_id)
    header = {"type": FORMAT, "version": VERSION, "exported_at": _iso(store._now())}
    out.write(json.dumps(header) + "\n")
    for cid in ids:
        # One short read transaction per conversation: a long export never blocks writers.
        with Session(store.engine) as s:
            conv = s.get(Conversation, cid)
            if conv is None:  # deleted while exporting
                continue
            for rec in _conversation_records(s, conv):
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(ids)


def export_markdown(store: Store, out: IO[str], conversation_id: int | None = None) -> int:
    """Write a readable transcript of each conversation's latest branch."""
    ids = _conversation_ids(store, conversation_id)
    for n, cid in enumerate(ids):
        conv = store.get_conversation(cid)
        leaf = store.latest_leaf(cid)
        if conv is None:
            continue
        if n:
            out.write("\n---\n\n")
        out.write(f"# {conv.title or 'Untitled conversation'}\n\n")
        started = conv.created_at.strftime("%Y-%m-%d %H:%M UTC")
        out.write(f"*Persona: {conv.persona} · started {started} · conversation {cid}*\n\n")
        if leaf is None or leaf.id is None:
            out.write("*(no messages)*\n")
            continue
        path = store.branch_path(leaf.id)
        all_msgs = store.messages(cid)
        if len(all_msgs) > len(path):
            out.write(
                f"*Latest branch shown; {len(all_msgs) - len(path)} message(s) on other "
                "branches are in the JSONL export.*\n\n"
            )
        for m in path:
            who = {"user": "You", "assistant": conv.persona, "system": "System"}[m.role]
            out.write(f"**{who}:**\n\n{m.text}\n\n")
            notes: list[str] = []
            if m.status != "complete":
                notes.append(m.status)
            if m.role == "assistant" and m.id is not None:
                cands = store.candidates(m.id)
                if len(cands) > 1:
                    notes.append(f"{len(cands)} alternatives")
                shown = next((c for c in cands if c.id == m.shown_candidate_id), None)
                if shown is not None:
                    if shown.safety_action != "none":
                        notes.append(f"safety: {shown.safety_action}")
                    rating = store.rating_of(shown.id) if shown.id is not None else None
                    if rating is not None:
                        mark = "👍" if rating.value > 0 else "👎"
                        notes.append(mark + (f" {rating.reason}" if rating.reason else ""))
            if notes:
                out.write(f"*({'; '.join(notes)})*\n\n")
    return len(ids)


def export(
    store: Store,
    out: IO[str],
    conversation_id: int | None = None,
    fmt: Literal["jsonl", "markdown"] = "jsonl",
) -> int:
    if fmt == "jsonl":
        return export_jsonl(store, out, conversation_id)
    if fmt == "markdown":
        return export_markdown(store, out, conversation_id)
    raise ValueError(f"unknown export format {fmt!r}; use jsonl or markdown")


# --- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportIssue:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    imported: dict[str, int] = field(default_factory=dict)
    """Records written, by type."""
    duplicates: int = 0
    """Records skipped because their conversation was already in the database."""
    errors: list[ImportIssue] = field(default_factory=list)
    """Lines that were skipped, with why."""

    @property
    def ok(self) -> bool:
        return not self.errors


_SKIP = -1  # an id mapped to this belongs to an already-present conversation


class _Importer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.report = ImportReport()
        self.convs: dict[int, int] = {}
        self.msgs: dict[int, tuple[int, int]] = {}  # old id -> (new id, new conversation id)
        self.cands: dict[int, int] = {}
        # Messages point at candidates that come later in the file: patched at the end.
        self.fixups: list[tuple[int, int | None, int | None]] = []

    def _conv(self, old: int) -> int:
        if old not in self.convs:
            raise BadLine(f"conversation {old} is not in the file before this line")
        return self.convs[old]

    def _msg(self, old: int) -> tuple[int, int]:
        if old not in self.msgs:
            raise BadLine(f"message {old} is not in the file before this line")
        return self.msgs[old]

    def _cand(self, old: int) -> int:
        if old not in self.cands:
            raise BadLine(f"candidate {old} is not in the file before this line")
        return self.cands[old]

    def _count(self, kind: str) -> None:
        self.report.imported[kind] = self.report.imported.get(kind, 0) + 1

    def apply(self, s: Session, rec: _Record) -> None:
        """Write one record; raises BadLine if it cannot be, _Duplicate if already present."""
        if isinstance(rec, HeaderRecord):
            if rec.version > VERSION:
                raise BadLine(f"export format version {rec.version} is newer than {VERSION}")
            return
        if isinstance(rec, ConversationRecord):
            if rec.id in self.convs:
                raise BadLine(f"conversation {rec.id} appears twice")
            existing = s.exec(
                select(col(Conversation.id)).where(Conversation.uid == rec.uid)
            ).first()
            if existing is not None:
                self.convs[rec.id] = _SKIP
                raise _Duplicate()
            conv = Conversation(
                uid=rec.uid,
                persona=rec.persona,
                title=rec.title,
                never_train=rec.never_train,
                created_at=rec.created_at,
                updated_at=rec.updated_at,
            )
            s.add(conv)
            s.flush()
            assert conv.id is not None
            self.convs[rec.id] = conv.id
        elif isinstance(rec, MessageRecord):
            conv_id = self._conv(rec.conversation_id)
            if conv_id == _SKIP:
                self.msgs[rec.id] = (_SKIP, _SKIP)
                raise _Duplicate()
            if rec.id in self.msgs:
                raise BadLine(f"message {rec.id} appears twice")
            parent: int | None = None
            if rec.parent_id is not None:
                parent, parent_conv = self._msg(rec.parent_id)
                if parent_conv != conv_id:
                    raise BadLine(f"parent message {rec.parent_id} is in another conversation")
            msg = Message(
                conversation_id=conv_id,
                parent_id=parent,
                role=rec.role,
                text=rec.text,
                status=rec.status,
                created_at=rec.created_at,
            )
            s.add(msg)
            s.flush()
            assert msg.id is not None
            self.msgs[rec.id] = (msg.id, conv_id)
            if rec.shown_candidate_id is not None or rec.chosen_candidate_id is not None:
                self.fixups.append((msg.id, rec.shown_candidate_id, rec.chosen_candidate_id))
        elif isinstance(rec, CandidateRecord):
            msg_id, _ = self._msg(rec.message_id)
            if msg_id == _SKIP:
                self.cands[rec.id] = _SKIP
                raise _Duplicate()
            if rec.id in self.cands:
                raise BadLine(f"candidate {rec.id} appears twice")
            cand = Candidate(
                message_id=msg_id,
                **rec.model_dump(exclude={"type", "id", "message_id"}),
            )
            s.add(cand)
            s.flush()
            assert cand.id is not None
            self.cands[rec.id] = cand.id
        elif isinstance(rec, RatingRecord | RatingEventRecord):
            cand_id = self._cand(rec.candidate_id)
            if cand_id == _SKIP:
                raise _Duplicate()
            model = Rating if isinstance(rec, RatingRecord) else RatingEvent
            s.add(model(candidate_id=cand_id, **rec.model_dump(exclude={"type", "candidate_id"})))
            s.flush()
        elif isinstance(rec, ChoiceRecord):
            msg_id, _ = self._msg(rec.message_id)
            cand_id = self._cand(rec.candidate_id)
            if _SKIP in (msg_id, cand_id):
                raise _Duplicate()
            s.add(Choice(message_id=msg_id, candidate_id=cand_id, created_at=rec.created_at))
            s.flush()
        elif isinstance(rec, SafetyEventRecord):
            conv_id = self._conv(rec.conversation_id)
            if conv_id == _SKIP:
                raise _Duplicate()
            message_id = None if rec.message_id is None else self._msg(rec.message_id)[0]
            event_cand = None if rec.candidate_id is None else self._cand(rec.candidate_id)
            s.add(
                SafetyEvent(
                    conversation_id=conv_id,
                    message_id=message_id,
                    candidate_id=event_cand,
                    **rec.model_dump(
                        exclude={"type", "conversation_id", "message_id", "candidate_id"}
                    ),
                )
            )
            s.flush()
        self._count(rec.__class__.__name__.removesuffix("Record").lower())

    def finish(self, s: Session) -> None:
        for msg_id, shown, chosen in self.fixups:
            values = {
                "shown_candidate_id": self.cands.get(shown) if shown is not None else None,
                "chosen_candidate_id": self.cands.get(chosen) if chosen is not None else None,
            }
            s.execute(update(Message).where(col(Message.id) == msg_id).values(**values))


class _Duplicate(Exception):
    pass


def import_jsonl(store: Store, lines: Iterable[str]) -> ImportReport:
    """Import a JSONL export. Bad lines are reported (with line numbers) and skipped; the
    rest is imported. Work is committed every few hundred lines, so progress is durable."""
    imp = _Importer(store)
    engine = store.engine.execution_options(**{WRITE_OPTION: True})
    s = Session(engine, expire_on_commit=False)
    pending = 0
    try:
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                rec = parse_line(raw)
                # A savepoint per line: a database refusal undoes only that line.
                with s.begin_nested():
                    imp.apply(s, rec)
            except _Duplicate:
                imp.report.duplicates += 1
            except BadLine as e:
                imp.report.errors.append(ImportIssue(number, str(e)))
            except Exception as e:  # any database refusal is one bad line, never a crash
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                imp.report.errors.append(ImportIssue(number, f"refused by the database: {first}"))
            pending += 1
            if pending >= COMMIT_EVERY:
                s.commit()
                pending = 0
        imp.finish(s)
        s.commit()
    finally:
        s.close()
    return imp.report


# --- forget ----------------------------------------------------------------------------------


def forget(
    store: Store, conversation_id: int | None = None, *, everything: bool = False
) -> dict[str, int]:
    """Remove one conversation (or, with ``everything=True``, all of them) and all data
    derived from it, preference pairs included. Returns counts of what was removed."""
    if everything and conversation_id is not None:
        raise ValueError("give a conversation id or everything=True, not both")
    if everything:
        return store.forget_all()
    if conversation_id is None:
        raise ValueError("give a conversation id, or everything=True to forget all")
    return store.forget_conversation(conversation_id)
