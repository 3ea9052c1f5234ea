"""VietQR (a no-fee bank transfer channel) and the bank statement import that confirms it. Never commits.

A VietQR transfer confirms nothing by itself: the accountant imports the bank
statement, and each credit line naming an open invoice's reference with the
exact amount pays that invoice. Lines are remembered by a key, so importing the
same (or an overlapping) statement again changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from payments.base import PaymentRequest
from payments.statement import (
    MatchKind,
    OpenInvoice,
    StatementParseError,
    decode_statement,
    match_statement,
    parse_bank_statement_csv,
)
from payments.statement import StatementLine as BankLine
from payments.vietqr import VietQRTransferProvider, render_svg
from portal.config import Settings
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.payments_app.models import (
    INVOICE_PAID,
    INVOICE_UNPAID,
    Invoice,
    School,
    StatementImport,
    StatementLine,
)
from portal.payments_app.repository import PaymentRepository, SchoolRepository

RESULT_LABELS = {
    "matched": "Khớp, đã ghi nhận thu",
    "amount_mismatch": "Đúng mã hóa đơn nhưng sai số tiền",
    "unmatched": "Không tìm thấy mã hóa đơn",
    "duplicate": "Hóa đơn đã khớp với dòng khác trong tệp",
    "ambiguous": "Nội dung có nhiều mã hóa đơn",
    "already_paid": "Hóa đơn đã được thanh toán trước đó (thu trùng?)",
    "ignored": "Tiền ra (không phải khoản thu)",
}
REVIEW_RESULTS = ("amount_mismatch", "unmatched", "duplicate", "ambiguous", "already_paid")


@dataclass(frozen=True)
class BankAccount:
    bin: str
    account: str
    name: str


def bank_account(school: School, settings: Settings) -> BankAccount | None:
    if school.bank_bin and school.bank_account:
        return BankAccount(school.bank_bin, school.bank_account, school.bank_account_name or school.name)
    if settings.school_bank_bin and settings.school_bank_account:
        return BankAccount(settings.school_bank_bin, settings.school_bank_account, school.name)
    return None


def vietqr_svg(
    school: School, invoice: Invoice, settings: Settings, provider: VietQRTransferProvider
) -> tuple[str, BankAccount] | None:
    """The QR for one unpaid invoice: the school's account, the amount, the reference as the memo."""
    account = bank_account(school, settings)
    if account is None or invoice.status != INVOICE_UNPAID or invoice.amount <= 0:
        return None
    start = provider.for_account(account.bin, account.account).create_payment(
        PaymentRequest(
            txn_ref=invoice.reference,
            amount_vnd=invoice.amount,
            order_info=invoice.reference,
            client_ip="127.0.0.1",  # nobody's: a transfer QR is not tied to a browser
            created_at=utcnow(),
        )
    )
    assert start.qr_payload is not None
    title = f"Mã VietQR chuyển khoản hóa đơn {invoice.reference}"
    return render_svg(start.qr_payload, scale=5, title=title), account


class StatementService:
    def __init__(self, session: Session, channel: str) -> None:
        """`channel`: the name of the registered bank transfer provider these statements confirm."""
        self.session = session
        self.channel = channel
        self.repo = SchoolRepository(session)
        self.payments = PaymentRepository(session)

    def import_statement(
        self, school: School, filename: str, data: bytes, imported_by: str
    ) -> StatementImport:
        try:
            lines = parse_bank_statement_csv(decode_statement(data))
        except StatementParseError as exc:
            raise ValidationFailed(fields={"file": _vietnamese(str(exc))}) from exc
        except UnicodeDecodeError as exc:
            raise ValidationFailed(fields={"file": "Tệp sao kê không đọc được (cần CSV)."}) from exc
        if not lines:
            raise ValidationFailed(fields={"file": "Tệp sao kê không có giao dịch nào."})
        keyed = _with_keys(lines)
        known = self.repo.known_line_keys(school.id, (k for k, _ in keyed))
        fresh = [(k, line) for k, line in keyed if k not in known]
        record = self.repo.add(
            StatementImport(
                school_id=school.id,
                filename=filename[:255],
                sha256=hashlib.sha256(data).hexdigest(),
                imported_by=imported_by[:100],
                new_lines=len(fresh),
                known_lines=len(keyed) - len(fresh),
            )
        )
        open_invoices = self.repo.invoices_in_status(school.id, INVOICE_UNPAID)
        by_ref = {i.reference: i for i in open_invoices}
        matches = match_statement(
            (line for _, line in fresh),
            [OpenInvoice(i.reference, i.amount) for i in open_invoices if i.amount > 0],
        )
        paid = self.repo.invoices_in_status(school.id, INVOICE_PAID)
        for (key, line), match in zip(fresh, matches.results, strict=True):
            result = match.kind.value
            invoice = by_ref.get(match.invoice.reference) if match.invoice else None
            if match.kind is MatchKind.UNMATCHED and paid:
                again = match_statement([line], [OpenInvoice(i.reference, max(i.amount, 1)) for i in paid])
                if again.results[0].invoice is not None:
                    result = "already_paid"
                    invoice = next(i for i in paid if i.reference == again.results[0].invoice.reference)
            row = self.repo.add(
                StatementLine(
                    import_id=record.id,
                    school_id=school.id,
                    line_key=key,
                    row=line.row,
                    day=line.date,
                    amount=line.amount_vnd,
                    memo=line.memo[:500],
                    bank_ref=line.bank_ref[:100],
                    result=result,
                    invoice_id=invoice.id if invoice else None,
                )
            )
            if match.kind is MatchKind.MATCHED and invoice is not None:
                self._credit(school, invoice, row, imported_by)
        self.session.flush()
        return record

    def _credit(self, school: School, invoice: Invoice, line: StatementLine, actor: str) -> None:
        locked = self.repo.lock_invoices([invoice.id])[0]
        if not self.repo.mark_paid(locked, at=utcnow(), channel=self.channel, statement_line_id=line.id):
            line.result = "already_paid"  # paid by VNPay while the statement was being read
            return
        self.payments.append_ledger(
            entry_key=f"bank:{line.id}",
            kind="bank_transfer",
            channel=self.channel,
            amount=line.amount,
            invoice_id=invoice.id,
            statement_line_id=line.id,
            school_id=school.id,
            actor=actor[:100],
            note=f"Chuyển khoản {invoice.reference} ({line.bank_ref or line.day.isoformat()})"[:255],
        )


def _with_keys(lines: list[BankLine]) -> list[tuple[str, BankLine]]:
    """Identity of a line across files: bank reference when there is one, else its content + occurrence."""
    seen: Counter[str] = Counter()
    keyed = []
    for line in lines:
        basis = f"ref:{line.bank_ref}" if line.bank_ref else f"{line.date}|{line.amount_vnd}|{line.memo}"
        seen[basis] += 1
        digest = hashlib.sha256(f"{basis}|{seen[basis]}".encode()).hexdigest()
        keyed.append((digest, line))
    return keyed


def _vietnamese(message: str) -> str:
    if m := re.match(r"row (\d+): (.*)", message):
        return f"Dòng {m[1]}: số tiền không đọc được ({m[2]})."
    if message.startswith("no header row"):
        return "Không tìm thấy dòng tiêu đề có cột ngày giao dịch và số tiền (ghi có)."
    return f"Không đọc được tệp sao kê: {message}"
