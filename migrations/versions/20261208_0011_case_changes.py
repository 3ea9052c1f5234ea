"""case-change outbox: consumers (quality facts, rating invitations) run after commit, not inside it

Revision ID: 0011_case_changes
Revises: 0010_rate_limit_expiry
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0011_case_changes"
down_revision: str | Sequence[str] | None = "0010_rate_limit_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_changes")),
    )
    # cases changed before this revision were already counted by the in-transaction listeners


def downgrade() -> None:
    op.drop_table("case_changes")
