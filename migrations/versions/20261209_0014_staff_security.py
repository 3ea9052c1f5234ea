"""staff security: TOTP two-factor columns, recovery codes, server-side staff sessions, admin audit

Revision ID: 0014_staff_security
Revises: 0012_citizen_identity
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0014_staff_security"
down_revision: str | Sequence[str] | None = "0012_citizen_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_members") as batch:
        batch.add_column(sa.Column("totp_secret_enc", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", portal.db.AwareDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_staff_recovery_codes_staff_id_staff_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_recovery_codes")),
    )
    op.create_index(op.f("ix_staff_recovery_codes_staff_id"), "staff_recovery_codes", ["staff_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("two_factor", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_staff_sessions_staff_id_staff_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index("ix_staff_sessions_staff", "staff_sessions", ["staff_id", "revoked_at"])
    op.create_table(
        "staff_admin_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("actor_login", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_admin_audit")),
    )
    op.create_index("ix_staff_admin_audit_at", "staff_admin_audit", ["at"])
    op.create_index("ix_staff_admin_audit_actor", "staff_admin_audit", ["actor_login", "id"])
    _forbid_audit_changes()


def _forbid_audit_changes() -> None:
    """The admin audit is evidence: the database refuses UPDATE and DELETE (like case_access_log)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION staff_admin_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'staff admin audit is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER staff_admin_audit_immutable BEFORE UPDATE OR DELETE ON staff_admin_audit "
            "FOR EACH ROW EXECUTE FUNCTION staff_admin_audit_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER staff_admin_audit_no_{verb.lower()} BEFORE {verb} ON staff_admin_audit "
                "BEGIN SELECT RAISE(ABORT, 'staff admin audit is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS staff_admin_audit_immutable ON staff_admin_audit")
        op.execute("DROP FUNCTION IF EXISTS staff_admin_audit_immutable()")
    op.drop_index("ix_staff_admin_audit_actor", table_name="staff_admin_audit")
    op.drop_index("ix_staff_admin_audit_at", table_name="staff_admin_audit")
    op.drop_table("staff_admin_audit")
    op.drop_index("ix_staff_sessions_staff", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    op.drop_index(op.f("ix_staff_recovery_codes_staff_id"), table_name="staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    with op.batch_alter_table("staff_members") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret_enc")
