"""VietQR (NAPAS 247 bank transfer) payloads: EMVCo merchant-presented QR, CRC-16/CCITT-FALSE.

A VietQR is not a gateway: nothing confirms the transfer. Payments are found
later in the bank statement by their memo (see `payments.statement`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime

import segno

from payments.base import (
    VN_TZ,
    CallbackResult,
    NotSupported,
    PaymentRequest,
    PaymentStart,
    QueryResult,
    RefundRequest,
    RefundResult,
    require_vnd,
)
from payments.statement import (  # re-exported: statements are how VietQR payments are found
    OpenInvoice,
    StatementLine,
    StatementMatch,
    StatementParseError,
    match_statement,
    parse_bank_statement_csv,
)
from payments.text import to_ascii

__all__ = [
    "MEMO_MAX_LENGTH",
    "OpenInvoice",
    "StatementLine",
    "StatementMatch",
    "StatementParseError",
    "VietQRTransferProvider",
    "build_vietqr",
    "crc16_ccitt_false",
    "match_statement",
    "parse_bank_statement_csv",
    "render_png",
    "render_svg",
]

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
MEMO_MAX_LENGTH = 25  # 62/08 "purpose of transaction" as banks accept it [reported]
_BIN_RE = re.compile(r"^\d{6}$")
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9]{1,19}$")


def crc16_ccitt_false(data: bytes) -> int:
    """Poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check value 0x29B1)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    # Values are ASCII here, so characters == bytes and the length is unambiguous.
    if not value.isascii():
        raise ValueError(f"tag {tag}: value must be ASCII")
    if not 1 <= len(value) <= 99:
        raise ValueError(f"tag {tag}: value length {len(value)} is outside 1..99")
    return f"{tag}{len(value):02d}{value}"


def build_vietqr(
    bank_bin: str,
    account_number: str,
    amount_vnd: int | None = None,
    memo: str | None = None,
    *,
    service: str = SERVICE_TO_ACCOUNT,
) -> str:
    """The payload string for a transfer to `account_number` at the bank `bank_bin`."""
    if not _BIN_RE.fullmatch(bank_bin):
        raise ValueError("bank_bin must be the 6-digit NAPAS BIN (e.g. 970436 Vietcombank)")
    if not _ACCOUNT_RE.fullmatch(account_number):
        raise ValueError("account_number must be 1..19 letters or digits")
    if service not in (SERVICE_TO_ACCOUNT, SERVICE_TO_CARD):
        raise ValueError(f"service must be {SERVICE_TO_ACCOUNT} or {SERVICE_TO_CARD}")
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account_number)
    merchant_info = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", service)
    parts = [
        _tlv("00", "01"),
        _tlv("01", "12" if amount_vnd is not None else "11"),  # dynamic when it has an amount
        _tlv("38", merchant_info),
        _tlv("53", "704"),
    ]
    if amount_vnd is not None:
        require_vnd(amount_vnd, "amount_vnd")
        parts.append(_tlv("54", str(amount_vnd)))
    parts.append(_tlv("58", "VN"))
    if memo is not None:
        folded = to_ascii(memo)
        if not folded:
            raise ValueError("memo is empty once folded to ASCII")
        if len(folded) > MEMO_MAX_LENGTH:
            # Never truncate: the memo is how the transfer is matched to its invoice.
            raise ValueError(f"memo {folded!r} is longer than {MEMO_MAX_LENGTH} characters")
        parts.append(_tlv("62", _tlv("08", folded)))
    body = "".join(parts) + "6304"
    return f"{body}{crc16_ccitt_false(body.encode('ascii')):04X}"


def render_svg(payload: str, *, scale: int = 4, border: int = 4, title: str = "Mã VietQR") -> str:
    """Inline <svg> (no XML declaration) with a <title> for screen readers."""
    return segno.make_qr(payload, error="m").svg_inline(scale=scale, border=border, title=title)


def render_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make_qr(payload, error="m").save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


class VietQRTransferProvider:
    """Bank transfer by VietQR: shows a QR, confirmation comes from statement matching.

    Without a default account (each payee has its own, e.g. one per school) the registered provider
    only names the channel; `for_account` gives the provider for one account."""

    name = "vietqr"
    label = "Chuyển khoản VietQR"

    def __init__(
        self, bank_bin: str | None = None, account_number: str | None = None, *, name: str = "vietqr"
    ) -> None:
        if bank_bin is not None or account_number is not None:
            build_vietqr(bank_bin or "", account_number or "")  # validates early, at start-up
        self.name = name
        self.bank_bin = bank_bin
        self.account_number = account_number

    def for_account(self, bank_bin: str, account_number: str) -> VietQRTransferProvider:
        """The same channel (same name) paying into another account."""
        return VietQRTransferProvider(bank_bin, account_number, name=self.name)

    def create_payment(self, req: PaymentRequest) -> PaymentStart:
        if self.bank_bin is None or self.account_number is None:
            raise NotSupported("no account to transfer to: use for_account(bank_bin, account_number)")
        # The TxnRef is the memo: it must survive the bank's memo handling intact.
        payload = build_vietqr(self.bank_bin, self.account_number, req.amount_vnd, req.txn_ref)
        return PaymentStart(
            provider=self.name,
            txn_ref=req.txn_ref,
            amount_vnd=req.amount_vnd,
            transaction_date=req.created_at.astimezone(VN_TZ).replace(microsecond=0),
            expires_at=None,
            qr_payload=payload,
        )

    def verify_return(self, params: Mapping[str, str]) -> CallbackResult:
        raise NotSupported("a bank transfer has no return callback")

    def parse_notification(self, params: Mapping[str, str]) -> CallbackResult:
        raise NotSupported("a bank transfer has no notification; match the bank statement")

    async def query(
        self,
        txn_ref: str,
        transaction_date: datetime,
        *,
        provider_txn_no: str | None = None,
        order_info: str | None = None,
    ) -> QueryResult:
        raise NotSupported("a bank transfer cannot be queried; match the bank statement")

    async def refund(self, req: RefundRequest) -> RefundResult:
        raise NotSupported("refund a bank transfer by a manual transfer back")
