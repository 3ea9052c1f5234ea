"""verified phones (issue #13, item 3): one-time codes sent by SMS, the citizen's proof of their phone,
and the development SMS sink's messages

Revision ID: 0013_phone_verification
Revises: 0015_tracking
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0013_phone_verification"
down_revision: str | Sequence[str] | None = "0015_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # existing phones were never proven: every account starts unverified
    op.add_column("citizens", sa.Column("phone_verified_at", portal.db.AwareDateTime(timezone=True)))
    op.create_table(
        "phone_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_phone_verifications_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verifications")),
    )
    op.create_index("ix_phone_verifications_citizen", "phone_verifications", ["citizen_id", "id"])
    op.create_table(
        "dev_sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("to_phone", sa.String(length=15), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_sms_messages")),
    )
    op.create_index(op.f("ix_dev_sms_messages_to_phone"), "dev_sms_messages", ["to_phone"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dev_sms_messages_to_phone"), table_name="dev_sms_messages")
    op.drop_table("dev_sms_messages")
    op.drop_index("ix_phone_verifications_citizen", table_name="phone_verifications")
    op.drop_table("phone_verifications")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_column("phone_verified_at")
