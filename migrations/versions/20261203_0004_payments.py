"""payments: schools, classes, students, fee items and invoices; payment attempts, refunds,
the append-only money ledger and payment history; bank statement lines; daily reports

Revision ID: 0004_payments
Revises: 0001
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portal.db

revision: str = "0004_payments"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("payment_ledger", "payment_events")


def _when() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", portal.db.AwareDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    aware = portal.db.AwareDateTime(timezone=True)
    op.create_table(
        "fee_schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.String(32), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("bank_bin", sa.String(6), nullable=True),
        sa.Column("bank_account", sa.String(19), nullable=True),
        sa.Column("bank_account_name", sa.String(100), nullable=False),
        _when(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schools")),
        sa.UniqueConstraint("code", name=op.f("uq_fee_schools_code")),
    )
    op.create_index(op.f("ix_fee_schools_agency_id"), "fee_schools", ["agency_id"])
    op.create_table(
        "fee_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_classes_school_id_fee_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_classes")),
        sa.UniqueConstraint("school_id", "name", name="uq_fee_classes_school_name"),
    )
    op.create_table(
        "fee_students",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(100), nullable=False),
        sa.Column("cccd", sa.String(12), nullable=False),
        sa.Column("parent_phone", sa.String(15), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when(),
        sa.Column("updated_at", aware, nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["fee_classes.id"], name=op.f("fk_fee_students_class_id_fee_classes")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_students_school_id_fee_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_students")),
        sa.UniqueConstraint("code", name=op.f("uq_fee_students_code")),
    )
    op.create_index(op.f("ix_fee_students_class_id"), "fee_students", ["class_id"])
    op.create_index(op.f("ix_fee_students_parent_phone"), "fee_students", ["parent_phone"])
    op.create_table(
        "fee_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("exemptible", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fee_items_amount_positive")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_items_school_id_fee_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_items")),
        sa.UniqueConstraint("school_id", "code", name="uq_fee_items_school_code"),
    )
    op.create_table(
        "fee_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(25), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("issued_at", aware, nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("paid_at", aware, nullable=True),
        sa.Column("paid_channel", sa.String(10), nullable=True),
        sa.Column("paid_attempt_id", sa.Integer(), nullable=True),
        sa.Column("paid_statement_line_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_fee_invoices_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["class_id"], ["fee_classes.id"], name=op.f("fk_fee_invoices_class_id_fee_classes")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_invoices_school_id_fee_schools")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["fee_students.id"], name=op.f("fk_fee_invoices_student_id_fee_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_invoices")),
        sa.UniqueConstraint("reference", name=op.f("uq_fee_invoices_reference")),
        sa.UniqueConstraint("student_id", "period", name="uq_fee_invoices_student_period"),
    )
    op.create_index("ix_fee_invoices_class_period", "fee_invoices", ["class_id", "period"])
    op.create_index("ix_fee_invoices_school_status", "fee_invoices", ["school_id", "status"])
    op.create_table(
        "fee_invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("fee_item_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["fee_invoices.id"], name=op.f("fk_fee_invoice_lines_invoice_id_fee_invoices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_invoice_lines")),
    )
    op.create_index(op.f("ix_fee_invoice_lines_invoice_id"), "fee_invoice_lines", ["invoice_id"])
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("txn_ref", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.String(200), nullable=True),
        sa.Column("order_info", sa.String(255), nullable=False),
        sa.Column("payer_name", sa.String(100), nullable=False),
        sa.Column("payer_phone", sa.String(15), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("client_ip", sa.String(45), nullable=False),
        _when(),
        sa.Column("updated_at", aware, nullable=False),
        sa.Column("transaction_date", aware, nullable=True),
        sa.Column("expires_at", aware, nullable=True),
        sa.Column("settled_at", aware, nullable=True),
        sa.Column("settled_by", sa.String(20), nullable=True),
        sa.Column("provider_txn_no", sa.String(40), nullable=True),
        sa.Column("bank_code", sa.String(20), nullable=True),
        sa.Column("card_type", sa.String(20), nullable=True),
        sa.Column("pay_date", aware, nullable=True),
        sa.Column("response_code", sa.String(4), nullable=True),
        sa.Column("transaction_status", sa.String(4), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("next_check_at", aware, nullable=True),
        sa.Column("check_count", sa.Integer(), nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_attempts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_payment_attempts_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint("txn_ref", name=op.f("uq_payment_attempts_txn_ref")),
    )
    op.create_index(op.f("ix_payment_attempts_application_id"), "payment_attempts", ["application_id"])
    op.create_index("ix_payment_attempts_state_check", "payment_attempts", ["state", "next_check_at"])
    op.create_table(
        "payment_attempt_invoices",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_payment_attempt_invoices_attempt_id_payment_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["fee_invoices.id"],
            name=op.f("fk_payment_attempt_invoices_invoice_id_fee_invoices"),
        ),
        sa.PrimaryKeyConstraint("attempt_id", "invoice_id", name=op.f("pk_payment_attempt_invoices")),
    )
    op.create_index(
        op.f("ix_payment_attempt_invoices_invoice_id"), "payment_attempt_invoices", ["invoice_id"]
    )
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(100), nullable=False),
        _when(),
        sa.Column("settled_at", aware, nullable=True),
        sa.Column("request_id", sa.String(40), nullable=True),
        sa.Column("response_code", sa.String(4), nullable=True),
        sa.Column("message", sa.String(255), nullable=True),
        sa.Column("transaction_status", sa.String(4), nullable=True),
        sa.Column("provider_txn_no", sa.String(40), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_payment_refunds_attempt_id_payment_attempts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
    )
    op.create_index(op.f("ix_payment_refunds_attempt_id"), "payment_refunds", ["attempt_id"])
    op.create_table(
        "payment_ledger",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.Column("entry_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.String(36), nullable=True),
        sa.Column("statement_line_id", sa.Integer(), nullable=True),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_ledger")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_payment_ledger_entry_key")),
    )
    op.create_index(op.f("ix_payment_ledger_attempt_id"), "payment_ledger", ["attempt_id"])
    op.create_table(
        "payment_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_index(op.f("ix_payment_events_attempt_id"), "payment_events", ["attempt_id"])
    op.create_table(
        "fee_statement_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", aware, nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("new_lines", sa.Integer(), nullable=False),
        sa.Column("known_lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_statement_imports_school_id_fee_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statement_imports")),
    )
    op.create_table(
        "fee_statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("line_key", sa.String(64), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(500), nullable=False),
        sa.Column("bank_ref", sa.String(100), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["fee_statement_imports.id"],
            name=op.f("fk_fee_statement_lines_import_id_fee_statement_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["fee_schools.id"], name=op.f("fk_fee_statement_lines_school_id_fee_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statement_lines")),
        sa.UniqueConstraint("school_id", "line_key", name="uq_fee_statement_lines_school_key"),
    )
    op.create_table(
        "payment_daily_reports",
        sa.Column("day", sa.Date(), nullable=False),
        _when(),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_payment_daily_reports")),
    )
    _append_only()


def _append_only() -> None:
    """The ledger and the payment history are evidence: the database refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION payments_append_only()"
            )
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS payments_append_only()")
    for table in (
        "payment_daily_reports",
        "fee_statement_lines",
        "fee_statement_imports",
        "payment_events",
        "payment_ledger",
        "payment_refunds",
        "payment_attempt_invoices",
        "payment_attempts",
        "fee_invoice_lines",
        "fee_invoices",
        "fee_items",
        "fee_students",
        "fee_classes",
        "fee_schools",
    ):
        op.drop_table(table)
