"""Biên lai (payment receipts) as PDF, with the amount in Vietnamese words as receipts carry it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from portal.applications.documents import render_pdf
from portal.catalogue import Catalogue
from portal.models import Application
from portal.payments_app.gateway import channel_label
from portal.payments_app.models import PAID, PROCEDURE_FEE, Invoice, PaymentAttempt
from portal.payments_app.repository import PaymentRepository, SchoolRepository
from portal.payments_app.schools import period_label

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUPS = ("", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ")


def _group_words(n: int, full: bool) -> list[str]:
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and (full or hundreds):
            words.append("linh")
    elif tens == 1:
        words.append("mười")
    else:
        words += [_DIGITS[tens], "mươi"]
    if units:
        if units == 1 and tens >= 2:
            words.append("mốt")
        elif units == 5 and tens >= 1:
            words.append("lăm")
        else:
            words.append(_DIGITS[units])
    return words


def amount_in_words(amount: int) -> str:
    """1005000 -> 'Một triệu không trăm linh năm nghìn đồng'."""
    if amount < 0:
        return "Âm " + amount_in_words(-amount)[0].lower() + amount_in_words(-amount)[1:]
    if amount == 0:
        return "Không đồng"
    groups = []
    while amount:
        groups.append(amount % 1000)
        amount //= 1000
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        if groups[index] == 0:
            continue
        words += _group_words(groups[index], full=bool(words))
        if _GROUPS[index]:
            words.append(_GROUPS[index])
    text = " ".join(words) + " đồng"
    return text[0].upper() + text[1:]


@dataclass
class Receipt:
    number: str
    issuer: str
    issuer_sub: str
    payer: str
    payer_phone: str
    purpose: str
    amount: int
    channel: str
    channel_detail: str
    paid_at: datetime | None
    items: list[tuple[str, int]] = field(default_factory=list)
    refunded: int = 0

    @property
    def amount_text(self) -> str:
        return amount_in_words(self.amount)


def attempt_receipt(session: Session, attempt: PaymentAttempt, catalogue: Catalogue) -> Receipt | None:
    """The receipt of a paid attempt (None while it is not paid)."""
    if attempt.state != PAID:
        return None
    repo = PaymentRepository(session)
    refunded = repo.refunded([attempt.id]).get(attempt.id, 0)
    label = channel_label(attempt.provider)
    channel_detail = " · ".join(
        x
        for x in (
            f"Mã giao dịch {label} {attempt.provider_txn_no}" if attempt.provider_txn_no else "",
            f"ngân hàng {attempt.bank_code}" if attempt.bank_code else "",
        )
        if x
    )
    if attempt.purpose == PROCEDURE_FEE and attempt.application_id:
        app = session.get(Application, attempt.application_id)
        assert app is not None
        definition = catalogue.registry.get(app.procedure_code, app.definition_version)
        agency = catalogue.agency(app.agency_id or "")
        return Receipt(
            number=attempt.txn_ref,
            issuer=agency.name.vi if agency else "",
            issuer_sub="BỘ PHẬN MỘT CỬA",
            payer=app.applicant_name,
            payer_phone=app.applicant_phone,
            purpose=f"Lệ phí hồ sơ {app.case_code} — {definition.name.vi}",
            amount=attempt.amount,
            channel=f"Thanh toán trực tuyến qua {label}",
            channel_detail=channel_detail,
            paid_at=attempt.pay_date or attempt.settled_at,
            items=[(f"Lệ phí: {definition.name.vi}", attempt.amount)],
            refunded=refunded,
        )
    schools = SchoolRepository(session)
    invoices = schools.invoices(a.invoice_id for a in repo.allocations(attempt.id))
    items, school_name, payer = _invoice_items(schools, invoices)
    return Receipt(
        number=attempt.txn_ref,
        issuer=school_name,
        issuer_sub="BỘ PHẬN KẾ TOÁN",
        payer=payer,
        payer_phone=attempt.payer_phone,
        purpose="Thu các khoản theo thông báo thu của nhà trường",
        amount=attempt.amount,
        channel=f"Thanh toán trực tuyến qua {label}",
        channel_detail=channel_detail,
        paid_at=attempt.pay_date or attempt.settled_at,
        items=items,
        refunded=refunded,
    )


def invoice_receipt(session: Session, invoice: Invoice) -> Receipt | None:
    """A paid invoice's receipt, whatever the channel (VNPay or a matched bank transfer)."""
    if invoice.status != "paid" or invoice.amount <= 0:
        return None
    schools = SchoolRepository(session)
    items, school_name, payer = _invoice_items(schools, [invoice])
    student = schools.student(invoice.student_id)
    detail = ""
    if invoice.paid_attempt_id:  # paid online: the attempt says by which provider
        attempt = PaymentRepository(session).attempt(invoice.paid_attempt_id)
        detail = f"Giao dịch {attempt.txn_ref}" if attempt else ""
    channel = (
        f"Thanh toán trực tuyến qua {channel_label(invoice.paid_channel)}"
        if invoice.paid_attempt_id
        else f"{channel_label(invoice.paid_channel)} (đối soát sao kê ngân hàng)"
    )
    return Receipt(
        number=invoice.reference,
        issuer=school_name,
        issuer_sub="BỘ PHẬN KẾ TOÁN",
        payer=payer,
        payer_phone=student.parent_phone if student else "",
        purpose=invoice.title,
        amount=invoice.amount,
        channel=channel,
        channel_detail=detail,
        paid_at=invoice.paid_at,
        items=items,
    )


def _invoice_items(
    schools: SchoolRepository, invoices: list[Invoice]
) -> tuple[list[tuple[str, int]], str, str]:
    items = []
    school_name = ""
    names = []
    for invoice in invoices:
        student = schools.student(invoice.student_id)
        klass = schools.school_class(invoice.class_id)
        school = schools.school(invoice.school_id)
        school_name = school.name if school else school_name
        who = f"{student.full_name} (mã {student.code}, lớp {klass.name if klass else ''})" if student else ""
        if student and student.full_name not in names:
            names.append(student.full_name)
        items.append((f"{invoice.reference} — {period_label(invoice.period)} — {who}", invoice.amount))
    return items, school_name, "Phụ huynh học sinh " + ", ".join(names)


def receipt_pdf(receipt: Receipt) -> bytes:
    return render_pdf("payments/documents/bien_lai.html", {"r": receipt})
