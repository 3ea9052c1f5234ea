"""Settings of the local VNPay test double, and the knobs that make its IPN misbehave."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import httpx

from payments.base import VN_TZ


class SandboxRefused(RuntimeError):
    """The sandbox must never run where real money moves."""


def _now() -> datetime:
    return datetime.now(VN_TZ)


@dataclass(frozen=True, slots=True)
class IpnKnobs:
    """How the IPN for one payment is delivered (config default, overridable per payment)."""

    duplicates: int = 1  # deliver N copies concurrently, each with its own retry chain
    order: Literal["after", "before"] = "after"  # first attempt relative to the 302 redirect
    delay_s: float = 0.0  # wait before the first attempt
    drop: bool = False  # lose the IPN entirely (reconcile with querydr)
    tamper: str | None = None  # change this vnp_* value after signing: expect RspCode 97
    amount_vnd: int | None = None  # send this amount, correctly signed: expect RspCode 04

    def __post_init__(self) -> None:
        if not 1 <= self.duplicates <= 20:
            raise ValueError("duplicates must be between 1 and 20")
        if self.order not in ("after", "before"):
            raise ValueError("order must be 'after' or 'before'")
        if self.delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        if self.tamper is not None and not self.tamper.startswith("vnp_"):
            raise ValueError("tamper must name a vnp_* parameter")


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    tmn_code: str
    hash_secret: str = field(repr=False)
    ipn_url: str | None = None  # like VNPay: configured per terminal, not sent in the request
    production: bool = False  # True refuses to build the app
    ipn_client: httpx.AsyncClient | None = field(default=None, repr=False, compare=False)
    ipn_retry_interval_s: float = 300.0  # VNPay: 5 minutes apart
    ipn_max_attempts: int = 10  # VNPay: at most 10 calls
    ipn_timeout_s: float = 10.0
    ipn: IpnKnobs = IpnKnobs()
    allow_ipn_overrides: bool = True  # let the payment page change the knobs per payment
    bank_code: str = "NCB"
    card_type: str = "ATM"
    # Extra vnp_* fields added (and signed) in Return/IPN, to catch whitelist verifiers.
    extra_callback_params: Mapping[str, str] = field(default_factory=dict)
    require_expire_date: bool = True
    refund_enabled: bool = True  # False: refund answers 99, like accounts without the feature
    refund_auto_settle: bool = False  # False: refunds stay 05 (processing) until settled
    querydr_throttle_s: float = 0.0  # >0: answer 94 to any querydr this long after a success
    first_transaction_no: int = 14_000_001
    clock: Callable[[], datetime] = field(default=_now, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tmn_code or not self.hash_secret:
            raise ValueError("tmn_code and hash_secret are required")
        if self.ipn_max_attempts < 1:
            raise ValueError("ipn_max_attempts must be >= 1")
        if self.ipn_retry_interval_s < 0:
            raise ValueError("ipn_retry_interval_s must be >= 0")
        for name in self.extra_callback_params:
            if not name.startswith("vnp_"):
                raise ValueError(f"extra callback parameter {name!r} must start with vnp_")
