"""Engines, migrations bookkeeping and backups."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import inspect

from feedback.db import (
    DatabaseError,
    backup,
    current_revision,
    head_revision,
    integrity_check,
    make_engine,
    migrate,
    sqlite_path,
)
from feedback.repo import Store, open_store


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_sqlite_file_is_private_and_durable(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "companion.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        assert db.exists() and _mode(db) == 0o600
        assert _mode(db.parent) == 0o700
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragma == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 30_000,
            "synchronous": 2,  # FULL
        }
        migrate(engine)
        Store(engine).create_conversation("default")
        for side in db.parent.iterdir():  # -wal / -shm inherit the private mode
            assert _mode(side) == 0o600, side
    finally:
        engine.dispose()


def test_existing_loose_file_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert _mode(db) == 0o600


def test_unsupported_url_is_a_one_line_error() -> None:
    with pytest.raises(DatabaseError, match="unsupported database URL mysql"):
        make_engine("mysql://u:secret@h/db")
    with pytest.raises(DatabaseError) as info:
        make_engine("mysql://u:secret@h/db")
    assert "secret" not in str(info.value)


def test_plain_postgresql_url_uses_psycopg3() -> None:
    engine = make_engine("postgresql://u@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg"
    assert sqlite_path(engine) is None


def test_migrate_is_idempotent_and_reports_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"conversation", "message", "candidate", "rating", "preference_pair"} <= tables
        assert migrate(engine) is None  # nothing pending: no work, no backup
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_backup_only_when_an_upgrade_is_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'companion.db'}"
    backups = tmp_path / "backups"
    engine = make_engine(url)
    try:
        # A fresh, empty database has nothing worth a backup.
        assert migrate(engine, backups) is None
        Store(engine).create_conversation("default", "precious")
        assert migrate(engine, backups) is None
        assert not backups.exists() or not any(backups.iterdir())
    finally:
        engine.dispose()


def test_pending_upgrade_backs_up_the_data_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With data at an older revision, migrate copies the file before touching the schema."""
    import feedback.db as db_mod

    url = f"sqlite:///{tmp_path / 'companion.db'}"
    engine = make_engine(url)
    try:
        migrate(engine)
        Store(engine).create_conversation("default", "precious")
        # A future head: the current schema counts as behind, so an upgrade is pending.
        monkeypatch.setattr(db_mod, "head_revision", lambda: "9999_future")
        upgraded: list[str] = []
        monkeypatch.setattr(db_mod.command, "upgrade", lambda cfg, rev: upgraded.append(rev))
        made = migrate(engine, tmp_path / "backups")
        assert made is not None and made.parent == tmp_path / "backups"
        assert upgraded == ["head"]
        assert _mode(made) == 0o600
        with sqlite3.connect(made) as copy:
            assert copy.execute("SELECT title FROM conversation").fetchall() == [("precious",)]
        copy.close()
    finally:
        engine.dispose()


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'companion.db'}")
    try:
        migrate(engine)
        store = Store(engine)
        conv = store.create_conversation("default", "kept")
        store.add_message(conv.id, "user", "hello")  # type: ignore[arg-type]
        first = backup(engine, tmp_path / "b")
        second = backup(engine, tmp_path / "b", label="manual")
        assert first != second and "manual" in second.name
        copy = make_engine(f"sqlite:///{first}")
        try:
            assert current_revision(copy) == head_revision()
            assert integrity_check(copy) == "ok"
            assert [m.text for m in Store(copy).messages(conv.id)] == ["hello"]  # type: ignore[arg-type]
        finally:
            copy.dispose()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_backup_of_postgres_uses_pg_dump(tmp_path: Path, postgres_url: str) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        Store(engine).create_conversation("default", "in the dump")
        dump = backup(engine, tmp_path / "b")
        assert dump.suffix == ".sql" and _mode(dump) == 0o600
        assert "in the dump" in dump.read_text()
    finally:
        engine.dispose()


def test_open_store_migrates_and_recovers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'companion.db'}"
    store = open_store(url, backup_dir=tmp_path / "b")
    conv = store.create_conversation("default")
    msg = store.add_message(conv.id, "assistant", "half a rep", status="generating")  # type: ignore[arg-type]
    store.engine.dispose()
    # A "crash" left the reply generating; the next start marks it interrupted.
    again = open_store(url, backup_dir=tmp_path / "b")
    try:
        got = again.get_message(msg.id)  # type: ignore[arg-type]
        assert got is not None and (got.status, got.text) == ("interrupted", "half a rep")
    finally:
        again.engine.dispose()


class _Locked(Exception):
    def __str__(self) -> str:
        return "database is locked"


def test_retrying_repeats_only_transient_errors() -> None:
    from sqlalchemy.exc import OperationalError

    from feedback.db import retrying

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, _Locked())
        return "ok"

    assert retrying(flaky, delay_s=0) == "ok" and len(calls) == 3

    def always_locked() -> None:
        raise OperationalError("INSERT", {}, _Locked())

    with pytest.raises(OperationalError):
        retrying(always_locked, attempts=2, delay_s=0)

    other: list[int] = []

    def broken() -> None:
        other.append(1)
        raise OperationalError("INSERT", {}, Exception("no such table: x"))

    with pytest.raises(OperationalError):
        retrying(broken, delay_s=0)
    assert len(other) == 1  # not a lock: no retry
