"""Payment tables: schools and their fee invoices, payment attempts, refunds, the money ledger.

One row per payment attempt and per refund, each with its own state. Every
money movement (a payment received, a refund sent, a bank transfer matched)
is appended to ``payment_ledger``, which the database refuses to UPDATE or
DELETE (triggers in migration 0004_payments). Amounts are integer đồng.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import AwareDateTime, Base, utcnow

_BIGID = BigInteger().with_variant(Integer, "sqlite")

# -- attempt and refund states -------------------------------------------------------------------------

CREATED, PENDING, PAID, FAILED, EXPIRED, NEEDS_REVIEW = (
    "created",
    "pending",
    "paid",
    "failed",
    "expired",
    "needs_review",
)
OPEN_STATES = (CREATED, PENDING)
# money moved to us: these may be refunded
MONEY_IN_STATES = (PAID, NEEDS_REVIEW)
REFUND_REQUESTED, REFUND_DONE, REFUND_FAILED = "requested", "done", "failed"

PROCEDURE_FEE, SCHOOL_FEE = "procedure_fee", "school_fee"  # what a payment covers

INVOICE_UNPAID, INVOICE_PAID, INVOICE_CANCELLED = "unpaid", "paid", "cancelled"


# -- schools (trường), classes (lớp), students (học sinh), fee items (khoản thu) ------------------------


class School(Base):
    __tablename__ = "fee_schools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # staff of this agency (staff_members.agency_id) with the ke_toan role manage the school's fees
    agency_id: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    bank_bin: Mapped[str | None] = mapped_column(String(6))  # NAPAS BIN; None: the portal default
    bank_account: Mapped[str | None] = mapped_column(String(19))
    bank_account_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class SchoolClass(Base):
    __tablename__ = "fee_classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    name: Mapped[str] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_fee_classes_school_name"),)


# A parent's proof of a link to a student, printed on the school's fee notice (thông báo thu): 8 characters
# without I, O, 0 and 1 (read off paper without doubt), 40 bits; guesses are rate-limited per student.
LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 8


def new_link_code() -> str:
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


class Student(Base):
    __tablename__ = "fee_students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # mã định danh học sinh (national)
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("fee_classes.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(100))
    cccd: Mapped[str] = mapped_column(String(12), default="")
    parent_phone: Mapped[str] = mapped_column(String(15), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)
    # the parent phone above is what the school was told, not a proof: this code (LINK_CODE_ALPHABET) is
    link_code: Mapped[str | None] = mapped_column(String(LINK_CODE_LENGTH), default=new_link_code)


class StudentLink(Base):
    """A citizen account linked to a student by a parent who entered the student's link code."""

    __tablename__ = "fee_student_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("fee_students.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("citizen_id", "student_id", name="uq_fee_student_links_citizen_student"),
    )


FEE_UNITS = ("day", "month", "term", "once")


class FeeItem(Base):
    """A fee the school collects: tiền ăn per day, bán trú per month, đồng phục once, ..."""

    __tablename__ = "fee_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(10))  # FEE_UNITS
    amount: Mapped[int] = mapped_column(BigInteger)
    exemptible: Mapped[bool] = mapped_column(Boolean, default=False)  # tuition: exemptions apply
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("school_id", "code", name="uq_fee_items_school_code"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class Invoice(Base):
    """One student's bill (thông báo thu) for one period: a month '2026-12' or a term 'HK2-2026'."""

    __tablename__ = "fee_invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(25), unique=True)  # the VietQR memo
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    class_id: Mapped[int] = mapped_column(ForeignKey("fee_classes.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("fee_students.id"))
    period: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default=INVOICE_UNPAID)
    due_date: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(100), default="")
    paid_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    paid_channel: Mapped[str | None] = mapped_column(String(10))  # a provider name: vnpay | vietqr
    paid_attempt_id: Mapped[int | None] = mapped_column(Integer)
    paid_statement_line_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("student_id", "period", name="uq_fee_invoices_student_period"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_fee_invoices_class_period", "class_id", "period"),
        Index("ix_fee_invoices_school_status", "school_id", "status"),
    )


class InvoiceLine(Base):
    __tablename__ = "fee_invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("fee_invoices.id"), index=True)
    fee_item_id: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)  # negative for refunds of absent days, exemptions
    kind: Mapped[str] = mapped_column(String(12), default="charge")  # charge | adjustment


