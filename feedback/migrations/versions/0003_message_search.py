"""Lexical search over what the user and the companion said (long-term memory's recall).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

SQLite: an FTS5 external-content table over ``message(text)`` (the text is stored once, in
``message``), kept in step by triggers, and backfilled here. PostgreSQL: a GIN expression index
on ``to_tsvector('simple', text)``; 'simple' because the chat may be in any language.

Only user and assistant messages are indexed; the query filters status and crisis itself
(status changes do not touch the index). A later revision that rebuilds ``message`` in SQLite
batch mode drops these triggers with the old table: it must call :func:`create_sqlite` again
(``INSERT INTO message_fts(message_fts) VALUES ('rebuild')`` would also index system rows).

The names here are listed in ``feedback.store.search.SEARCH_OBJECTS`` for autogenerate.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES = "('user', 'assistant')"

SQLITE_UP = (
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "text, content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"INSERT INTO message_fts(rowid, text) SELECT id, text FROM message WHERE role IN {_ROLES}",
    f"""CREATE TRIGGER message_fts_ai AFTER INSERT ON message WHEN new.role IN {_ROLES}
    BEGIN
        INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text);
    END""",
    # The 'delete' command must be given the text as it was indexed: the old row's.
    f"""CREATE TRIGGER message_fts_ad AFTER DELETE ON message WHEN old.role IN {_ROLES}
    BEGIN
        INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    f"""CREATE TRIGGER message_fts_au AFTER UPDATE OF text, role ON message
    BEGIN
        INSERT INTO message_fts(message_fts, rowid, text)
            SELECT 'delete', old.id, old.text WHERE old.role IN {_ROLES};
        INSERT INTO message_fts(rowid, text)
            SELECT new.id, new.text WHERE new.role IN {_ROLES};
    END""",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS message_fts_au",
    "DROP TRIGGER IF EXISTS message_fts_ad",
    "DROP TRIGGER IF EXISTS message_fts_ai",
    "DROP TABLE IF EXISTS message_fts",
)
POSTGRES_UP = (
    "CREATE INDEX ix_message_text_fts ON message USING gin (to_tsvector('simple', text))",
)
POSTGRES_DOWN = ("DROP INDEX IF EXISTS ix_message_text_fts",)


def create_sqlite() -> None:
    for sql in SQLITE_UP:
        op.execute(sql)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        create_sqlite()
    elif dialect == "postgresql":
        for sql in POSTGRES_UP:
            op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, ())
    for sql in statements:
        op.execute(sql)
