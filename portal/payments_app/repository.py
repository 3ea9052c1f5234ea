"""All SQL of payments and school fees: row locks, conditional transitions, ledger inserts, reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from portal.models import Application
from portal.payments_app.models import (
    INVOICE_PAID,
    INVOICE_UNPAID,
    PENDING,
    REFUND_DONE,
    REFUND_REQUESTED,
    AttemptInvoice,
    DailyReport,
    FeeItem,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    PaymentAttempt,
    PaymentEvent,
    Refund,
    School,
    SchoolClass,
    StatementImport,
    StatementLine,
    Student,
    StudentLink,
)

_Row = TypeVar("_Row")


class PaymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- attempts --------------------------------------------------------------------------------------

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    def attempt(self, attempt_id: int) -> PaymentAttempt | None:
        return self.session.get(PaymentAttempt, attempt_id)

    def by_ref(self, txn_ref: str) -> PaymentAttempt | None:
        return self.session.scalars(select(PaymentAttempt).where(PaymentAttempt.txn_ref == txn_ref)).first()

    def lock_by_ref(self, txn_ref: str) -> PaymentAttempt | None:
        """SELECT … FOR UPDATE (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE)."""
        stmt = (
            select(PaymentAttempt)
            .where(PaymentAttempt.txn_ref == txn_ref)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def lock_for_ipn(self, txn_ref: str) -> tuple[PaymentAttempt | None, list[Invoice] | None]:
        """The attempt and the invoices it pays, locked in one ordered round trip (attempt first, then
        invoices by id: the order every other path uses). Invoices None: a procedure fee."""
        rows = self.session.execute(_LOCK_FOR_IPN, {"txn_ref": txn_ref}).all()
        if rows:
            return rows[0][0], [invoice for _, invoice in rows]
        return self.session.scalars(_LOCK_BY_REF, {"txn_ref": txn_ref}).first(), None

    def claim_for_ipn(
        self, txn_ref: str, *, provider: str, amount: int, to_state: str, **values: Any
    ) -> IpnClaim | None:
        """pending → `to_state` in one UPDATE … RETURNING, only for an attempt of this provider, of this
        amount and still pending (None otherwise: nothing changed). The row lock it takes holds the
        attempt for the rest of the transaction; a concurrent copy of the same IPN waits on it, then
        finds the attempt no longer pending (PostgreSQL re-checks the WHERE on the committed row;
        SQLite has one writer at a time). `values`: the other columns of `_CLAIM`."""
        params = {"c_txn_ref": txn_ref, "c_provider": provider, "c_amount": amount, "c_state": to_state}
        params.update({f"c_{key}": value for key, value in values.items()})
        row = self.session.connection().execute(_CLAIM, params).first()
        return IpnClaim(*row) if row is not None else None

    def ipn_view(self, txn_ref: str) -> tuple[str, int, str] | None:
        """(provider, amount, state) of an attempt, unlocked: enough to answer an IPN that claimed
        nothing (a final state never opens again)."""
        row = self.session.connection().execute(_IPN_VIEW, {"txn_ref": txn_ref}).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def pay_invoices_of(self, attempt_id: int, *, at: datetime, channel: str) -> tuple[int | None, list[str]]:
        """unpaid → paid for the invoices an attempt pays, locked first in id order (the order every
        path takes them in): (the first invoice's school, the references of those paid before)."""
        conn = self.session.connection()
        rows = conn.execute(_LOCK_INVOICES, {"attempt": attempt_id}).all()
        unpaid = [row.id for row in rows if row.status == INVOICE_UNPAID]
        if unpaid:
            conn.execute(
                _PAY_INVOICES, {"ids": unpaid, "p_attempt": attempt_id, "p_at": at, "p_channel": channel}
            )
        return (rows[0].school_id if rows else None), [
            row.reference for row in rows if row.status != INVOICE_UNPAID
        ]

    def lock(self, attempt_id: int) -> PaymentAttempt | None:
        stmt = (
            select(PaymentAttempt)
            .where(PaymentAttempt.id == attempt_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def transition(
        self, attempt: PaymentAttempt, from_states: Sequence[str], to_state: str, **values: Any
    ) -> bool:
        """Move a locked attempt (`lock`/`lock_by_ref`, or created in this transaction) from one of
        `from_states`; False when it is elsewhere. The state read under the row lock decides, and the
        UPDATE goes out with the transaction's flush (PostgreSQL: FOR UPDATE; SQLite: one writer)."""
        if attempt.state not in from_states:
            return False
        attempt.state = to_state
        for key, value in values.items():
            setattr(attempt, key, value)
        return True

    def allocations(self, attempt_id: int) -> list[AttemptInvoice]:
        stmt = (
            select(AttemptInvoice)
            .where(AttemptInvoice.attempt_id == attempt_id)
            .order_by(AttemptInvoice.invoice_id)
        )
        return list(self.session.scalars(stmt))

    def school_of(self, attempt_id: int) -> int | None:
        """The school whose invoices an attempt pays (None for a procedure fee): its first invoice's, by
        id, as on the attempt's ledger line."""
        stmt = (
            select(Invoice.school_id)
            .join(AttemptInvoice, AttemptInvoice.invoice_id == Invoice.id)
            .where(AttemptInvoice.attempt_id == attempt_id)
            .order_by(Invoice.id)
            .limit(1)
        )
        return self.session.scalar(stmt)

    def for_application(self, application_id: str) -> list[PaymentAttempt]:
        stmt = (
            select(PaymentAttempt)
            .where(PaymentAttempt.application_id == application_id)
            .order_by(PaymentAttempt.id)
        )
        return list(self.session.scalars(stmt))

    def for_invoice(self, invoice_id: int) -> list[PaymentAttempt]:
        stmt = (
            select(PaymentAttempt)
            .join(AttemptInvoice, AttemptInvoice.attempt_id == PaymentAttempt.id)
            .where(AttemptInvoice.invoice_id == invoice_id)
            .order_by(PaymentAttempt.id)
        )
        return list(self.session.scalars(stmt))

    def due_for_check(
        self, now: datetime, created_before: datetime, providers: Sequence[str], limit: int = 100
    ) -> list[PaymentAttempt]:
        """Pending attempts of `providers` (those that can be asked) to query again."""
        stmt = (
            select(PaymentAttempt)
            .where(
                PaymentAttempt.state == PENDING,
                PaymentAttempt.provider.in_(list(providers)),
                PaymentAttempt.created_at <= created_before,
                or_(PaymentAttempt.next_check_at.is_(None), PaymentAttempt.next_check_at <= now),
            )
            .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def in_states(
        self,
        states: Sequence[str],
        *,
        before: datetime | None = None,
        agency_id: str | None = None,
        limit: int = 200,
    ) -> list[PaymentAttempt]:
        stmt = select(PaymentAttempt).where(PaymentAttempt.state.in_(states))
        if before is not None:
            stmt = stmt.where(PaymentAttempt.created_at <= before)
        stmt = self._scoped(stmt, agency_id)
        return list(self.session.scalars(stmt.order_by(PaymentAttempt.id.desc()).limit(limit)))

    def recent(self, agency_id: str | None, limit: int = 50) -> list[PaymentAttempt]:
        stmt = self._scoped(select(PaymentAttempt), agency_id)
        return list(self.session.scalars(stmt.order_by(PaymentAttempt.id.desc()).limit(limit)))

    def visible_to(self, attempt_id: int, agency_id: str) -> bool:
        stmt = self._scoped(select(PaymentAttempt.id).where(PaymentAttempt.id == attempt_id), agency_id)
        return self.session.scalar(stmt) is not None

    def _scoped(self, stmt: Any, agency_id: str | None) -> Any:
        """Attempts an agency's accountant may see: its cases' fees and its schools' invoices."""
        if agency_id is None:
            return stmt
        of_cases = select(Application.id).where(Application.agency_id == agency_id)
        of_schools = (
            select(AttemptInvoice.attempt_id)
            .join(Invoice, Invoice.id == AttemptInvoice.invoice_id)
            .join(School, School.id == Invoice.school_id)
            .where(School.agency_id == agency_id)
        )
        return stmt.where(or_(PaymentAttempt.application_id.in_(of_cases), PaymentAttempt.id.in_(of_schools)))

    # -- refunds ---------------------------------------------------------------------------------------

    def refunds(self, attempt_id: int) -> list[Refund]:
        return list(
            self.session.scalars(select(Refund).where(Refund.attempt_id == attempt_id).order_by(Refund.id))
        )

    def refunded_or_reserved(self, attempt_id: int) -> int:
        stmt = select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.attempt_id == attempt_id, Refund.state.in_((REFUND_REQUESTED, REFUND_DONE))
        )
        return int(self.session.scalar(stmt) or 0)

    def refunded(self, attempt_ids: Iterable[int]) -> dict[int, int]:
        ids = list(attempt_ids)
        if not ids:
            return {}
        stmt = (
            select(Refund.attempt_id, func.sum(Refund.amount))
            .where(Refund.attempt_id.in_(ids), Refund.state == REFUND_DONE)
            .group_by(Refund.attempt_id)
        )
        return {int(a): int(s) for a, s in self.session.execute(stmt)}

    def lock_refund(self, refund_id: int) -> Refund | None:
        stmt = (
            select(Refund)
            .where(Refund.id == refund_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()

    def refunds_in_state(
        self, state: str, before: datetime | None = None, *, agency_id: str | None = None
    ) -> list[Refund]:
        stmt = select(Refund).where(Refund.state == state)
        if before is not None:
            stmt = stmt.where(Refund.created_at <= before)
        if agency_id is not None:
            stmt = stmt.where(Refund.attempt_id.in_(self._scoped(select(PaymentAttempt.id), agency_id)))
        return list(self.session.scalars(stmt.order_by(Refund.id)))

    # -- ledger and history ------------------------------------------------------------------------------

    def append_ledger(self, **values: Any) -> None:
        """One line per money movement; the unique entry_key refuses a second copy at the database.
        A plain Core INSERT on the session's connection (no RETURNING, nothing to load back, no
        autoflush): these rows are never read in the request, and the attempt's and invoices' updates
        go out together in the one flush at commit."""
        self.session.connection().execute(_INSERT_LEDGER, values)

    def ledger_for(self, attempt_id: int) -> list[LedgerEntry]:
        stmt = select(LedgerEntry).where(LedgerEntry.attempt_id == attempt_id).order_by(LedgerEntry.id)
        return list(self.session.scalars(stmt))

    def ledger_totals(
        self, start: datetime | None = None, end: datetime | None = None, *, agency_id: str | None = None
    ) -> dict[str, int]:
        stmt = select(LedgerEntry.kind, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.kind)
        if start is not None and end is not None:
            stmt = stmt.where(LedgerEntry.at >= start, LedgerEntry.at < end)
        if agency_id is not None:
            # a line belongs to the agency of its school, of its case, or of the attempt it records
            stmt = stmt.where(
                or_(
                    LedgerEntry.school_id.in_(select(School.id).where(School.agency_id == agency_id)),
                    LedgerEntry.application_id.in_(
                        select(Application.id).where(Application.agency_id == agency_id)
                    ),
                    LedgerEntry.attempt_id.in_(self._scoped(select(PaymentAttempt.id), agency_id)),
                )
            )
        return {kind: int(total) for kind, total in self.session.execute(stmt)}

    def ledger_vs_attempts(self, agency_id: str | None = None) -> list[tuple[str, str, int, int, int]]:
        """(txn_ref, state, amount, ledger sum, refunds done) for every attempt (of the agency)."""
        ledger = (
            select(LedgerEntry.attempt_id, func.sum(LedgerEntry.amount).label("total"))
            .where(LedgerEntry.attempt_id.is_not(None))
            .group_by(LedgerEntry.attempt_id)
            .subquery()
        )
        refunds = (
            select(Refund.attempt_id, func.sum(Refund.amount).label("total"))
            .where(Refund.state == REFUND_DONE)
            .group_by(Refund.attempt_id)
            .subquery()
        )
        stmt = (
            select(
                PaymentAttempt.txn_ref,
                PaymentAttempt.state,
                PaymentAttempt.amount,
                func.coalesce(ledger.c.total, 0),
                func.coalesce(refunds.c.total, 0),
            )
            .outerjoin(ledger, ledger.c.attempt_id == PaymentAttempt.id)
            .outerjoin(refunds, refunds.c.attempt_id == PaymentAttempt.id)
        )
        stmt = self._scoped(stmt, agency_id)
        return [(r, s, int(a), int(lg), int(rf)) for r, s, a, lg, rf in self.session.execute(stmt)]

    def add_event(self, **values: Any) -> None:
        """Like `append_ledger`: a Core INSERT that triggers no flush."""
        self.session.connection().execute(_INSERT_EVENT, values)

    def events(self, attempt_id: int) -> list[PaymentEvent]:
        stmt = select(PaymentEvent).where(PaymentEvent.attempt_id == attempt_id).order_by(PaymentEvent.id)
        return list(self.session.scalars(stmt))

    def events_between(
        self, kinds: Sequence[str], start: datetime, end: datetime, *, agency_id: str | None = None
    ) -> list[PaymentEvent]:
        stmt = select(PaymentEvent).where(
            PaymentEvent.kind.in_(kinds), PaymentEvent.at >= start, PaymentEvent.at < end
        )
        if agency_id is not None:
            stmt = stmt.where(PaymentEvent.attempt_id.in_(self._scoped(select(PaymentAttempt.id), agency_id)))
        return list(self.session.scalars(stmt.order_by(PaymentEvent.id)))

    def save_report(self, day: date, data: dict[str, Any]) -> None:
        row = self.session.get(DailyReport, day)
        if row is None:
            self.session.add(DailyReport(day=day, data=data))
        else:
            row.data = data
        self.session.flush()

    def report(self, day: date) -> DailyReport | None:
        return self.session.get(DailyReport, day)


# Built once: every IPN runs them, and building a statement costs more than running a cached one.
# Inserts nobody reads back: inline (no RETURNING of the new id to fetch and process).
_INSERT_LEDGER = insert(LedgerEntry).inline()
_INSERT_EVENT = insert(PaymentEvent).inline()
_LOCK_BY_REF = (
    select(PaymentAttempt)
    .where(PaymentAttempt.txn_ref == bindparam("txn_ref"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_FOR_IPN = (
    select(PaymentAttempt, Invoice)
    .join(AttemptInvoice, AttemptInvoice.attempt_id == PaymentAttempt.id)
    .join(Invoice, Invoice.id == AttemptInvoice.invoice_id)
    .where(PaymentAttempt.txn_ref == bindparam("txn_ref"))
    .order_by(Invoice.id)
    .with_for_update()
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True, slots=True)
class IpnClaim:
    """What an IPN's claim (`PaymentRepository.claim_for_ipn`) returns of the attempt it moved."""

    id: int
    purpose: str
    application_id: str | None


_CLAIMED = PaymentAttempt.__table__.c
_CLAIM_COLUMNS = (
    "response_code",
    "transaction_status",
    "provider_txn_no",
    "bank_code",
    "card_type",
    "pay_date",
    "raw",
    "settled_at",
    "settled_by",
    "updated_at",
)
_CLAIM = (
    update(PaymentAttempt)
    .where(
        PaymentAttempt.txn_ref == bindparam("c_txn_ref"),
        PaymentAttempt.provider == bindparam("c_provider"),
        PaymentAttempt.amount == bindparam("c_amount"),
        PaymentAttempt.state == PENDING,
    )
    .values(
        state=bindparam("c_state"),
        next_check_at=None,
        **{name: bindparam(f"c_{name}", type_=_CLAIMED[name].type) for name in _CLAIM_COLUMNS},
    )
    .returning(PaymentAttempt.id, PaymentAttempt.purpose, PaymentAttempt.application_id)
)
_IPN_VIEW = select(PaymentAttempt.provider, PaymentAttempt.amount, PaymentAttempt.state).where(
    PaymentAttempt.txn_ref == bindparam("txn_ref")
)
_LOCK_INVOICES = (
    select(Invoice.id, Invoice.status, Invoice.school_id, Invoice.reference)
    .join(AttemptInvoice, AttemptInvoice.invoice_id == Invoice.id)
    .where(AttemptInvoice.attempt_id == bindparam("attempt"))
    .order_by(Invoice.id)
    .with_for_update(of=Invoice)
)
_PAY_INVOICES = (
    update(Invoice)
    .where(Invoice.id.in_(bindparam("ids", expanding=True)), Invoice.status == INVOICE_UNPAID)
    .values(
        status=INVOICE_PAID,
        paid_at=bindparam("p_at", type_=Invoice.__table__.c.paid_at.type),
        paid_channel=bindparam("p_channel"),
        paid_attempt_id=bindparam("p_attempt"),
        paid_statement_line_id=None,
    )
)


@dataclass(frozen=True)
class ClassSummary:
    class_id: int
    class_name: str
    students: int
    invoices: int
    paid: int
    amount_due: int
    amount_paid: int

    @property
    def unpaid(self) -> int:
        return self.invoices - self.paid

    @property
    def amount_unpaid(self) -> int:
        return self.amount_due - self.amount_paid


class SchoolRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: _Row) -> _Row:
        self.session.add(row)
        self.session.flush()
        return row

    # -- schools, classes, students ----------------------------------------------------------------------

    def schools(self, agency_id: str | None = None) -> list[School]:
        stmt = select(School).order_by(School.name, School.id)
        if agency_id is not None:
            stmt = stmt.where(School.agency_id == agency_id)
        return list(self.session.scalars(stmt))

    def school(self, school_id: int) -> School | None:
        return self.session.get(School, school_id)

    def school_by_code(self, code: str) -> School | None:
        return self.session.scalars(select(School).where(School.code == code)).first()

    def classes(self, school_id: int) -> list[SchoolClass]:
        stmt = select(SchoolClass).where(SchoolClass.school_id == school_id).order_by(SchoolClass.name)
        return list(self.session.scalars(stmt))

    def school_class(self, class_id: int) -> SchoolClass | None:
        return self.session.get(SchoolClass, class_id)

    def students_of(self, school_id: int) -> list[Student]:
        return list(self.session.scalars(select(Student).where(Student.school_id == school_id)))

    def students_in_class(self, class_id: int) -> list[Student]:
        stmt = (
            select(Student)
            .where(Student.class_id == class_id, Student.active.is_(True))
            .order_by(Student.full_name, Student.code)
        )
        return list(self.session.scalars(stmt))

    def student(self, student_id: int) -> Student | None:
        return self.session.get(Student, student_id)

    def student_by_code(self, code: str) -> Student | None:
        return self.session.scalars(select(Student).where(Student.code == code)).first()

    def students_by_codes(self, codes: Iterable[str]) -> dict[str, Student]:
        wanted = list(codes)
        if not wanted:
            return {}
        return {s.code: s for s in self.session.scalars(select(Student).where(Student.code.in_(wanted)))}

    def linked_students(self, citizen_id: int) -> list[Student]:
        """The active students a citizen linked with their link codes."""
        stmt = (
            select(Student)
            .join(StudentLink, StudentLink.student_id == Student.id)
            .where(StudentLink.citizen_id == citizen_id, Student.active.is_(True))
            .order_by(Student.full_name, Student.id)
        )
        return list(self.session.scalars(stmt))

    def students_of_parent_phone(self, phone: str) -> list[Student]:
        """The active students whose school recorded ``phone`` (normalised) as the parent's."""
        stmt = (
            select(Student)
            .where(Student.parent_phone == phone, Student.active.is_(True))
            .order_by(Student.full_name, Student.id)
        )
        return list(self.session.scalars(stmt))

    def is_linked(self, citizen_id: int, student_id: int) -> bool:
        stmt = select(StudentLink.id).where(
            StudentLink.citizen_id == citizen_id, StudentLink.student_id == student_id
        )
        return self.session.scalar(stmt) is not None

    def students(self, ids: Iterable[int]) -> list[Student]:
        wanted = list(ids)
        if not wanted:
            return []
        stmt = select(Student).where(Student.id.in_(wanted)).order_by(Student.full_name, Student.id)
        return list(self.session.scalars(stmt))

    # -- fee items and invoices --------------------------------------------------------------------------

    def fee_items(self, school_id: int, *, active_only: bool = True) -> list[FeeItem]:
        stmt = select(FeeItem).where(FeeItem.school_id == school_id)
        if active_only:
            stmt = stmt.where(FeeItem.active.is_(True))
        return list(self.session.scalars(stmt.order_by(FeeItem.id)))

    def fee_item_by_code(self, school_id: int, code: str) -> FeeItem | None:
        stmt = select(FeeItem).where(FeeItem.school_id == school_id, FeeItem.code == code)
        return self.session.scalars(stmt).first()

    def invoice(self, invoice_id: int) -> Invoice | None:
        return self.session.get(Invoice, invoice_id)

    def invoice_by_ref(self, reference: str) -> Invoice | None:
        return self.session.scalars(select(Invoice).where(Invoice.reference == reference)).first()

    def invoices_by_refs(self, references: Iterable[str]) -> list[Invoice]:
        wanted = list(references)
        if not wanted:
            return []
        stmt = select(Invoice).where(Invoice.reference.in_(wanted)).order_by(Invoice.id)
        return list(self.session.scalars(stmt))

    def invoices(self, ids: Iterable[int]) -> list[Invoice]:
        wanted = list(ids)
        if not wanted:
            return []
        return list(self.session.scalars(select(Invoice).where(Invoice.id.in_(wanted)).order_by(Invoice.id)))

    def invoices_for_students(
        self, student_ids: Iterable[int], statuses: Sequence[str] | None = None
    ) -> list[Invoice]:
        ids = list(student_ids)
        if not ids:
            return []
        stmt = select(Invoice).where(Invoice.student_id.in_(ids))
        if statuses:
            stmt = stmt.where(Invoice.status.in_(statuses))
        return list(self.session.scalars(stmt.order_by(Invoice.due_date, Invoice.period, Invoice.id)))

    def invoice_for(self, student_id: int, period: str) -> Invoice | None:
        stmt = select(Invoice).where(Invoice.student_id == student_id, Invoice.period == period)
        return self.session.scalars(stmt).first()

    def lines(self, invoice_id: int) -> list[InvoiceLine]:
        stmt = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.id)
        return list(self.session.scalars(stmt))

    def lock_invoices(self, ids: Iterable[int]) -> list[Invoice]:
        stmt = (
            select(Invoice)
            .where(Invoice.id.in_(list(ids)))
            .order_by(Invoice.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(stmt))

    def lock_invoices_of(self, attempt_id: int) -> list[Invoice]:
        """The invoices an attempt pays, locked (FOR UPDATE OF fee_invoices)."""
        stmt = (
            select(Invoice)
            .join(AttemptInvoice, AttemptInvoice.invoice_id == Invoice.id)
            .where(AttemptInvoice.attempt_id == attempt_id)
            .order_by(Invoice.id)
            .with_for_update(of=Invoice)
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(stmt))

    @staticmethod
    def mark_paid(
        invoice: Invoice,
        *,
        at: datetime,
        channel: str,
        attempt_id: int | None = None,
        statement_line_id: int | None = None,
    ) -> bool:
        """unpaid → paid on a locked invoice; False when it was paid (or cancelled) before."""
        if invoice.status != INVOICE_UNPAID:
            return False
        invoice.status = INVOICE_PAID
        invoice.paid_at = at
        invoice.paid_channel = channel
        invoice.paid_attempt_id = attempt_id
        invoice.paid_statement_line_id = statement_line_id
        return True

    def reopen_paid_by(self, attempt_id: int) -> int:
        """Invoices this attempt paid go back to unpaid (the payment was refunded in full)."""
        stmt = (
            update(Invoice)
            .where(Invoice.paid_attempt_id == attempt_id, Invoice.status == INVOICE_PAID)
            .values(status=INVOICE_UNPAID, paid_at=None, paid_channel=None, paid_attempt_id=None)
            .returning(Invoice.id)
            .execution_options(synchronize_session="fetch")
        )
        return len(self.session.execute(stmt).all())

    def periods(self, school_id: int) -> list[str]:
        stmt = select(Invoice.period).where(Invoice.school_id == school_id).distinct()
        return sorted((p for p in self.session.scalars(stmt)), reverse=True)

    def class_summaries(self, school_id: int, period: str) -> list[ClassSummary]:
        paid = case((Invoice.status == INVOICE_PAID, 1), else_=0)
        stmt = (
            select(
                SchoolClass.id,
                SchoolClass.name,
                select(func.count(Student.id))
                .where(Student.class_id == SchoolClass.id, Student.active.is_(True))
                .scalar_subquery(),
                func.count(Invoice.id),
                func.coalesce(func.sum(paid), 0),
                func.coalesce(func.sum(Invoice.amount), 0),
                func.coalesce(func.sum(Invoice.amount * paid), 0),
            )
            .select_from(SchoolClass)
            .outerjoin(
                Invoice,
                and_(
                    Invoice.class_id == SchoolClass.id,
                    Invoice.period == period,
                    Invoice.status != "cancelled",
                ),
            )
            .where(SchoolClass.school_id == school_id)
            .group_by(SchoolClass.id, SchoolClass.name)
            .order_by(SchoolClass.name)
        )
        return [
            ClassSummary(int(a), b, int(c or 0), int(d), int(e), int(f), int(g))
            for a, b, c, d, e, f, g in self.session.execute(stmt)
        ]

    def invoice_rows(
        self, school_id: int, period: str, class_id: int | None = None
    ) -> list[tuple[Invoice, Student, SchoolClass]]:
        stmt = (
            select(Invoice, Student, SchoolClass)
            .join(Student, Student.id == Invoice.student_id)
            .join(SchoolClass, SchoolClass.id == Invoice.class_id)
            .where(Invoice.school_id == school_id, Invoice.period == period)
        )
        if class_id is not None:
            stmt = stmt.where(Invoice.class_id == class_id)
        stmt = stmt.order_by(SchoolClass.name, Student.full_name, Student.code)
        return [(i, s, c) for i, s, c in self.session.execute(stmt)]

    def invoices_in_status(self, school_id: int, status: str) -> list[Invoice]:
        stmt = select(Invoice).where(Invoice.school_id == school_id, Invoice.status == status)
        return list(self.session.scalars(stmt.order_by(Invoice.id)))

    # -- bank statements -------------------------------------------------------------------------------

    def known_line_keys(self, school_id: int, keys: Iterable[str]) -> set[str]:
        wanted = list(keys)
        if not wanted:
            return set()
        stmt = select(StatementLine.line_key).where(
            StatementLine.school_id == school_id, StatementLine.line_key.in_(wanted)
        )
        return set(self.session.scalars(stmt))

    def statement_import(self, import_id: int) -> StatementImport | None:
        return self.session.get(StatementImport, import_id)

    def statement_lines(self, import_id: int) -> list[StatementLine]:
        stmt = select(StatementLine).where(StatementLine.import_id == import_id).order_by(StatementLine.row)
        return list(self.session.scalars(stmt))

    def lines_needing_review(self, school_ids: Sequence[int] | None = None) -> list[StatementLine]:
        stmt = select(StatementLine).where(
            StatementLine.result.in_(
                ("amount_mismatch", "unmatched", "duplicate", "ambiguous", "already_paid")
            )
        )
        if school_ids is not None:
            stmt = stmt.where(StatementLine.school_id.in_(list(school_ids)))
        return list(self.session.scalars(stmt.order_by(StatementLine.day.desc(), StatementLine.id)))

    def imports(self, school_id: int) -> list[StatementImport]:
        stmt = (
            select(StatementImport)
            .where(StatementImport.school_id == school_id)
            .order_by(StatementImport.id.desc())
        )
        return list(self.session.scalars(stmt))
