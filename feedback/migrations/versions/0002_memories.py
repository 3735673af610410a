"""Long-term memory: short notes about the user, per persona or shared.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Plain SQLAlchemy types here (not feedback.models), so the revision stays valid as models
change (see 0001).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memory",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("persona", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_memory_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_memory_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory")),
        sa.UniqueConstraint("uid", name=op.f("uq_memory_uid")),
    )
    op.create_index("ix_memory_status_persona", "memory", ["status", "persona"], unique=False)
    op.create_index("ix_memory_conversation_id", "memory", ["conversation_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_memory_conversation_id", table_name="memory")
    op.drop_index("ix_memory_status_persona", table_name="memory")
    op.drop_table("memory")
