"""Engines, migrations and backups for the feedback database (SQLite or PostgreSQL).

Nothing here runs at import time: callers build the engine from the configured URL.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "companion_write"
"""Execution option marking a connection that will write: SQLite then starts with
BEGIN IMMEDIATE, so the write lock is taken (and waited for) up front instead of failing
with "database is locked" when a read transaction tries to upgrade."""

T = TypeVar("T")


class DatabaseError(Exception):
    """A database problem phrased as one line for the user."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a file-backed SQLite engine, else None."""
    if not is_sqlite(engine):
        return None
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the parent folder and an empty 0600 file before SQLite opens it."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    # The file may predate us with looser bits; -wal/-shm inherit the main file's mode.
    os.chmod(path, 0o600)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, set up for companion's durability and concurrency needs.

    SQLite: WAL, synchronous=FULL, foreign keys, a 30 s busy timeout, BEGIN IMMEDIATE for
    writes, a 0600 file. PostgreSQL: ``postgresql+psycopg://`` with pre-ping.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise DatabaseError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)}; "
        "use sqlite:///PATH or postgresql+psycopg://user:pass@host/db"
    )


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    db = parsed.database
    memory = not db or db == ":memory:"
    if not memory and db and not db.startswith("file:"):
        _prepare_sqlite_file(Path(db))
    if memory:
        # One shared connection, so every session sees the same in-memory database.
        kwargs.setdefault("poolclass", StaticPool)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # We emit BEGIN ourselves (below); the driver's implicit BEGIN is off.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit survives power loss too, not only a killed process.
        cur.execute("PRAGMA synchronous = FULL")
        # Forgotten data is overwritten, not left in free pages.
        cur.execute("PRAGMA secure_delete = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _transient(exc: OperationalError) -> bool:
    """A lock or serialization conflict that is worth retrying."""
    code = getattr(exc.orig, "sqlstate", None)
    if code in {"40001", "40P01"}:  # serialization failure, deadlock
        return True
    msg = str(exc.orig).lower()
    return "database is locked" in msg or "database is busy" in msg


def retrying(fn: Callable[[], T], *, attempts: int = 5, delay_s: float = 0.05) -> T:
    """Run `fn` again on a transient lock error; the busy timeout already waited once."""
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as e:
            if attempt == attempts - 1 or not _transient(e):
                raise
            time.sleep(delay_s * (2**attempt))
    raise AssertionError("unreachable")


# --- migrations ----------------------------------------------------------------------------


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    # configparser interpolation: a literal % in the path must be doubled.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty (never migrated) database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def migrate(engine: Engine, backup_dir: Path | None = None, revision: str = "head") -> Path | None:
    """Upgrade the schema to `revision`; returns the backup made first, if any.

    A file-backed SQLite database that holds data is backed up into `backup_dir` before an
    upgrade, and only when one is actually pending.
    """
    cfg = alembic_config()
    current = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if current == target:
        return None
    made: Path | None = None
    if backup_dir is not None and sqlite_path(engine) is not None and _has_tables(engine):
        made = backup(engine, backup_dir, label=f"pre-{target}")
    # BEGIN IMMEDIATE on SQLite: a second process migrating at the same time waits, then
    # finds the schema already at head (Alembic re-reads the version inside the transaction).
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return made


# --- backups -------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup(engine: Engine, backup_dir: Path, *, label: str = "") -> Path:
    """A consistent copy of the database in `backup_dir`; returns its path.

    SQLite: the online backup API (safe while others write). PostgreSQL: ``pg_dump``.
    """
    backup_dir.mkdir(parents=True, exist_ok=True)
    suffix = f"-{label}" if label else ""
    if is_sqlite(engine):
        dest = backup_dir / f"companion-{_stamp()}{suffix}.db"
        fd = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        raw = engine.raw_connection()
        try:
            src = raw.driver_connection
            assert isinstance(src, sqlite3.Connection)
            with sqlite3.connect(dest) as dst:
                src.backup(dst)
            dst.close()
        finally:
            raw.close()
        return dest
    if engine.dialect.name == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise DatabaseError("pg_dump not found; install the PostgreSQL client tools")
        dest = backup_dir / f"companion-{_stamp()}{suffix}.sql"
        url = engine.url.set(drivername="postgresql")
        env = dict(os.environ)
        if url.password is not None:
            env["PGPASSWORD"] = str(url.password)
        dsn = url.set(password=None).render_as_string(hide_password=False)
        with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            proc = subprocess.run(
                [pg_dump, "--no-owner", dsn], stdout=out, stderr=subprocess.PIPE, env=env
            )
        if proc.returncode != 0:
            dest.unlink(missing_ok=True)
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise DatabaseError(f"pg_dump failed: {err[-1] if err else proc.returncode}")
        return dest
    raise DatabaseError(f"backup is not supported for {engine.dialect.name}")


def integrity_check(engine: Engine) -> str:
    """SQLite's ``PRAGMA integrity_check`` result ("ok" when sound); "ok" elsewhere."""
    if not is_sqlite(engine):
        return "ok"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("PRAGMA integrity_check").fetchall()
    return "\n".join(str(r[0]) for r in rows)
