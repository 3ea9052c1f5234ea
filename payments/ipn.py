"""Which answer to give a payment notification (IPN), as a pure decision.

The portal calls `decide_ipn` inside the transaction that holds the payment
attempt's row lock, applies the result when `apply` is true (a conditional
update `WHERE status = 'pending'`), then returns `decision.body` as JSON with
HTTP 200. The order of checks is VNPay's: checksum, order, amount, already final.
"""

from __future__ import annotations

from dataclasses import dataclass

from payments.base import CallbackResult, PaymentError, PaymentStatus

IPN_MESSAGES: dict[str, str] = {
    "00": "Confirm Success",
    "01": "Order not found",
    "02": "Order already confirmed",
    "04": "Invalid amount",
    "97": "Invalid signature",
    "99": "Unknown error",
}

# VNPay stops retrying only on these; anything else is retried up to 10 times.
IPN_FINAL_CODES = frozenset({"00", "02"})


def ipn_response(code: str) -> dict[str, str]:
    """The JSON body VNPay expects: {"RspCode": code, "Message": text}."""
    try:
        return {"RspCode": code, "Message": IPN_MESSAGES[code]}
    except KeyError:
        raise ValueError(f"unknown IPN RspCode {code!r}") from None


@dataclass(frozen=True, slots=True)
class OrderView:
    """What decide_ipn needs to know about the payment attempt found for the TxnRef."""

    amount_vnd: int
    is_final: bool  # no longer pending: a result was already recorded


@dataclass(frozen=True, slots=True)
class IpnDecision:
    rsp_code: str
    message: str
    apply: bool  # record `status` on the attempt (only when rsp_code == "00")
    status: PaymentStatus | None = None
    reconcile: bool = False  # money may have moved but we refused it: alert an operator

    @property
    def body(self) -> dict[str, str]:
        return {"RspCode": self.rsp_code, "Message": self.message}


def _decision(
    code: str, *, apply: bool = False, status: PaymentStatus | None = None, reconcile: bool = False
) -> IpnDecision:
    return IpnDecision(code, IPN_MESSAGES[code], apply, status, reconcile)


def decide_ipn(verified: CallbackResult | PaymentError, order: OrderView | None) -> IpnDecision:
    """checksum -> order -> amount -> already final -> record (success or failure) and confirm."""
    if isinstance(verified, PaymentError):
        # Bad signature, foreign terminal or malformed data: nothing is recorded.
        return _decision(verified.ipn_code)
    if order is None:
        return _decision("01")
    if verified.amount_vnd != order.amount_vnd:
        # RspCode does not veto a payment: if money moved, a human must sort it out.
        return _decision("04", reconcile=verified.status is not PaymentStatus.FAILED)
    if order.is_final:
        return _decision("02")
    # Failures are recorded and confirmed too; answering 99 would only cause useless retries.
    return _decision("00", apply=True, status=verified.status)