# -- payments ------------------------------------------------------------------------------------------


class PaymentAttempt(Base):
    """One try at paying: a procedure fee, or one or several school-fee invoices."""

    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txn_ref: Mapped[str] = mapped_column(String(40), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))  # PROCEDURE_FEE | SCHOOL_FEE
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=CREATED)
    state_reason: Mapped[str | None] = mapped_column(String(200))
    order_info: Mapped[str] = mapped_column(String(255), default="")
    payer_name: Mapped[str] = mapped_column(String(100), default="")
    payer_phone: Mapped[str] = mapped_column(String(15), default="")
    citizen_id: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)
    transaction_date: Mapped[datetime | None] = mapped_column(AwareDateTime())  # vnp_CreateDate
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    settled_by: Mapped[str | None] = mapped_column(String(20))  # ipn | querydr | staff
    provider_txn_no: Mapped[str | None] = mapped_column(String(40))
    bank_code: Mapped[str | None] = mapped_column(String(20))
    card_type: Mapped[str | None] = mapped_column(String(20))
    pay_date: Mapped[datetime | None] = mapped_column(AwareDateTime())
    response_code: Mapped[str | None] = mapped_column(String(4))
    transaction_status: Mapped[str | None] = mapped_column(String(4))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_check_at: Mapped[datetime | None] = mapped_column(AwareDateTime())  # reconciliation
    check_count: Mapped[int] = mapped_column(Integer, default=0)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payment_attempts_state_check", "state", "next_check_at"),
    )


class AttemptInvoice(Base):
    """Which invoices an attempt pays, and how much of it goes to each."""

    __tablename__ = "payment_attempt_invoices"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempts.id"), primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("fee_invoices.id"), primary_key=True, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class Refund(Base):
    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("payment_attempts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    full: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12), default=REFUND_REQUESTED)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(Integer)  # staff_members.id
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    request_id: Mapped[str | None] = mapped_column(String(40))
    response_code: Mapped[str | None] = mapped_column(String(4))
    message: Mapped[str | None] = mapped_column(String(255))
    transaction_status: Mapped[str | None] = mapped_column(String(4))
    provider_txn_no: Mapped[str | None] = mapped_column(String(40))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class LedgerEntry(Base):
    """Append-only: one row per money movement. `entry_key` makes each movement count once."""

    __tablename__ = "payment_ledger"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    entry_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # payment | refund | bank_transfer
    channel: Mapped[str] = mapped_column(String(10))  # the provider's registered name: vnpay | vietqr
    amount: Mapped[int] = mapped_column(BigInteger)  # + money in, - money out
    attempt_id: Mapped[int | None] = mapped_column(Integer, index=True)
    refund_id: Mapped[int | None] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(Integer)
    application_id: Mapped[str | None] = mapped_column(String(36))
    statement_line_id: Mapped[int | None] = mapped_column(Integer)
    school_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str] = mapped_column(String(255), default="")


class PaymentEvent(Base):
    """Append-only history of an attempt (IPN answers, queries, reviews) for operators."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    attempt_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- bank statements (VietQR transfers) ---------------------------------------------------------------


class StatementImport(Base):
    __tablename__ = "fee_statement_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))
    new_lines: Mapped[int] = mapped_column(Integer, default=0)
    known_lines: Mapped[int] = mapped_column(Integer, default=0)


class StatementLine(Base):
    __tablename__ = "fee_statement_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("fee_statement_imports.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("fee_schools.id"))
    line_key: Mapped[str] = mapped_column(String(64))  # identity across overlapping statements
    row: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(500))
    bank_ref: Mapped[str] = mapped_column(String(100), default="")
    result: Mapped[str] = mapped_column(String(20))  # matched | amount_mismatch | unmatched | ...
    invoice_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("school_id", "line_key", name="uq_fee_statement_lines_school_key"),)


class DailyReport(Base):
    """What the daily reconciliation found for review (one row per day, rewritten by the job)."""

    __tablename__ = "payment_daily_reports"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
