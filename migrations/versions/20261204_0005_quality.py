"""service quality: per-case facts, monthly roll-ups, satisfaction ratings, feedback and its history

Revision ID: 0005_quality
Revises: 0001
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0005_quality"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTERS = (
    "received",
    "online",
    "withdrawn",
    "decided",
    "decided_late",
    "results",
    "results_digitised",
    "with_attachments",
    "fee_bearing",
    "paid_online",
    "complaint_or_unsatisfied",
    "ratings",
    "rated_very_satisfied",
    "rated_satisfied",
    "rated_unsatisfied",
)


def upgrade() -> None:
    op.create_table(
        "quality_case_facts",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("procedure_code", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("received_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("supplement_requests", sa.Integer(), nullable=False),
        sa.Column("closed_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.Column("processing_days", sa.Integer(), nullable=True),
        sa.Column("fee_bearing", sa.Boolean(), nullable=False),
        sa.Column("paid_online", sa.Boolean(), nullable=False),
        sa.Column("has_attachments", sa.Boolean(), nullable=False),
        sa.Column("e_result", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("invited_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_quality_case_facts_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_quality_case_facts")),
    )
    op.create_index(
        "ix_quality_case_facts_open",
        "quality_case_facts",
        ["month", "agency_id", "procedure_code"],
        unique=False,
        postgresql_include=["due_date", "paused_since", "supplement_requests"],
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "quality_monthly",
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("procedure_code", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS],
        sa.Column("processing_days", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "procedure_code", "month", name=op.f("pk_quality_monthly")),
    )
    op.create_index("ix_quality_monthly_month", "quality_monthly", ["month", "agency_id"], unique=False)
    op.create_table(
        "quality_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("overall", sa.String(length=16), nullable=False),
        sa.Column("on_time", sa.String(length=16), nullable=False),
        sa.Column("staff_attitude", sa.String(length=16), nullable=False),
        sa.Column("ease_of_use", sa.String(length=16), nullable=False),
        sa.Column("contacts", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("editable_until", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_quality_ratings_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_ratings")),
        sa.UniqueConstraint("application_id", name=op.f("uq_quality_ratings_application_id")),
    )
    op.create_index("ix_quality_ratings_agency", "quality_ratings", ["agency_id", "created_at"], unique=False)
    op.create_table(
        "quality_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=True),
        sa.Column("procedure_code", sa.String(length=20), nullable=True),
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=15), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("refuse_due", sa.Date(), nullable=False),
        sa.Column("info_due", sa.Date(), nullable=False),
        sa.Column("resolve_due", sa.Date(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", portal.db.AwareDateTime(timezone=True), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_quality_feedback_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_feedback")),
        sa.UniqueConstraint("code", name=op.f("uq_quality_feedback_code")),
    )
    op.create_index(
        op.f("ix_quality_feedback_application_id"), "quality_feedback", ["application_id"], unique=False
    )
    op.create_index(
        "ix_quality_feedback_queue",
        "quality_feedback",
        ["agency_id", "status", "resolve_due", "id"],
        unique=False,
    )
    op.create_table(
        "quality_feedback_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("at", portal.db.AwareDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.String(length=40), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["quality_feedback.id"],
            name=op.f("fk_quality_feedback_events_feedback_id_quality_feedback"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_feedback_events")),
    )
    op.create_index(
        op.f("ix_quality_feedback_events_feedback_id"),
        "quality_feedback_events",
        ["feedback_id"],
        unique=False,
    )
    # feedback history is append-only, like the case history
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION quality_feedback_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'feedback history is immutable'; END $$"
        )
        op.execute(
            "CREATE TRIGGER quality_feedback_events_immutable BEFORE UPDATE OR DELETE "
            "ON quality_feedback_events FOR EACH ROW EXECUTE FUNCTION quality_feedback_events_immutable()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER quality_feedback_events_no_{verb.lower()} BEFORE {verb} "
                "ON quality_feedback_events BEGIN SELECT RAISE(ABORT, 'feedback history is immutable'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS quality_feedback_events_immutable ON quality_feedback_events")
        op.execute("DROP FUNCTION IF EXISTS quality_feedback_events_immutable()")
    op.drop_table("quality_feedback_events")
    op.drop_table("quality_feedback")
    op.drop_table("quality_ratings")
    op.drop_table("quality_monthly")
    op.drop_table("quality_case_facts")
