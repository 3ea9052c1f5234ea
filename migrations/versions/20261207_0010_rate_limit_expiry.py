"""rate-limit windows carry their end, so pruning needs no knowledge of the limiters' window lengths

Revision ID: 0010_rate_limit_expiry
Revises: sec15_assistant_agency
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_rate_limit_expiry"
down_revision: str | Sequence[str] | None = "sec15_assistant_agency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # rows written before this revision end "at 0": the next pruning removes them (at worst a
    # running lock-out window is forgotten once, at deployment)
    with op.batch_alter_table("rate_limit_hits") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=False, server_default="0"))
        batch.create_index(batch.f("ix_rate_limit_hits_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("rate_limit_hits") as batch:
        batch.drop_index(batch.f("ix_rate_limit_hits_expires_at"))
        batch.drop_column("expires_at")
