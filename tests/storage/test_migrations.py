"""Migrations: from every revision with data in it to head, nothing lost.

To cover a new revision: add a seed for the revision before it to ``SEEDS`` (raw SQL valid
at that revision). ``test_upgrade_from_each_revision_keeps_every_row`` then upgrades from
there with data in place and checks each old row is still there, column by column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from feedback.db import alembic_config, current_revision, head_revision, make_engine, migrate
from feedback.repo import Store
from feedback.store.search import SEARCH_OBJECTS

REVISIONS: list[str] = [
    s.revision
    for s in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]

T0 = "2026-01-02 03:04:05"


def _seed_0001(conn: Connection) -> None:
    """A small but complete data set in the first schema: a branched conversation with
    candidates, feedback, safety, pairs, a run and an active adapter."""
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "INSERT INTO conversation"
            " (id, created_at, persona, title, never_train, uid, updated_at)"
            " VALUES (1, :t, 'default', 'Seeded', false, 'uid-1', :t)",
            {},
        ),
        (
            "INSERT INTO message (id, created_at, conversation_id, parent_id, role, text, status,"
            " shown_candidate_id, chosen_candidate_id)"
            " VALUES (1, :t, 1, NULL, 'user', 'hello', 'complete', NULL, NULL)",
            {},
        ),
        (
            "INSERT INTO message (id, created_at, conversation_id, parent_id, role, text, status,"
            " shown_candidate_id, chosen_candidate_id)"
            " VALUES (2, :t, 1, 1, 'assistant', 'hi!', 'complete', 2, 2)",
            {},
        ),
        (
            "INSERT INTO message (id, created_at, conversation_id, parent_id, role, text, status,"
            " shown_candidate_id, chosen_candidate_id)"
            " VALUES (3, :t, 1, 2, 'user', 'branch a', 'complete', NULL, NULL)",
            {},
        ),
        (
            "INSERT INTO message (id, created_at, conversation_id, parent_id, role, text, status,"
            " shown_candidate_id, chosen_candidate_id)"
            " VALUES (4, :t, 1, 2, 'user', 'branch b', 'interrupted', NULL, NULL)",
            {},
        ),
        *[
            (
                'INSERT INTO candidate (id, created_at, message_id, "index", text, raw_text,'
                " params, base_model, adapter_version, safety, safety_action, latency, shown)"
                " VALUES (:id, :t, 2, :ix, :text, NULL, :params, 'smollm2', 'v1', :safety,"
                " 'none', :latency, true)",
                {
                    "id": i + 1,
                    "ix": i,
                    "text": ["hey", "hi!"][i],
                    "params": json.dumps({"temperature": 0.8}),
                    "safety": json.dumps({"toxicity": 0.01}),
                    "latency": json.dumps({"ttft_ms": 100 + i}),
                },
            )
            for i in range(2)
        ],
        (
            "INSERT INTO rating (id, created_at, candidate_id, value, reason, comment, updated_at)"
            " VALUES (1, :t, 1, -1, 'dull', 'meh', :t)",
            {},
        ),
        (
            "INSERT INTO rating_event (id, created_at, candidate_id, value, reason, comment)"
            " VALUES (1, :t, 1, -1, 'dull', 'meh')",
            {},
        ),
        ("INSERT INTO choice (id, created_at, message_id, candidate_id) VALUES (1, :t, 2, 2)", {}),
        (
            "INSERT INTO safety_event (id, created_at, conversation_id, message_id, candidate_id,"
            " kind, action, scores, thresholds, original_text, final_text)"
            " VALUES (1, :t, 1, 2, 1, 'intensity', 'softened', :s, :th, 'HEY!!', 'hey')",
            {"s": json.dumps({"intensity": 0.9}), "th": json.dumps({"cap": 0.5})},
        ),
        (
            "INSERT INTO preference_pair (id, created_at, conversation_id, message_id, prompt,"
            " chosen, rejected, source, split, hash, chosen_candidate_id, rejected_candidate_id)"
            " VALUES (1, :t, 1, 2, :p, 'hi!', 'hey', 'choice', 'train', 'h1', 2, 1)",
            {"p": json.dumps([{"role": "user", "content": "hello"}])},
        ),
        (
            "INSERT INTO training_run (id, method, status, config, counts, metrics, error,"
            " adapter_version, started_at, finished_at)"
            " VALUES (1, 'dpo', 'succeeded', '{}', '{\"train\": 1}', '{}', NULL, 'v1', :t, :t)",
            {},
        ),
        (
            "INSERT INTO adapter_version (id, created_at, version, kind, path, parent_version,"
            " metrics, active, merged_path, training_run_id)"
            " VALUES (1, :t, 'v1', 'dpo', '/a/v1', NULL, '{}', true, NULL, 1)",
            {},
        ),
    ]
    for sql, params in rows:
        conn.execute(text(sql), {"t": T0, **params})
    if conn.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; real data never does this.
        for table in (
            "conversation",
            "message",
            "candidate",
            "rating",
            "rating_event",
            "choice",
            "safety_event",
            "preference_pair",
            "training_run",
            "adapter_version",
        ):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))


def _seed_0002(conn: Connection) -> None:
    """0001's data set, and memories: one from the conversation, one shared by hand."""
    _seed_0001(conn)
    for params in (
        {"id": 1, "text": "My sister is called Ana.", "kind": "person", "persona": "default",
         "status": "active", "source": "chat", "conv": 1, "msg": 1, "uid": "m-1"},
        {"id": 2, "text": "Loves hiking", "kind": "like", "persona": None,
         "status": "suggested", "source": "user", "conv": None, "msg": None, "uid": "m-2"},
    ):  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO memory (id, created_at, text, kind, persona, status, source,"
                " conversation_id, message_id, uid, updated_at) VALUES (:id, :t, :text, :kind,"
                " :persona, :status, :source, :conv, :msg, :uid, :t)"
            ),
            {"t": T0, **params},
        )
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT setval(pg_get_serial_sequence('memory', 'id'), 100)"))


