"""applications.change_version: every case change bumps it (the tracking page's cache key)

Revision ID: 0015_tracking
Revises: 0014_staff_security
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_tracking"
down_revision: str | Sequence[str] | None = "0014_staff_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("change_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("change_version")
