"""Payment rules: start an attempt, answer VNPay's IPN, settle, review, refund, reconcile. Never commits.

State of an attempt: created → pending → paid | failed | expired | needs_review
(needs_review → paid when an accountant approves it). Every transition takes the
attempt's row lock and is a conditional update from the states it may leave, so
replays and concurrent deliveries change nothing. Money that moved is appended
to the ledger once (unique entry key).
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from payments import (
    CallbackResult,
    OrderView,
    PaymentError,
    PaymentRequest,
    PaymentStatus,
    QueryResult,
    RefundRequest,
    RefundResult,
    decide_ipn,
)
from payments.base import ApiOutcome
from portal import i18n
from portal.cases.events import note_change, record_event
from portal.db import utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import Application, CaseEvent
from portal.payments_app.gateway import VNPAY_MAX_AMOUNT, VNPAY_MIN_AMOUNT, Gateway, channel_label
from portal.payments_app.models import (
    CREATED,
    EXPIRED,
    FAILED,
    INVOICE_UNPAID,
    MONEY_IN_STATES,
    NEEDS_REVIEW,
    OPEN_STATES,
    PAID,
    PENDING,
    PROCEDURE_FEE,
    REFUND_DONE,
    REFUND_FAILED,
    REFUND_REQUESTED,
    SCHOOL_FEE,
    AttemptInvoice,
    Invoice,
    PaymentAttempt,
    Refund,
)
from portal.payments_app.repository import PaymentRepository, SchoolRepository

log = logging.getLogger("portal.payments")

STATE_LABELS = {
    CREATED: "Mới tạo",
    PENDING: "Đang chờ thanh toán",
    PAID: "Đã thanh toán",
    FAILED: "Không thành công",
    EXPIRED: "Hết hạn thanh toán",
    NEEDS_REVIEW: "Chờ kiểm tra (nghi ngờ gian lận hoặc trùng)",
}
REFUND_LABELS = {
    REFUND_REQUESTED: "Đang gửi yêu cầu",
    REFUND_DONE: "VNPay đã nhận",
    REFUND_FAILED: "Không thành công",
}
# What people read for an attempt's history, its ledger lines and who settled it: never the stored code.
EVENT_LABELS = {
    "started": "Bắt đầu thanh toán",
    "settled_ipn": "Kết quả thanh toán do cổng thanh toán báo về",
    "settled_querydr": "Kết quả thanh toán do hệ thống hỏi lại cổng thanh toán",
    "querydr": "Hệ thống hỏi lại cổng thanh toán",
    "ipn_amount_mismatch": "Số tiền cổng thanh toán báo khác số tiền cần thu",
    "querydr_amount_mismatch": "Số tiền khi hỏi lại khác số tiền cần thu",
    "duplicate_payment": "Thanh toán trùng, chờ kiểm tra",
    "approved": "Cán bộ xác nhận đã thanh toán",
    "expired": "Hết hạn thanh toán",
    "refund_requested": "Yêu cầu hoàn tiền",
    "refund_done": "Cổng thanh toán đã nhận yêu cầu hoàn tiền",
    "refund_failed": "Hoàn tiền không thành công",
    "refund_unknown": "Chưa rõ kết quả hoàn tiền, cần đối chiếu với cổng thanh toán",
}
LEDGER_LABELS = {
    "payment": "Thu tiền",
    "refund": "Hoàn tiền",
    "bank_transfer": "Chuyển khoản",
    "adjustment": "Điều chỉnh",
    "charge": "Khoản thu",
}
SETTLED_BY_LABELS = {
    "ipn": "cổng thanh toán báo kết quả",
    "querydr": "hệ thống hỏi lại cổng thanh toán",
    "return": "trang kết quả thanh toán",
    "staff": "cán bộ",
    "system": "hệ thống",
}


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, "Cập nhật giao dịch")


RECHECK_AFTER = timedelta(minutes=5)  # querydr again (VNPay throttles with 94 for about 5 minutes)
MAX_BACKOFF = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=2)  # still unanswered: left pending, listed in the daily report


def new_txn_ref(prefix: str) -> str:
    """Unique per attempt (a uuid, not a timestamp): [A-Z0-9], 22 characters."""
    return f"{prefix}{uuid.uuid4().hex[:20].upper()}"


def safe_ip(value: str | None) -> str:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return "127.0.0.1"


@dataclass(frozen=True)
class Started:
    attempt: PaymentAttempt
    redirect_url: str


@dataclass(frozen=True)
class CaseFeeStatus:
    """What staff and the citizen see about a case's fee (see `payment_status_for_case`)."""

    required: bool
    amount: int
    paid: bool
    paid_amount: int
    refunded_amount: int
    txn_ref: str | None
    paid_at: datetime | None
    state: str | None  # of the latest attempt
    due_now: bool  # the citizen may (and should) pay now

    @property
    def label(self) -> str:
        if not self.required:
            return "Không thu phí"
        if self.paid:
            return "Đã thanh toán" if not self.refunded_amount else "Đã thanh toán (có hoàn tiền)"
        if self.state == NEEDS_REVIEW:
            return "Đang kiểm tra giao dịch"
        if self.state == PENDING:
            return "Đang chờ xác nhận thanh toán"
        return "Chưa thanh toán"


