"""Alembic env: runs on the connection that ``feedback.db.migrate`` passes in.

Standalone ``alembic`` runs (for writing a new revision) read the URL from ``-x url=...``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import feedback.models  # noqa: F401  (registers the tables for autogenerate)
from feedback.store.search import SEARCH_OBJECTS

config = context.config
target_metadata = SQLModel.metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    # The search objects (0003, 0004) are raw SQL the models do not describe: never drop them.
    return name not in SEARCH_OBJECTS


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("pass -x url=... (the database to migrate)")
    engine = create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
