"""assistant: call-back requests and conversations belong to an agency (security review #15: staff
of one agency no longer read every agency's call-backs and transcripts)

Revision ID: sec15_assistant_agency
Revises: sec5_fee_student_links
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sec15_assistant_agency"
down_revision: str | Sequence[str] | None = "sec5_fee_student_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("assistant_callbacks", "assistant_conversations")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("agency_id", sa.String(32), nullable=True))
        op.create_index(op.f(f"ix_{table}_agency_id"), table, ["agency_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_agency_id"), table_name=table)
        op.drop_column(table, "agency_id")
