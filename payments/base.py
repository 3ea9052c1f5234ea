"""The provider interface every payment method implements, and its value types.

A provider turns a `PaymentRequest` into something the citizen's browser can act
on (a redirect URL or a QR payload), checks what the gateway sends back, and
talks to the gateway's query/refund API. It never touches the database: the
portal persists the results (one row per payment attempt and per refund).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Locale = Literal["vn", "en"]

# Alphanumerics plus the separators seen in real TxnRefs (VNPay allows [1,100]).
_TXN_REF_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class PaymentError(Exception):
    """Base class. `ipn_code` is the VNPay RspCode a notification failing this way earns."""

    ipn_code: ClassVar[str] = "99"


class InvalidSignature(PaymentError):
    """The checksum of a callback or API answer does not verify. Never change state on it."""

    ipn_code: ClassVar[str] = "97"


class MalformedCallback(PaymentError):
    """Signed correctly but unusable (missing field, non-numeric amount, bad date)."""

    ipn_code: ClassVar[str] = "99"


class UnknownMerchant(PaymentError):
    """The callback is for another terminal (vnp_TmnCode is not ours): no such order here."""

    ipn_code: ClassVar[str] = "01"


class NotSupported(PaymentError):
    """The provider has no such operation (e.g. a bank-transfer QR cannot be queried)."""


class PaymentStatus(enum.StrEnum):
    PAID = "paid"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"  # VNPay 07: money taken, merchant must approve or reject
    PENDING = "pending"


class ApiOutcome(enum.StrEnum):
    """How a query/refund call went. Only ANSWERED carries a trustworthy, verified answer."""

    ANSWERED = "answered"
    NOT_FOUND = "not_found"  # 91
    THROTTLED = "throttled"  # 94: back off (duplicate request / refund already in progress)
    REFUSED = "refused"  # 95 (refund of an unsuccessful payment) and other business refusals
    REJECTED = "rejected"  # 02/03/97/99: the gateway did not accept our request
    UNVERIFIABLE = "unverifiable"  # the answer's checksum does not verify: treat as no answer
    UNAVAILABLE = "unavailable"  # network error, timeout, non-JSON or HTTP error


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def require_vnd(value: int, name: str, *, minimum: int = 1) -> None:
    # bool is an int subclass; a float or Decimal here is always a bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int number of dong, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def require_txn_ref(value: str) -> None:
    if not _TXN_REF_RE.fullmatch(value):
        raise ValueError(f"txn_ref must match {_TXN_REF_RE.pattern}, got {value!r}")


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    txn_ref: str  # unique per provider and day; one per payment attempt
    amount_vnd: int
    order_info: str  # free text; providers fold it to what the gateway accepts
    client_ip: str
    created_at: datetime  # aware; keep it: querydr/refund need it as the transaction date
    return_url: str | None = None  # None: the provider's configured return URL
    locale: Locale = "vn"
    expire_minutes: int = 15
    bank_code: str | None = None  # None lets the citizen choose on the gateway

    def __post_init__(self) -> None:
        require_txn_ref(self.txn_ref)
        require_vnd(self.amount_vnd, "amount_vnd")
        require_aware(self.created_at, "created_at")
        if self.locale not in ("vn", "en"):
            raise ValueError(f"locale must be 'vn' or 'en', got {self.locale!r}")
        if not 1 <= self.expire_minutes <= 24 * 60:
            raise ValueError("expire_minutes must be between 1 and 1440")


@dataclass(frozen=True, slots=True)
class PaymentStart:
    """What to do next: send the browser to `redirect_url`, or show `qr_payload`."""

    provider: str
    txn_ref: str
    amount_vnd: int
    transaction_date: datetime  # GMT+7, whole seconds; store it with the attempt
    expires_at: datetime | None
    redirect_url: str | None = None
    qr_payload: str | None = None


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """A verified return/notification. `raw` is everything received, for the audit row."""

    provider: str
    txn_ref: str
    amount_vnd: int
    status: PaymentStatus
    response_code: str
    transaction_status: str
    provider_txn_no: str | None
    bank_code: str | None
    pay_date: datetime | None
    card_type: str | None = None
    bank_tran_no: str | None = None
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status is PaymentStatus.PAID


@dataclass(frozen=True, slots=True)
class QueryResult:
    outcome: ApiOutcome
    response_code: str
    message: str
    txn_ref: str
    status: PaymentStatus | None = None  # only set when outcome is ANSWERED
    amount_vnd: int | None = None
    transaction_status: str | None = None
    transaction_type: str | None = None
    provider_txn_no: str | None = None
    bank_code: str | None = None
    pay_date: datetime | None = None
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def retry_later(self) -> bool:
        """The caller should back off (VNPay 94 throttling) or simply try again later."""
        return self.outcome in (ApiOutcome.THROTTLED, ApiOutcome.UNAVAILABLE, ApiOutcome.UNVERIFIABLE)

    def is_paid(self, expected_amount_vnd: int) -> bool:
        """Paid only on a verified answer for a payment (type 01) of exactly this amount."""
        return (
            self.outcome is ApiOutcome.ANSWERED
            and self.status is PaymentStatus.PAID
            and self.transaction_type == "01"
            and self.amount_vnd == expected_amount_vnd
        )


@dataclass(frozen=True, slots=True)
class RefundRequest:
    txn_ref: str  # of the original payment
    amount_vnd: int
    transaction_date: datetime  # PaymentStart.transaction_date of the original payment
    created_by: str  # who asked for the refund (user name), sent to the gateway
    order_info: str
    full: bool = True  # VNPay 02 full / 03 partial
    provider_txn_no: str | None = None  # vnp_TransactionNo of the original, if known

    def __post_init__(self) -> None:
        require_txn_ref(self.txn_ref)
        require_vnd(self.amount_vnd, "amount_vnd")
        require_aware(self.transaction_date, "transaction_date")
        if not self.created_by.strip():
            raise ValueError("created_by is required")


@dataclass(frozen=True, slots=True)
class RefundResult:
    outcome: ApiOutcome
    response_code: str
    message: str
    txn_ref: str
    amount_vnd: int | None = None
    transaction_status: str | None = None  # VNPay 05 processing, 06 sent to bank, 09 rejected
    provider_txn_no: str | None = None
    request_id: str = ""
    raw: Mapping[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.outcome is ApiOutcome.ANSWERED


@runtime_checkable
class PaymentProvider(Protocol):
    """The narrow interface the portal programs against. See `payments.registry`."""

    name: str

    def create_payment(self, req: PaymentRequest) -> PaymentStart: ...

    def verify_return(self, params: Mapping[str, str]) -> CallbackResult:
        """Browser return: verify and display only; never update the order from this."""
        ...

    def parse_notification(self, params: Mapping[str, str]) -> CallbackResult:
        """Server-to-server notification; raises InvalidSignature / MalformedCallback."""
        ...

    async def query(
        self,
        txn_ref: str,
        transaction_date: datetime,
        *,
        provider_txn_no: str | None = None,
        order_info: str | None = None,
    ) -> QueryResult: ...

    async def refund(self, req: RefundRequest) -> RefundResult: ...
