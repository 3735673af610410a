"""Export, import and forget: the user's control over their data.

The JSONL export holds one record per line: a header, then for each conversation the
conversation, its messages (parents first), candidates, ratings, rating events, choices and
safety events; then the memories (all of them, or those that came from the one conversation
exported). Ids in the file are the exporting database's; import maps them to new ones, and
skips conversations and memories whose ``uid`` is already present, so importing twice is
harmless. A memory's conversation is found by its uid when that conversation was already
there. Preference pairs, training runs and adapters are derived data and are not exported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select
from typing_extensions import TypeForm

from feedback.db import WRITE_OPTION
from feedback.models import (
    Candidate,
    Choice,
    Conversation,
    Memory,
    MemoryKind,
    MemorySource,
    MemoryStatus,
    Message,
    MessageStatus,
    Rating,
    RatingEvent,
    Role,
    SafetyAction,
    SafetyEvent,
    column_names,
    memory_key,
    utcnow,
)
from feedback.repo import NotFound, Store
from feedback.store.memories import check_memory_text

FORMAT = "companion-export"
VERSION = 1
COMMIT_EVERY = 500


# --- records ---------------------------------------------------------------------------------
#
# A record holds every column of its table model: each ``_...Keys`` class below declares the
# ids and references the importer remaps (and the type tag); `_with_columns` adds the model's
# other columns, so a new column is exported and imported with no edit here. The file lists a
# record's keys first, then the model's columns in table order, timestamps last.


class _Record(BaseModel):
    # Unknown keys are ignored so a newer export still imports what this version knows.
    model_config = ConfigDict(extra="ignore")


class HeaderRecord(_Record):
    type: Literal["companion-export"]
    version: int
    exported_at: datetime | None = None


class _ConversationKeys(_Record):
    type: Literal["conversation"]
    id: int
    uid: str


class _MessageKeys(_Record):
    type: Literal["message"]
    id: int
    conversation_id: int
    parent_id: int | None = None


class _CandidateKeys(_Record):
    type: Literal["candidate"]
    id: int
    message_id: int


class _RatingKeys(_Record):
    type: Literal["rating"]
    candidate_id: int


class _RatingEventKeys(_Record):
    type: Literal["rating_event"]
    candidate_id: int


class _ChoiceKeys(_Record):
    type: Literal["choice"]
    message_id: int
    candidate_id: int


class _SafetyEventKeys(_Record):
    type: Literal["safety_event"]
    conversation_id: int
    message_id: int | None = None
    candidate_id: int | None = None


class _MemoryKeys(_Record):
    type: Literal["memory"]
    uid: str
    conversation_id: int | None = None
    message_id: int | None = None


K = TypeVar("K", bound=_Record)
_Field = tuple[TypeForm[object] | None, object]
"""A record field as `create_model` takes it: (type, default), ``...`` for required."""


def _is_stamp(info: FieldInfo) -> bool:
    """A timestamp the database fills in when a row is made: a file must state it."""
    return info.default_factory is utcnow


def _with_columns(name: str, keys: type[K], model: type[SQLModel], **stricter: _Field) -> type[K]:
    """The record `keys` plus every other column of `model` (not its ``id``).

    A column takes the model's type and default, except that a timestamp is required;
    `stricter` gives (type, default) for the columns a file is checked harder on.
    """
    infos = model.model_fields
    names = [n for n in column_names(model) if n != "id" and n not in keys.model_fields]
    names.sort(key=lambda n: _is_stamp(infos[n]))  # stable: timestamps last
    fields: dict[str, _Field] = {}
    for column in names:
        info = infos[column]
        if column in stricter:
            fields[column] = stricter[column]
        elif info.is_required() or _is_stamp(info):
            fields[column] = (info.annotation, ...)
        elif info.default_factory is not None:
            fields[column] = (info.annotation, Field(default_factory=info.default_factory))
        else:
            fields[column] = (info.annotation, info.default)
    # The cast: mypy checks each value of a ``**`` dict against every keyword parameter,
    # create_model's own options (__config__, __doc__, ...) included.
    return create_model(name, __base__=keys, __module__=__name__, **cast(dict[str, Any], fields))


ConversationRecord = _with_columns("ConversationRecord", _ConversationKeys, Conversation)
MessageRecord = _with_columns(
    "MessageRecord",
    _MessageKeys,
    Message,
    role=(Role, ...),
    text=(str, ...),
    status=(MessageStatus, "complete"),
)
CandidateRecord = _with_columns(
    "CandidateRecord",
    _CandidateKeys,
    Candidate,
    index=(int, ...),
    text=(str, ...),
    safety_action=(SafetyAction, "none"),
)
RatingRecord = _with_columns("RatingRecord", _RatingKeys, Rating, value=(Literal[1, -1], ...))
RatingEventRecord = _with_columns(
    "RatingEventRecord", _RatingEventKeys, RatingEvent, value=(Literal[1, -1] | None, None)
)
ChoiceRecord = _with_columns("ChoiceRecord", _ChoiceKeys, Choice)
SafetyEventRecord = _with_columns("SafetyEventRecord", _SafetyEventKeys, SafetyEvent)
MemoryRecord = _with_columns(
    "MemoryRecord",
    _MemoryKeys,
    Memory,
    text=(str, ...),
    kind=(MemoryKind, "note"),
    status=(MemoryStatus, "active"),
    source=(MemorySource, "user"),
)

RECORD_TYPES: dict[str, type[_Record]] = {
    "companion-export": HeaderRecord,
    "conversation": ConversationRecord,
    "message": MessageRecord,
    "candidate": CandidateRecord,
    "rating": RatingRecord,
    "rating_event": RatingEventRecord,
    "choice": ChoiceRecord,
    "safety_event": SafetyEventRecord,
    "memory": MemoryRecord,
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


_TYPE_OF: dict[type[_Record], str] = {cls: kind for kind, cls in RECORD_TYPES.items()}


def _line(record: type[_Record], row: SQLModel) -> dict[str, object]:
    """`row` as an export line: the record's type, then its columns in the record's order."""
    out: dict[str, object] = {"type": _TYPE_OF[record]}
    for name in record.model_fields:
        if name != "type":
            value = getattr(row, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _conversation_records(s: Session, conv: Conversation) -> Iterator[dict[str, object]]:
    yield _line(ConversationRecord, conv)
    msgs = list(
        s.exec(
            select(Message).where(col(Message.conversation_id) == conv.id).order_by(col(Message.id))
        )
    )
    msg_ids = [m.id for m in msgs]
    for m in msgs:
        yield _line(MessageRecord, m)
    cands = list(
        s.exec(
            select(Candidate)
            .where(col(Candidate.message_id).in_(msg_ids))
            .order_by(col(Candidate.message_id), col(Candidate.index))
        )
    )
    cand_ids = [c.id for c in cands]
    for c in cands:
        yield _line(CandidateRecord, c)
    for r in s.exec(
        select(Rating).where(col(Rating.candidate_id).in_(cand_ids)).order_by(col(Rating.id))
    ):
        yield _line(RatingRecord, r)
    for e in s.exec(
        select(RatingEvent)
        .where(col(RatingEvent.candidate_id).in_(cand_ids))
        .order_by(col(RatingEvent.id))
    ):
        yield _line(RatingEventRecord, e)
    for ch in s.exec(
        select(Choice).where(col(Choice.message_id).in_(msg_ids)).order_by(col(Choice.id))
    ):
        yield _line(ChoiceRecord, ch)
    for ev in s.exec(
        select(SafetyEvent)
        .where(col(SafetyEvent.conversation_id) == conv.id)
        .order_by(col(SafetyEvent.id))
    ):
        yield _line(SafetyEventRecord, ev)


def _conversation_ids(store: Store, conversation_id: int | None) -> list[int]:
    if conversation_id is not None:
        if store.get_conversation(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return [conversation_id]
    with Session(store.engine) as s:
        return [i for i in s.exec(select(col(Conversation.id)).order_by(col(Conversation.id))) if i]


def _memory_records(store: Store, conversation_id: int | None) -> Iterator[dict[str, object]]:
    stmt = select(Memory).order_by(col(Memory.id))
    if conversation_id is not None:
        stmt = stmt.where(col(Memory.conversation_id) == conversation_id)
    with Session(store.engine) as s:
        rows = list(s.exec(stmt))
    for m in rows:
        yield _line(MemoryRecord, m)


def export_jsonl(store: Store, out: IO[str], conversation_id: int | None = None) -> int:
    """Write the JSONL export; returns the number of conversations written."""
    ids = _conversation_ids(store, conversation_id)
    header = {"type": FORMAT, "version": VERSION, "exported_at": store._now().isoformat()}
    out.write(json.dumps(header) + "\n")
    for cid in ids:
        # One short read transaction per conversation: a long export never blocks writers.
        with Session(store.engine) as s:
            conv = s.get(Conversation, cid)
            if conv is None:  # deleted while exporting
                continue
            for rec in _conversation_records(s, conv):
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    # Last, so every conversation a memory names is already in the file.
    for rec in _memory_records(store, conversation_id):
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
_CANDIDATE_REFS = ("shown_candidate_id", "chosen_candidate_id")
"""Message columns that name a candidate (later in the file): patched in at the end."""


def _columns(rec: _Record, keys: type[_Record]) -> dict[str, Any]:
    """A record's columns other than its keys, to copy into the new row. (Any: what
    `model_dump` gives; the record has checked each value against its column's type.)"""
    return rec.model_dump(exclude=set(keys.model_fields))


