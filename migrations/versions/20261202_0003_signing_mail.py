"""signed result documents and the e-mail outbox

Revision ID: 0003_signing_mail
Revises: 0001
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0003_signing_mail"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "result_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column("issued_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_result_documents_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_documents")),
    )
    op.create_index("ix_result_documents_application", "result_documents", ["application_id", "issued_at"])

    op.create_table(
        "outbox_emails",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("case_id", sa.String(length=48), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_emails")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_emails_dedupe_key")),
    )
    op.create_index("ix_outbox_emails_due", "outbox_emails", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_emails_case", "outbox_emails", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_emails_case", table_name="outbox_emails")
    op.drop_index("ix_outbox_emails_due", table_name="outbox_emails")
    op.drop_table("outbox_emails")
    op.drop_index("ix_result_documents_application", table_name="result_documents")
    op.drop_table("result_documents")
