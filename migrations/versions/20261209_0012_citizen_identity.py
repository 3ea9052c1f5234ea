"""citizen identity: the PID and birth date verified by the identity provider, and provider links

Revision ID: 0012_citizen_identity
Revises: 0011_case_changes
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0012_citizen_identity"
down_revision: str | Sequence[str] | None = "0011_case_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizens") as batch:
        # an account created by the identity provider has no phone until the citizen gives one
        batch.alter_column("phone", existing_type=sa.String(length=15), nullable=True)
        batch.add_column(sa.Column("pid", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("identity_verified_at", portal.db.AwareDateTime(timezone=True), nullable=True)
        )
        batch.create_unique_constraint(batch.f("uq_citizens_pid"), ["pid"])
    op.create_table(
        "citizen_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_citizen_identities_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_citizen_identities_issuer")),
    )
    op.create_index(
        op.f("ix_citizen_identities_citizen_id"), "citizen_identities", ["citizen_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_citizen_identities_citizen_id"), table_name="citizen_identities")
    op.drop_table("citizen_identities")
    with op.batch_alter_table("citizens") as batch:
        batch.drop_constraint(batch.f("uq_citizens_pid"), type_="unique")
        batch.drop_column("identity_verified_at")
        batch.drop_column("birth_date")
        batch.drop_column("pid")
        batch.alter_column("phone", existing_type=sa.String(length=15), nullable=False)
