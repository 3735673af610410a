"""Indexed recall search: a stored tsvector on PostgreSQL, crisis conversations by index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

PostgreSQL: 0003's expression index made every match and every ranked row parse its text
again (the heap recheck and ``ts_rank``); ``message.text_search`` stores the vector once
(NULL for roles that are never recalled) under a GIN index, which replaces 0003's. Adding a
stored generated column rewrites ``message`` once, under an exclusive lock.

Both dialects: a partial index of the crisis events by conversation, so the recall filter
(no conversation that had a crisis) probes only those, however many other events there are.

The names here are listed in ``feedback.store.search.SEARCH_OBJECTS`` for autogenerate.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CRISIS_UP = (
    "CREATE INDEX ix_safety_event_crisis ON safety_event (conversation_id) WHERE kind = 'crisis'",
)
CRISIS_DOWN = ("DROP INDEX IF EXISTS ix_safety_event_crisis",)
POSTGRES_UP = (
    """ALTER TABLE message ADD COLUMN text_search tsvector GENERATED ALWAYS AS (
        CASE WHEN role IN ('user', 'assistant') THEN to_tsvector('simple', text) END) STORED""",
    # A pending list (fastupdate) is read in full by every search until it is merged.
    "CREATE INDEX ix_message_text_search ON message USING gin (text_search) "
    "WITH (fastupdate = off)",
    "DROP INDEX IF EXISTS ix_message_text_fts",
)
POSTGRES_DOWN = (
    "CREATE INDEX IF NOT EXISTS ix_message_text_fts ON message "
    "USING gin (to_tsvector('simple', text))",
    "DROP INDEX IF EXISTS ix_message_text_search",
    "ALTER TABLE message DROP COLUMN IF EXISTS text_search",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": CRISIS_UP, "postgresql": POSTGRES_UP + CRISIS_UP}.get(dialect, ())
    for sql in statements:
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": CRISIS_DOWN, "postgresql": CRISIS_DOWN + POSTGRES_DOWN}.get(dialect, ())
    for sql in statements:
        op.execute(sql)
