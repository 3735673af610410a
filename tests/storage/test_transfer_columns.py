"""Export and import carry every column of every exported model, whatever the models hold."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, col, select

from feedback.db import make_engine, migrate
from feedback.models import (
    Candidate,
    Choice,
    Conversation,
    Memory,
    Message,
    Rating,
    RatingEvent,
    SafetyEvent,
    column_names,
    table_of,
)
from feedback.repo import Store
from feedback.transfer import export, import_jsonl

from .test_transfer import _populate

EXPORTED: dict[str, type[SQLModel]] = {
    "conversation": Conversation,
    "message": Message,
    "candidate": Candidate,
    "rating": Rating,
    "rating_event": RatingEvent,
    "choice": Choice,
    "safety_event": SafetyEvent,
    "memory": Memory,
}
KEEP_ID = {"conversation", "message", "candidate"}
"""The records other records point at keep their (old) id in the file."""


@pytest.fixture
def other_store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def _export(store: Store) -> list[str]:
    buf = io.StringIO()
    export(store, buf)
    return buf.getvalue().splitlines()


def _points_at(model: type[SQLModel], column: str) -> str | None:
    """The table whose ids `column` holds, or None for a plain data column."""
    if column == "id":
        return table_of(model).name
    fks = list(table_of(model).c[column].foreign_keys)
    if fks:
        return fks[0].column.table.name
    # Plain integers by design (see feedback.models): they name a candidate.
    return "candidate" if column.endswith("_candidate_id") else None


def _rows(store: Store) -> dict[str, list[dict[str, object]]]:
    """Every row of the exported tables, all columns, ids replaced by their rank in their
    table (imported rows get new ids, in the same order)."""
    raw: dict[str, list[dict[str, object]]] = {}
    with Session(store.engine) as s:
        for kind, model in EXPORTED.items():
            objs = s.exec(select(model).order_by(col(table_of(model).c.id)))
            raw[kind] = [{c: getattr(o, c) for c in column_names(model)} for o in objs]
    rank = {
        table_of(model).name: {row["id"]: i for i, row in enumerate(raw[kind])}
        for kind, model in EXPORTED.items()
    }
    out: dict[str, list[dict[str, object]]] = {}
    for kind, model in EXPORTED.items():
        targets = {c: _points_at(model, c) for c in column_names(model)}
        out[kind] = [
            {c: v if v is None or (t := targets[c]) is None else rank[t][v] for c, v in row.items()}
            for row in raw[kind]
        ]
    return out


def test_every_column_is_in_the_file(store: Store) -> None:
    _populate(store)
    seen: dict[str, set[str]] = {kind: set() for kind in EXPORTED}
    for line in _export(store)[1:]:
        rec = json.loads(line)
        seen[rec.pop("type")].update(rec)
    for kind, model in EXPORTED.items():
        expected = set(column_names(model)) - (set() if kind in KEEP_ID else {"id"})
        assert seen[kind] == expected, kind


def test_every_column_round_trips(store: Store, other_store: Store) -> None:
    _populate(store)
    before = _rows(store)
    # The fixture data gives every column a non-default value somewhere, so a column the
    # transfer dropped would show.
    for kind, model in EXPORTED.items():
        for column in column_names(model):
            default = model.model_fields[column].get_default(call_default_factory=True)
            assert any(r[column] != default for r in before[kind]), (kind, column)
    report = import_jsonl(other_store, _export(store))
    assert report.ok, report.errors
    assert _rows(other_store) == before