def _seed_0003(conn: Connection) -> None:
    """0002's data set: 0003 only added the search index, which its triggers keep (SQLite)."""
    _seed_0002(conn)


SEEDS: dict[str, Callable[[Connection], None]] = {
    "0001": _seed_0001,
    "0002": _seed_0002,
    "0003": _seed_0003,
}


def _upgrade_to(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name == "alembic_version" or name in SEARCH_OBJECTS:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[name] = [dict(r) for r in rows]
    return out


def test_every_revision_has_a_seed() -> None:
    """A new revision must come with data to upgrade from (see the module docstring)."""
    assert REVISIONS[0] == "0001" and REVISIONS[-1] == head_revision()
    for rev in REVISIONS[:-1]:
        assert rev in SEEDS, f"add a seed for revision {rev}"


@pytest.mark.parametrize("start", list(SEEDS))
def test_upgrade_from_each_revision_keeps_every_row(db_url: str, start: str) -> None:
    engine = make_engine(db_url)
    try:
        _upgrade_to(engine, start)
        assert current_revision(engine) == start
        with engine.begin() as conn:
            SEEDS[start](conn)
        before = _snapshot(engine)
        assert sum(len(rows) for rows in before.values()) >= 14

        migrate(engine)  # the app's own path: start -> head
        assert current_revision(engine) == head_revision()
        after = _snapshot(engine)
        for table, rows in before.items():
            assert table in after, f"table {table} vanished"
            new_rows = {r["id"]: r for r in after[table]}
            for row in rows:
                kept = new_rows.get(row["id"])
                assert kept is not None, f"{table} row {row['id']} lost"
                assert {k: kept.get(k) for k in row} == row, f"{table} row {row['id']} changed"

        # And the current code reads the old data correctly.
        store = Store(engine)
        turns = list(store.iter_turns())
        assert len(turns) == 1 and turns[0].context == [{"role": "user", "content": "hello"}]
        assert [(c.text, c.rating, c.chosen) for c in turns[0].candidates] == [
            ("hey", -1, False),
            ("hi!", None, True),
        ]
        assert [m.text for m in store.children(2)] == ["branch a", "branch b"]
        # Old messages are searchable (0003 backfills FTS5; 0004 fills PostgreSQL's column).
        hits = store.search_messages("branch", exclude_conversation=None, limit=5)
        assert [h.text for h in hits] == ["branch a"]
        active = store.active_adapter()
        assert active is not None and active.version == "v1"
        assert store.count_pairs_by_source() == {"choice": 1}
        conv = store.get_conversation(1)
        assert conv is not None and conv.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
        # New rows get fresh ids after the seeded ones.
        assert (store.create_conversation("default").id or 0) > 1
    finally:
        engine.dispose()


def test_models_match_the_migrations(db_url: str) -> None:
    """Changing feedback/models.py without a migration fails here."""
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            # The search objects (0003, 0004) are raw SQL the models do not describe.
            opts = {
                "compare_type": True,
                "include_name": lambda name, *_: name not in SEARCH_OBJECTS,
            }
            ctx = MigrationContext.configure(conn, opts=opts)
            diffs = compare_metadata(ctx, SQLModel.metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