class _Importer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.report = ImportReport()
        self.convs: dict[int, int] = {}
        self.present: dict[int, int] = {}  # old id -> id of the same conversation already here
        self.msgs: dict[int, tuple[int, int]] = {}  # old id -> (new id, new conversation id)
        self.cands: dict[int, int] = {}
        # Messages point at candidates that come later in the file: patched at the end.
        self.fixups: list[tuple[int, dict[str, int | None]]] = []

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
                select(col(Conversation.id)).where(col(Conversation.uid) == rec.uid)
            ).first()
            if existing is not None:
                self.convs[rec.id] = _SKIP
                self.present[rec.id] = existing
                raise _Duplicate()
            conv = Conversation(uid=rec.uid, **_columns(rec, _ConversationKeys))
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
            columns = _columns(rec, _MessageKeys)
            refs: dict[str, int | None] = {name: columns.pop(name) for name in _CANDIDATE_REFS}
            msg = Message(conversation_id=conv_id, parent_id=parent, **columns)
            s.add(msg)
            s.flush()
            assert msg.id is not None
            self.msgs[rec.id] = (msg.id, conv_id)
            if any(old is not None for old in refs.values()):
                self.fixups.append((msg.id, refs))
        elif isinstance(rec, CandidateRecord):
            msg_id, _ = self._msg(rec.message_id)
            if msg_id == _SKIP:
                self.cands[rec.id] = _SKIP
                raise _Duplicate()
            if rec.id in self.cands:
                raise BadLine(f"candidate {rec.id} appears twice")
            cand = Candidate(message_id=msg_id, **_columns(rec, _CandidateKeys))
            s.add(cand)
            s.flush()
            assert cand.id is not None
            self.cands[rec.id] = cand.id
        elif isinstance(rec, RatingRecord | RatingEventRecord):
            cand_id = self._cand(rec.candidate_id)
            if cand_id == _SKIP:
                raise _Duplicate()
            if isinstance(rec, RatingRecord):
                s.add(Rating(candidate_id=cand_id, **_columns(rec, _RatingKeys)))
            else:
                s.add(RatingEvent(candidate_id=cand_id, **_columns(rec, _RatingEventKeys)))
            s.flush()
        elif isinstance(rec, ChoiceRecord):
            msg_id, _ = self._msg(rec.message_id)
            cand_id = self._cand(rec.candidate_id)
            if _SKIP in (msg_id, cand_id):
                raise _Duplicate()
            s.add(Choice(message_id=msg_id, candidate_id=cand_id, **_columns(rec, _ChoiceKeys)))
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
                    **_columns(rec, _SafetyEventKeys),
                )
            )
            s.flush()
        elif isinstance(rec, MemoryRecord):
            self._memory(s, rec)
        self._count(rec.__class__.__name__.removesuffix("Record").lower())

    def _memory(self, s: Session, rec: _MemoryKeys) -> None:
        columns = _columns(rec, _MemoryKeys)
        try:
            columns["text"] = check_memory_text(columns["text"])
        except ValueError as e:
            raise BadLine(f"memory: text: {e}") from e
        conv_id: int | None = None
        msg_id: int | None = None
        if rec.conversation_id is not None:
            conv_id = self._conv(rec.conversation_id)
            if conv_id == _SKIP:
                conv_id = self.present[rec.conversation_id]
        if rec.message_id is not None:
            msg_id, msg_conv = self._msg(rec.message_id)
            if msg_id == _SKIP:
                msg_id = None  # the message is in a conversation that was already here
            elif msg_conv != conv_id:
                raise BadLine(f"message {rec.message_id} is not in the memory's conversation")
        if s.exec(select(col(Memory.id)).where(col(Memory.uid) == rec.uid)).first() is not None:
            raise _Duplicate()
        scope = (
            col(Memory.persona).is_(None)
            if columns["persona"] is None
            else col(Memory.persona) == columns["persona"]
        )
        key = memory_key(columns["text"])
        same = s.exec(select(Memory).where(scope, col(Memory.status) == columns["status"]))
        if any(memory_key(m.text) == key for m in same):
            raise _Duplicate()  # the same note, kept here under another uid
        s.add(Memory(uid=rec.uid, conversation_id=conv_id, message_id=msg_id, **columns))
        s.flush()

    def finish(self, s: Session) -> None:
        for msg_id, refs in self.fixups:
            values = {
                name: None if old is None else self.cands.get(old) for name, old in refs.items()
            }
            s.exec(update(Message).where(col(Message.id) == msg_id).values(**values))


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
