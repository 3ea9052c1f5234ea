"""VNPay 2.1.0 wire format: canonical query, HMAC-SHA512 checksums, dates, codes.

Shared by the client (`payments.vnpay`) and the local test double
(`payments.sandbox`), so both read the same rules from one place.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import quote_plus

from payments.base import VN_TZ, PaymentStatus, require_aware

VERSION = "2.1.0"
DATE_FORMAT = "%Y%m%d%H%M%S"

SECURE_HASH = "vnp_SecureHash"
SECURE_HASH_TYPE = "vnp_SecureHashType"
_NOT_HASHED = frozenset({SECURE_HASH, SECURE_HASH_TYPE})

# The pipe-joined checksums of the merchant API (§4): fixed orders, values only.
QUERYDR_REQUEST_FIELDS: tuple[str, ...] = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
QUERYDR_RESPONSE_FIELDS: tuple[str, ...] = (
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
)
REFUND_REQUEST_FIELDS: tuple[str, ...] = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_RESPONSE_FIELDS: tuple[str, ...] = QUERYDR_RESPONSE_FIELDS[:13]


def format_date(value: datetime) -> str:
    """yyyyMMddHHmmss in GMT+7, whatever zone `value` is in (it must be aware)."""
    require_aware(value, "datetime")
    return value.astimezone(VN_TZ).strftime(DATE_FORMAT)


def parse_date(value: str) -> datetime:
    if len(value) != 14 or not value.isdigit():
        raise ValueError(f"expected 14 digits yyyyMMddHHmmss, got {value!r}")
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=VN_TZ)


def hmac_sha512(secret: str, data: str) -> str:
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def canonical_query(params: Mapping[str, object], *, include_empty: bool = False) -> str:
    """§2.2: every vnp_* but the hash fields, sorted by name, values quote_plus-encoded.

    Empty values are left out (they are never sent); `include_empty` exists only for
    the verification fallback of §10 (PHP/Python demos hash them as `name=`).
    """
    items = sorted(
        (name, _text(value))
        for name, value in params.items()
        if name.startswith("vnp_") and name not in _NOT_HASHED
    )
    return "&".join(f"{name}={quote_plus(value)}" for name, value in items if include_empty or value != "")


def sign_params(params: Mapping[str, object], secret: str) -> str:
    return hmac_sha512(secret, canonical_query(params))


def signed_query(params: Mapping[str, object], secret: str) -> str:
    """The exact query string to send: canonical form plus the checksum, appended last."""
    data = canonical_query(params)
    return f"{data}&{SECURE_HASH}={hmac_sha512(secret, data)}"


def same_hash(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.lower().encode(), received.strip().lower().encode())


def verify_params(params: Mapping[str, str], secret: str) -> bool:
    """Check vnp_SecureHash over ALL received vnp_* params (never a whitelist)."""
    received = params.get(SECURE_HASH, "")
    if not received:
        return False
    if same_hash(hmac_sha512(secret, canonical_query(params)), received):
        return True
    has_empty = any(
        name.startswith("vnp_") and name not in _NOT_HASHED and value == "" for name, value in params.items()
    )
    return has_empty and same_hash(hmac_sha512(secret, canonical_query(params, include_empty=True)), received)


def pipe_data(body: Mapping[str, object], fields: Sequence[str]) -> str:
    """Values joined by '|' in a fixed order, a missing field counting as ''."""
    return "|".join(_text(body.get(name)) for name in fields)


def pipe_hash(body: Mapping[str, object], fields: Sequence[str], secret: str) -> str:
    return hmac_sha512(secret, pipe_data(body, fields))


def verify_pipe_hash(body: Mapping[str, object], fields: Sequence[str], secret: str) -> bool:
    received = _text(body.get(SECURE_HASH))
    return bool(received) and same_hash(pipe_hash(body, fields, secret), received)


def payment_status(response_code: str, transaction_status: str) -> PaymentStatus:
    """Success needs BOTH codes 00 (the PHP sample's `||` is a bug); 07 awaits review."""
    if response_code == "00" and transaction_status == "00":
        return PaymentStatus.PAID
    if response_code == "07" or transaction_status == "07":
        return PaymentStatus.NEEDS_REVIEW
    return PaymentStatus.FAILED


def query_status(transaction_status: str) -> PaymentStatus | None:
    """The payment's state as a verified querydr answer reports it (None: not a payment state)."""
    return {
        "00": PaymentStatus.PAID,
        "01": PaymentStatus.PENDING,
        "02": PaymentStatus.FAILED,
        "04": PaymentStatus.FAILED,
        "07": PaymentStatus.NEEDS_REVIEW,
    }.get(transaction_status)


# Display text for vnp_ResponseCode (§3.3), e.g. on the result page.
RESPONSE_MESSAGES: dict[str, str] = {
    "00": "Giao dịch thành công",
    "07": "Trừ tiền thành công, giao dịch bị nghi ngờ (đang chờ xem xét)",
    "09": "Thẻ/tài khoản chưa đăng ký dịch vụ Internet Banking",
    "10": "Xác thực thông tin thẻ/tài khoản không đúng quá 3 lần",
    "11": "Đã hết hạn chờ thanh toán",
    "12": "Thẻ/tài khoản bị khóa",
    "13": "Nhập sai mật khẩu xác thực giao dịch (OTP)",
    "24": "Khách hàng hủy giao dịch",
    "51": "Tài khoản không đủ số dư",
    "65": "Tài khoản đã vượt quá hạn mức giao dịch trong ngày",
    "75": "Ngân hàng thanh toán đang bảo trì",
    "79": "Nhập sai mật khẩu thanh toán quá số lần quy định",
    "99": "Lỗi khác",
}
