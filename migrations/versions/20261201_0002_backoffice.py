"""back office: staff, roles, case-access audit log, deadline alerts, queue columns on applications

Revision ID: 0002_backoffice
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0002_backoffice"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "closed_at IS NULL AND effective_due_date IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_members")),
        sa.UniqueConstraint("login", name=op.f("uq_staff_members_login")),
    )
    op.create_index(op.f("ix_staff_members_agency_id"), "staff_members", ["agency_id"], unique=False)
    op.create_table(
        "staff_roles",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_staff_roles_staff_id_staff_members")
        ),
        sa.PrimaryKeyConstraint("staff_id", "role", name=op.f("pk_staff_roles")),
    )
    op.create_table(
        "case_access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("staff_login", sa.String(length=100), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("case_code", sa.String(length=48), nullable=True),
        sa.Column("what", sa.String(length=60), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_access_log")),
    )
    op.create_index("ix_case_access_log_application", "case_access_log", ["application_id", "id"])
    op.create_index("ix_case_access_log_staff", "case_access_log", ["staff_id", "id"])
    op.create_table(
        "deadline_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_alerts")),
        sa.UniqueConstraint("application_id", "day", name="uq_deadline_alerts_case_day"),
    )

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("effective_due_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("applicant_name_folded", sa.String(length=100), nullable=False, server_default="")
        )
    _backfill()
    where = {"postgresql_where": sa.text(OPEN), "sqlite_where": sa.text(OPEN)}
    # INCLUDE (PostgreSQL only): status and name filters and the counts are answered from the index
    op.create_index(
        "ix_applications_open_due",
        "applications",
        ["agency_id", "effective_due_date", "id"],
        postgresql_include=["status", "applicant_name_folded", "procedure_code", "assignee_id"],
        **where,
    )
    op.create_index(
        "ix_applications_open_assignee",
        "applications",
        ["agency_id", "assignee_id", "effective_due_date", "id"],
        postgresql_include=["status"],
        **where,
    )
    op.create_index(
        "ix_applications_open_procedure",
        "applications",
        ["agency_id", "procedure_code", "effective_due_date", "id"],
        postgresql_include=["status"],
        **where,
    )
    op.create_index(
        "ix_applications_status_due", "applications", ["agency_id", "status", "effective_due_date", "id"]
    )
    op.create_index("ix_applications_cccd", "applications", ["applicant_cccd"])
    _forbid_access_log_changes()


def _backfill() -> None:
    """Cases submitted before this revision: due date as appointed, folded name for search."""
    from workflows.text import fold

    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE applications SET effective_due_date = due_date "
            "WHERE due_date IS NOT NULL AND effective_due_date IS NULL"
        )
    )
    rows = bind.execute(
        sa.text("SELECT id, applicant_name FROM applications WHERE applicant_name <> ''")
    ).all()
    for row_id, name in rows:
        bind.execute(
            sa.text("UPDATE applications SET applicant_name_folded = :f WHERE id = :id"),
            {"f": fold(name)[:100], "id": row_id},
        )


def _forbid_access_log_changes() -> None:
    """The access log is evidence, like the case history: the database refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION case_access_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'case access log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER case_access_log_immutable BEFORE UPDATE OR DELETE ON case_access_log "
            "FOR EACH ROW EXECUTE FUNCTION case_access_log_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER case_access_log_no_{verb.lower()} BEFORE {verb} ON case_access_log "
                "BEGIN SELECT RAISE(ABORT, 'case access log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_access_log_immutable ON case_access_log")
        op.execute("DROP FUNCTION IF EXISTS case_access_log_immutable()")
    for name in (
        "ix_applications_cccd",
        "ix_applications_status_due",
        "ix_applications_open_procedure",
        "ix_applications_open_assignee",
        "ix_applications_open_due",
    ):
        op.drop_index(name, table_name="applications")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("applicant_name_folded")
        batch_op.drop_column("effective_due_date")
        batch_op.drop_column("assignee_id")
    op.drop_table("deadline_alerts")
    op.drop_index("ix_case_access_log_staff", table_name="case_access_log")
    op.drop_index("ix_case_access_log_application", table_name="case_access_log")
    op.drop_table("case_access_log")
    op.drop_table("staff_roles")
    op.drop_index(op.f("ix_staff_members_agency_id"), table_name="staff_members")
    op.drop_table("staff_members")
