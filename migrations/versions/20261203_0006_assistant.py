"""assistant: conversations, messages (with ratings), call-back requests

Revision ID: 0006_assistant
Revises: 0001
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0006_assistant"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_conversations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("started_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizens.id"],
                                name=op.f("fk_assistant_conversations_citizen_id_citizens")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_conversations")),
    )
    op.create_index("ix_assistant_conversations_last", "assistant_conversations", ["last_message_at", "id"])
    op.create_index("ix_assistant_conversations_citizen", "assistant_conversations", ["citizen_id"])
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("payload", sa.String(length=500), nullable=True),
        sa.Column("at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("rating", sa.String(length=10), nullable=True),
        sa.Column("rated_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("rateable", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["assistant_conversations.id"],
                                name=op.f("fk_assistant_messages_conversation_id_assistant_conversations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_messages")),
    )
    op.create_index("ix_assistant_messages_conversation", "assistant_messages", ["conversation_id", "id"])
    op.create_table(
        "assistant_callbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=True),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("done_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_by_name", sa.String(length=100), nullable=True),
        sa.Column("staff_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_callbacks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_assistant_callbacks_idempotency_key")),
    )
    op.create_index("ix_assistant_callbacks_status", "assistant_callbacks", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_assistant_callbacks_status", table_name="assistant_callbacks")
    op.drop_table("assistant_callbacks")
    op.drop_index("ix_assistant_messages_conversation", table_name="assistant_messages")
    op.drop_table("assistant_messages")
    op.drop_index("ix_assistant_conversations_citizen", table_name="assistant_conversations")
    op.drop_index("ix_assistant_conversations_last", table_name="assistant_conversations")
    op.drop_table("assistant_conversations")