class PaymentService:
    def __init__(self, session: Session, gateway: Gateway) -> None:
        self.session = session
        self.gateway = gateway
        self.repo = PaymentRepository(session)
        self.schools = SchoolRepository(session)

    # -- starting a payment ---------------------------------------------------------------------------

    def start_procedure_fee(
        self, app: Application, *, due: bool, client_ip: str, citizen_id: int | None
    ) -> Started:
        status = self.case_status(app, due_now=due)
        if status.paid:
            raise Conflict("Lệ phí của hồ sơ này đã được thanh toán.")
        if not status.due_now:
            raise Conflict("Hồ sơ này chưa đến bước thanh toán lệ phí.")
        attempt = PaymentAttempt(
            txn_ref=new_txn_ref("LP"),
            provider=self.gateway.online or "",
            purpose=PROCEDURE_FEE,
            application_id=app.id,
            amount=app.fee_amount,
            state=CREATED,
            payer_name=app.applicant_name,
            payer_phone=app.applicant_phone,
            citizen_id=citizen_id,
            client_ip=safe_ip(client_ip),
            order_info=f"Thanh toan le phi ho so {app.case_code}",
        )
        return self._start(attempt, [])

    def start_school_fee(
        self, invoices: list[Invoice], *, payer_phone: str, client_ip: str, citizen_id: int | None
    ) -> Started:
        if not invoices:
            raise ValidationFailed(
                "Vui lòng chọn ít nhất một khoản cần thanh toán.",
                fields={"invoices": "Vui lòng chọn ít nhất một khoản cần thanh toán."},
            )
        locked = self.schools.lock_invoices(i.id for i in invoices)
        unpaid = [i for i in locked if i.status == INVOICE_UNPAID and i.amount > 0]
        if len(unpaid) != len(locked):
            raise Conflict("Một số khoản đã được thanh toán hoặc đã hủy; vui lòng tải lại trang.")
        refs = " ".join(i.reference for i in unpaid)
        attempt = PaymentAttempt(
            txn_ref=new_txn_ref("HP"),
            provider=self.gateway.online or "",
            purpose=SCHOOL_FEE,
            application_id=None,
            amount=sum(i.amount for i in unpaid),
            state=CREATED,
            payer_phone=payer_phone,
            citizen_id=citizen_id,
            client_ip=safe_ip(client_ip),
            order_info=f"Thanh toan hoc phi {refs}"[:255],
        )
        return self._start(attempt, unpaid)

    def _start(self, attempt: PaymentAttempt, invoices: list[Invoice]) -> Started:
        if not self.gateway.available:
            raise Conflict("Thanh toán trực tuyến tạm thời chưa sẵn sàng; vui lòng thử lại sau.")
        provider = self.gateway.provider(attempt.provider)
        if not VNPAY_MIN_AMOUNT <= attempt.amount <= VNPAY_MAX_AMOUNT:
            label = channel_label(provider.name)
            raise ValidationFailed(
                f"Cổng {label} chỉ nhận giao dịch từ {i18n.money(VNPAY_MIN_AMOUNT)}; khoản "
                f"{i18n.money(attempt.amount)} vui lòng nộp bằng chuyển khoản VietQR "
                "hoặc tại bộ phận một cửa."
            )
        self.repo.add(attempt)
        for invoice in invoices:
            self.session.add(
                AttemptInvoice(attempt_id=attempt.id, invoice_id=invoice.id, amount=invoice.amount)
            )
        created = utcnow()
        start = provider.create_payment(
            PaymentRequest(
                txn_ref=attempt.txn_ref,
                amount_vnd=attempt.amount,
                order_info=attempt.order_info,
                client_ip=attempt.client_ip,
                created_at=created,
            )
        )
        assert start.redirect_url is not None
        self.repo.transition(
            attempt,
            (CREATED,),
            PENDING,
            transaction_date=start.transaction_date,
            expires_at=start.expires_at,
            updated_at=created,
        )
        self._event(attempt, "started", CREATED, PENDING, detail={"amount": attempt.amount})
        return Started(attempt, start.redirect_url)

    # -- IPN ------------------------------------------------------------------------------------------

    def handle_ipn(self, params: Mapping[str, str], provider_name: str | None = None) -> dict[str, str]:
        """A provider's server-to-server notification (VNPay's IPN unless `provider_name` says which
        registered provider sent it): the JSON body to answer with HTTP 200. UnknownProvider when
        no provider of that name is registered."""
        provider = self.gateway.provider(provider_name)
        verified: CallbackResult | PaymentError
        try:
            verified = provider.parse_notification(params)
        except PaymentError as exc:
            # bad checksum, another terminal, malformed: nothing is written, nothing changes
            log.warning("IPN refused (%s): %s", exc.ipn_code, exc)
            verified = exc
        if isinstance(verified, CallbackResult):
            answer = self._claim_ipn(verified, provider.name)
            if answer is not None:
                return answer
        # the general path, under the row lock: an amount to flag, a result that records nothing
        attempt, invoices = None, None
        if isinstance(verified, CallbackResult):
            attempt, invoices = self.repo.lock_for_ipn(verified.txn_ref)
            if attempt is not None and attempt.provider != provider.name:
                attempt = None
        view = OrderView(attempt.amount, is_final=attempt.state not in OPEN_STATES) if attempt else None
        decision = decide_ipn(verified, view)
        if attempt is not None and isinstance(verified, CallbackResult):
            if decision.apply and decision.status is not None:
                self._settle(
                    attempt,
                    decision.status,
                    verified.response_code,
                    verified.transaction_status,
                    provider_txn_no=verified.provider_txn_no,
                    bank_code=verified.bank_code,
                    card_type=verified.card_type,
                    pay_date=verified.pay_date,
                    raw=dict(verified.raw),
                    via="ipn",
                    invoices=invoices,
                )
            elif decision.reconcile:
                # correctly signed, money may have moved, amount differs: a human must look
                self._event(
                    attempt,
                    "ipn_amount_mismatch",
                    detail={
                        "expected": attempt.amount,
                        "received": verified.amount_vnd,
                        "response_code": verified.response_code,
                    },
                )
        return decision.body

    def _claim_ipn(self, verified: CallbackResult, provider: str) -> dict[str, str] | None:
        """The IPN's common cases in a few statements without the ORM (issue #10): a pending attempt
        of this provider and amount is moved by one guarded UPDATE … RETURNING (the claim, which
        also takes its row lock), then what `_settle` does after its transition; an attempt that is
        not there (01) or already final with the same amount (02) is answered from one unlocked
        read. None: the general path decides (an amount to flag, an attempt not yet pending, a
        result that settles nothing). The same answers and rows as that path, checks in VNPay's
        order."""
        target = _state_for(verified.status, verified.response_code)
        if target is None:
            return None
        now = utcnow()
        claim = self.repo.claim_for_ipn(
            verified.txn_ref,
            provider=provider,
            amount=verified.amount_vnd,
            to_state=target,
            response_code=verified.response_code,
            transaction_status=verified.transaction_status,
            provider_txn_no=verified.provider_txn_no,
            bank_code=verified.bank_code,
            card_type=verified.card_type,
            pay_date=verified.pay_date,
            raw=dict(verified.raw),
            settled_at=now,
            settled_by="ipn",
            updated_at=now,
        )
        if claim is None:
            seen = self.repo.ipn_view(verified.txn_ref)
            if seen is None or seen[0] != provider:
                return decide_ipn(verified, None).body  # 01: another provider's is not found either
            amount, state = seen[1], seen[2]
            if amount == verified.amount_vnd and state not in OPEN_STATES:
                return decide_ipn(verified, OrderView(amount, is_final=True)).body  # 02
            return None
        self.repo.add_event(
            attempt_id=claim.id,
            kind="settled_ipn",
            from_state=PENDING,
            to_state=target,
            actor="system",
            detail={"response_code": verified.response_code},
        )
        note_change(self.session, claim.application_id, "payment_settled_ipn")
        school_id: int | None = None
        paid_before: list[str] = []
        credit_invoices = target == PAID and not (claim.purpose == PROCEDURE_FEE and claim.application_id)
        if credit_invoices:
            school_id, paid_before = self.repo.pay_invoices_of(claim.id, at=now, channel=provider)
        elif target in MONEY_IN_STATES:
            school_id = self.repo.school_of(claim.id)
        if target in MONEY_IN_STATES:
            self.repo.append_ledger(
                **_ledger_payment(
                    provider,
                    claim.id,
                    verified.amount_vnd,
                    claim.application_id,
                    school_id,
                    now,
                    "ipn",
                    verified.txn_ref,
                    verified.provider_txn_no,
                )
            )
        if target == PAID and not credit_invoices:
            attempt = self.repo.attempt(claim.id)
            assert attempt is not None
            self._credit(attempt)  # a procedure fee: the case's history, or review if paid twice
        elif paid_before:
            attempt = self.repo.attempt(claim.id)
            assert attempt is not None
            self._to_review(attempt, f"Khoản đã được thanh toán trước đó: {', '.join(paid_before)}"[:200])
        return decide_ipn(verified, OrderView(verified.amount_vnd, is_final=False)).body

    # -- settling ---------------------------------------------------------------------------------------

    def _settle(
        self,
        attempt: PaymentAttempt,
        status: PaymentStatus,
        response_code: str,
        transaction_status: str | None,
        *,
        provider_txn_no: str | None,
        bank_code: str | None,
        card_type: str | None,
        pay_date: datetime | None,
        raw: dict[str, Any],
        via: str,
        invoices: list[Invoice] | None = None,
    ) -> bool:
        now = utcnow()
        target = _state_for(status, response_code)
        if target is None or attempt.state not in OPEN_STATES:
            return False
        # lock order everywhere: the attempt (held by the caller), then its invoices
        if invoices is None:
            invoices = self.schools.lock_invoices_of(attempt.id) if attempt.purpose == SCHOOL_FEE else []
        before = attempt.state
        done = self.repo.transition(
            attempt,
            OPEN_STATES,
            target,
            response_code=response_code,
            transaction_status=transaction_status,
            provider_txn_no=provider_txn_no,
            bank_code=bank_code,
            card_type=card_type,
            pay_date=pay_date,
            raw=raw,
            settled_at=now,
            settled_by=via,
            updated_at=now,
            next_check_at=None,
        )
        if not done:
            return False
        self._event(attempt, f"settled_{via}", before, target, detail={"response_code": response_code})
        if target in MONEY_IN_STATES:
            self.repo.append_ledger(
                **_ledger_payment(
                    attempt.provider,
                    attempt.id,
                    attempt.amount,
                    attempt.application_id,
                    invoices[0].school_id if invoices else None,
                    now,
                    via,
                    attempt.txn_ref,
                    provider_txn_no,
                )
            )
        if target == PAID:
            self._credit(attempt, invoices)
        return True

    def _credit(self, attempt: PaymentAttempt, invoices: list[Invoice] | None = None) -> None:
        """What the money pays for: the case's fee, or each invoice (a second payment goes to review)."""
        now = utcnow()
        if attempt.purpose == PROCEDURE_FEE and attempt.application_id:
            others = [
                a
                for a in self.repo.for_application(attempt.application_id)
                if a.id != attempt.id and a.state == PAID
            ]
            if others:
                self._to_review(attempt, "Lệ phí đã được thanh toán bởi giao dịch khác (thanh toán trùng)")
                return
            money = i18n.money(attempt.amount)
            label = channel_label(attempt.provider)
            record_event(
                self.session,
                CaseEvent(
                    application_id=attempt.application_id,
                    kind="fee_paid",
                    at=now,
                    actor_kind="system",
                    actor_name=label,
                    public=True,
                    details={
                        "label": f"Đã thanh toán lệ phí {money} qua {label} "
                        f"(mã giao dịch {attempt.txn_ref}).",
                        "label_en": f"Fee of {money} paid via {label} (transaction {attempt.txn_ref}).",
                        "txn_ref": attempt.txn_ref,
                        "amount": attempt.amount,
                    },
                ),
            )
            return
        if invoices is None:
            invoices = self.schools.lock_invoices_of(attempt.id)
        already = [
            invoice.reference
            for invoice in invoices
            if not self.schools.mark_paid(invoice, at=now, channel=attempt.provider, attempt_id=attempt.id)
        ]
        if already:
            self._to_review(attempt, f"Khoản đã được thanh toán trước đó: {', '.join(already)}"[:200])

    def _to_review(self, attempt: PaymentAttempt, reason: str) -> None:
        if self.repo.transition(attempt, (PAID,), NEEDS_REVIEW, state_reason=reason, updated_at=utcnow()):
            self._event(attempt, "duplicate_payment", PAID, NEEDS_REVIEW, detail={"reason": reason})

    def approve(self, attempt_id: int, staff_name: str) -> PaymentAttempt:
        """An accountant accepts a payment held for review (VNPay 07): it now pays what it was for."""
        attempt = self._locked(attempt_id)
        if attempt.state != NEEDS_REVIEW or attempt.state_reason:
            raise Conflict("Chỉ duyệt được giao dịch đang chờ kiểm tra do VNPay nghi ngờ.")
        if self.repo.refunded_or_reserved(attempt.id):
            raise Conflict("Giao dịch đã có yêu cầu hoàn tiền; không thể duyệt.")
        self.repo.transition(attempt, (NEEDS_REVIEW,), PAID, reviewed_by=staff_name, updated_at=utcnow())
        self._event(attempt, "approved", NEEDS_REVIEW, PAID, actor=staff_name)
        self._credit(attempt)
        return attempt

    # -- reconciliation (querydr) -------------------------------------------------------------------------

    def apply_query(self, attempt_id: int, result: QueryResult, *, now: datetime | None = None) -> str:
        """Settle one pending attempt from a querydr answer; back off when VNPay cannot say."""
        now = now or utcnow()
        attempt = self.repo.lock(attempt_id)
        if attempt is None or attempt.state != PENDING:
            return "unchanged"
        checks = attempt.check_count + 1
        self._event(
            attempt,
            "querydr",
            detail={
                "outcome": result.outcome.value,
                "code": result.response_code,
                "status": result.transaction_status,
            },
        )
        if result.outcome is ApiOutcome.ANSWERED and result.status in (
            PaymentStatus.PAID,
            PaymentStatus.NEEDS_REVIEW,
            PaymentStatus.FAILED,
        ):
            if result.amount_vnd != attempt.amount and result.status is not PaymentStatus.FAILED:
                self._event(
                    attempt,
                    "querydr_amount_mismatch",
                    detail={"expected": attempt.amount, "received": result.amount_vnd},
                )
                return self._later(attempt, checks, now)
            status = result.status
            if status is PaymentStatus.PAID and not result.is_paid(attempt.amount):
                return self._later(attempt, checks, now)
            self._settle(
                attempt,
                status,
                "00" if status is PaymentStatus.PAID else (result.transaction_status or ""),
                result.transaction_status,
                provider_txn_no=result.provider_txn_no,
                bank_code=result.bank_code,
                card_type=None,
                pay_date=result.pay_date,
                raw=dict(result.raw),
                via="querydr",
            )
            return attempt.state
        expired = attempt.expires_at is not None and attempt.expires_at < now
        never_paid = result.outcome is ApiOutcome.NOT_FOUND or (
            result.outcome is ApiOutcome.ANSWERED and result.status is PaymentStatus.PENDING
        )
        if expired and never_paid:
            self.repo.transition(
                attempt,
                (PENDING,),
                EXPIRED,
                settled_at=now,
                settled_by="querydr",
                updated_at=now,
                next_check_at=None,
                check_count=checks,
            )
            self._event(attempt, "expired", PENDING, EXPIRED)
            return EXPIRED
        return self._later(attempt, checks, now, throttled=result.outcome is ApiOutcome.THROTTLED)

    def _later(self, attempt: PaymentAttempt, checks: int, now: datetime, *, throttled: bool = False) -> str:
        wait = min(RECHECK_AFTER * (2 ** min(checks - 1, 8)), MAX_BACKOFF)
        if throttled:
            wait = max(wait, RECHECK_AFTER * 2)
        self.repo.transition(attempt, (PENDING,), PENDING, next_check_at=now + wait, check_count=checks)
        return "later"

    # -- refunds --------------------------------------------------------------------------------------

    def refundable(self, attempt: PaymentAttempt) -> int:
        if attempt.state not in MONEY_IN_STATES:
            return 0
        return attempt.amount - self.repo.refunded_or_reserved(attempt.id)

    def reserve_refund(
        self, attempt_id: int, amount: int, reason: str, *, staff_id: int | None, staff_name: str
    ) -> Refund:
        """Step 1 (own transaction): under the attempt's lock, never above what is left to refund."""
        attempt = self._locked(attempt_id)
        reason = reason.strip()
        errors = {}
        left = self.refundable(attempt)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            errors["amount"] = "Số tiền hoàn phải là số nguyên dương (đồng)."
        elif amount > left:
            errors["amount"] = f"Số tiền hoàn vượt quá số còn có thể hoàn ({i18n.money(left)})."
        if len(reason) < 5:
            errors["reason"] = "Vui lòng ghi rõ lý do hoàn tiền."
        if errors:
            raise ValidationFailed(fields=errors)
        refund = Refund(
            attempt_id=attempt.id,
            amount=amount,
            full=amount == attempt.amount,
            state=REFUND_REQUESTED,
            reason=reason[:2000],
            requested_by_id=staff_id,
            requested_by=staff_name,
        )
        self.repo.add(refund)
        self._event(
            attempt, "refund_requested", actor=staff_name, detail={"refund_id": refund.id, "amount": amount}
        )
        return refund

    def refund_request(self, refund: Refund) -> RefundRequest:
        attempt = self.repo.attempt(refund.attempt_id)
        assert attempt is not None and attempt.transaction_date is not None
        return RefundRequest(
            txn_ref=attempt.txn_ref,
            amount_vnd=refund.amount,
            transaction_date=attempt.transaction_date,
            created_by=refund.requested_by,
            order_info=f"Hoan tien GD {attempt.txn_ref}",
            full=refund.full,
            provider_txn_no=attempt.provider_txn_no,
        )

    def record_refund(self, refund_id: int, result: RefundResult) -> Refund:
        """Step 3 (own transaction): what VNPay answered. Accepted → done and a ledger debit."""
        refund = self.repo.lock_refund(refund_id)
        if refund is None:
            raise NotFound()
        if refund.state != REFUND_REQUESTED:
            return refund
        now = utcnow()
        refund.request_id = result.request_id or None
        refund.response_code = result.response_code[:4] or None
        refund.message = (result.message or "")[:255]
        refund.transaction_status = result.transaction_status
        refund.provider_txn_no = result.provider_txn_no
        refund.raw = dict(result.raw)
        refund.settled_at = now
        attempt = self._locked(refund.attempt_id)
        if result.outcome in (ApiOutcome.UNAVAILABLE, ApiOutcome.UNVERIFIABLE):
            # VNPay may or may not have taken it: keep the amount reserved, a human checks with VNPay
            refund.settled_at = None
            self.session.flush()
            self._event(
                attempt,
                "refund_unknown",
                actor=refund.requested_by,
                detail={"refund_id": refund.id, "outcome": result.outcome.value},
            )
            return refund
        if result.accepted:
            refund.state = REFUND_DONE
            self.repo.append_ledger(
                entry_key=f"{attempt.provider}:refund:{refund.id}",
                kind="refund",
                channel=attempt.provider,
                amount=-refund.amount,
                attempt_id=attempt.id,
                refund_id=refund.id,
                application_id=attempt.application_id,
                at=now,
                school_id=self._school_of(attempt),
                actor=refund.requested_by,
                note=f"Hoàn tiền {attempt.txn_ref}: {refund.reason}"[:255],
            )
            if self.refundable(attempt) == 0 and attempt.purpose == SCHOOL_FEE:
                self.schools.reopen_paid_by(attempt.id)
        else:
            refund.state = REFUND_FAILED
        self.session.flush()
        self._event(
            attempt,
            f"refund_{refund.state}",
            actor=refund.requested_by,
            detail={"refund_id": refund.id, "code": result.response_code, "message": result.message},
        )
        return refund

    # -- reading ----------------------------------------------------------------------------------------

    def case_status(self, app: Application, *, due_now: bool) -> CaseFeeStatus:
        return payment_status_for_case(self.session, app.id, fee_amount=app.fee_amount, due_now=due_now)

    def _locked(self, attempt_id: int) -> PaymentAttempt:
        attempt = self.repo.lock(attempt_id)
        if attempt is None:
            raise NotFound("Không tìm thấy giao dịch.")
        return attempt

    def _school_of(self, attempt: PaymentAttempt) -> int | None:
        return self.repo.school_of(attempt.id) if attempt.purpose == SCHOOL_FEE else None

    def _event(
        self,
        attempt: PaymentAttempt,
        kind: str,
        from_state: str | None = None,
        to_state: str | None = None,
        *,
        actor: str = "system",
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.repo.add_event(
            attempt_id=attempt.id,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            actor=actor[:100],
            detail=detail or {},
        )
        note_change(self.session, attempt.application_id, f"payment_{kind}")  # paid online or not


def _ledger_payment(
    provider: str,
    attempt_id: int,
    amount: int,
    application_id: str | None,
    school_id: int | None,
    at: datetime,
    via: str,
    txn_ref: str,
    provider_txn_no: str | None,
) -> dict[str, Any]:
    """The ledger line of an attempt's money coming in (its entry key refuses a second one)."""
    return {
        "entry_key": f"{provider}:pay:{attempt_id}",
        "kind": "payment",
        "channel": provider,
        "amount": amount,
        "attempt_id": attempt_id,
        "application_id": application_id,
        "at": at,
        "school_id": school_id,
        "actor": via,
        "note": f"{txn_ref} {channel_label(provider)} {provider_txn_no or ''}".strip()[:255],
    }


def _state_for(status: PaymentStatus, response_code: str) -> str | None:
    if status is PaymentStatus.PAID:
        return PAID
    if status is PaymentStatus.NEEDS_REVIEW:
        return NEEDS_REVIEW
    if status is PaymentStatus.FAILED:
        return EXPIRED if response_code == "11" else FAILED
    return None


def payment_status_for_case(
    session: Session, application_id: str, *, fee_amount: int | None = None, due_now: bool = False
) -> CaseFeeStatus:
    """For the back office and the citizen pages: is this case's fee paid? (no definition lookup)."""
    repo = PaymentRepository(session)
    if fee_amount is None:
        app = session.get(Application, application_id)
        fee_amount = app.fee_amount if app is not None else 0
    attempts = repo.for_application(application_id)
    paid = [a for a in attempts if a.state == PAID]
    refunded = repo.refunded(a.id for a in paid)
    latest = attempts[-1] if attempts else None
    first = paid[0] if paid else None
    return CaseFeeStatus(
        required=fee_amount > 0,
        amount=fee_amount,
        paid=bool(paid),
        paid_amount=sum(a.amount for a in paid),
        refunded_amount=sum(refunded.values()),
        txn_ref=first.txn_ref if first else None,
        paid_at=first.settled_at if first else None,
        state=latest.state if latest else None,
        due_now=due_now and fee_amount > 0 and not paid,
    )
