"""Merge the domain branches (back office, signing/mail, payments, quality, assistant) into one head.

Each domain's first migration was written in parallel on top of 0001; from here on the
history is linear again, so `alembic upgrade head` and autogenerate work without --head.

Revision ID: 0007_merge_domains
Revises: 0002_backoffice, 0003_signing_mail, 0004_payments, 0005_quality, 0006_assistant
Create Date: 2026-11-28
"""

from collections.abc import Sequence

revision: str = "0007_merge_domains"
down_revision: str | Sequence[str] | None = (
    "0002_backoffice",
    "0003_signing_mail",
    "0004_payments",
    "0005_quality",
    "0006_assistant",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
