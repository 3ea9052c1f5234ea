"""school fees: a link code per student (printed on the fee notice) and the citizen ↔ student links
it proves (security review #5: a parent's phone alone no longer opens a child's fees)

Revision ID: sec5_fee_student_links
Revises: 0007_merge_domains
Create Date: 2026-12-06 09:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "sec5_fee_student_links"
down_revision: str | Sequence[str] | None = "0007_merge_domains"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as portal.payments_app.models.LINK_CODE_ALPHABET at the time of writing (a migration must not move)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def upgrade() -> None:
    op.add_column("fee_students", sa.Column("link_code", sa.String(8), nullable=True))
    students = sa.table("fee_students", sa.column("id", sa.Integer()), sa.column("link_code", sa.String()))
    bind = op.get_bind()
    for (student_id,) in bind.execute(sa.select(students.c.id)).all():
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        bind.execute(students.update().where(students.c.id == student_id).values(link_code=code))
    op.create_table(
        "fee_student_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_fee_student_links_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["fee_students.id"], name=op.f("fk_fee_student_links_student_id_fee_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_student_links")),
        sa.UniqueConstraint("citizen_id", "student_id", name="uq_fee_student_links_citizen_student"),
    )
    op.create_index(op.f("ix_fee_student_links_student_id"), "fee_student_links", ["student_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_fee_student_links_student_id"), table_name="fee_student_links")
    op.drop_table("fee_student_links")
    op.drop_column("fee_students", "link_code")
