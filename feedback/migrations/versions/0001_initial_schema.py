"""Initial schema: the whole feedback database.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Revisions are append-only: never edit one that has shipped; add a new one. Use plain
SQLAlchemy types here (not feedback.models), so the revision stays valid as models change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("persona", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("never_train", sa.Boolean(), nullable=False),
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
        sa.UniqueConstraint("uid", name=op.f("uq_conversation_uid")),
    )
    op.create_index("ix_conversation_updated_at", "conversation", ["updated_at"], unique=False)

    op.create_table(
        "training_run",
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("adapter_version", sa.String(length=100), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_run")),
    )
    op.create_index("ix_training_run_started_at", "training_run", ["started_at"], unique=False)

    op.create_table(
        "adapter_version",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("parent_version", sa.String(length=100), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("merged_path", sa.Text(), nullable=True),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["training_run.id"],
            name=op.f("fk_adapter_version_training_run_id_training_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adapter_version")),
        sa.UniqueConstraint("version", name=op.f("uq_adapter_version_version")),
    )
    op.create_index(
        "uq_adapter_version_one_active",
        "adapter_version",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "message",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shown_candidate_id", sa.Integer(), nullable=True),
        sa.Column("chosen_candidate_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["message.id"],
            name=op.f("fk_message_parent_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    op.create_index(
        "ix_message_conversation_id_id", "message", ["conversation_id", "id"], unique=False
    )
    op.create_index("ix_message_parent_id", "message", ["parent_id"], unique=False)

    op.create_table(
        "candidate",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("base_model", sa.String(length=500), nullable=True),
        sa.Column("adapter_version", sa.String(length=100), nullable=True),
        sa.Column("safety", sa.JSON(), nullable=False),
        sa.Column("safety_action", sa.String(length=16), nullable=False),
        sa.Column("latency", sa.JSON(), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_candidate_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate")),
        sa.UniqueConstraint("message_id", "index", name="uq_candidate_message_index"),
    )
    op.create_table(
        "preference_pair",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("prompt", sa.JSON(), nullable=False),
        sa.Column("chosen", sa.Text(), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("split", sa.String(length=16), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("chosen_candidate_id", sa.Integer(), nullable=True),
        sa.Column("rejected_candidate_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_preference_pair_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_preference_pair_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_pair")),
        sa.UniqueConstraint("hash", name=op.f("uq_preference_pair_hash")),
    )
    op.create_index(
        "ix_preference_pair_conversation_id", "preference_pair", ["conversation_id"], unique=False
    )
    op.create_index("ix_preference_pair_split", "preference_pair", ["split"], unique=False)

    op.create_table(
        "choice",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_choice_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_choice_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_choice")),
    )
    op.create_index("ix_choice_created_at", "choice", ["created_at"], unique=False)
    op.create_index("ix_choice_message_id", "choice", ["message_id"], unique=False)

    op.create_table(
        "rating",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_rating_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating")),
        sa.UniqueConstraint("candidate_id", name=op.f("uq_rating_candidate_id")),
    )
    op.create_index("ix_rating_updated_at", "rating", ["updated_at"], unique=False)

    op.create_table(
        "rating_event",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_rating_event_candidate_id_candidate"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_event")),
    )
    op.create_index("ix_rating_event_candidate_id", "rating_event", ["candidate_id"], unique=False)

    op.create_table(
        "safety_event",
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=True),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidate.id"],
            name=op.f("fk_safety_event_candidate_id_candidate"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_safety_event_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_safety_event_message_id_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_event")),
    )
    op.create_index(
        "ix_safety_event_conversation_id", "safety_event", ["conversation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_safety_event_conversation_id", table_name="safety_event")

    op.drop_table("safety_event")
    op.drop_index("ix_rating_event_candidate_id", table_name="rating_event")

    op.drop_table("rating_event")
    op.drop_index("ix_rating_updated_at", table_name="rating")

    op.drop_table("rating")
    op.drop_index("ix_choice_message_id", table_name="choice")
    op.drop_index("ix_choice_created_at", table_name="choice")

    op.drop_table("choice")
    op.drop_index("ix_preference_pair_split", table_name="preference_pair")
    op.drop_index("ix_preference_pair_conversation_id", table_name="preference_pair")

    op.drop_table("preference_pair")
    op.drop_table("candidate")
    op.drop_index("ix_message_parent_id", table_name="message")
    op.drop_index("ix_message_conversation_id_id", table_name="message")

    op.drop_table("message")
    op.drop_index(
        "uq_adapter_version_one_active",
        table_name="adapter_version",
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.drop_table("adapter_version")
    op.drop_index("ix_training_run_started_at", table_name="training_run")

    op.drop_table("training_run")
    op.drop_index("ix_conversation_updated_at", table_name="conversation")

    op.drop_table("conversation")
