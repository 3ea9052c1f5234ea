"""decide_ipn: checksum -> order -> amount -> already final -> record and confirm."""

from __future__ import annotations

import pytest

from payments import (
    CallbackResult,
    InvalidSignature,
    MalformedCallback,
    OrderView,
    PaymentStatus,
    UnknownMerchant,
    decide_ipn,
    ipn_response,
)


def result(status: PaymentStatus = PaymentStatus.PAID, amount_vnd: int = 150_000) -> CallbackResult:
    codes = {
        PaymentStatus.PAID: ("00", "00"),
        PaymentStatus.FAILED: ("24", "02"),
        PaymentStatus.NEEDS_REVIEW: ("07", "07"),
    }[status]
    return CallbackResult(
        provider="vnpay",
        txn_ref="HS01",
        amount_vnd=amount_vnd,
        status=status,
        response_code=codes[0],
        transaction_status=codes[1],
        provider_txn_no="1",
        bank_code="NCB",
        pay_date=None,
    )


PENDING = OrderView(amount_vnd=150_000, is_final=False)
FINAL = OrderView(amount_vnd=150_000, is_final=True)


def test_invalid_signature_answers_97_and_changes_nothing() -> None:
    decision = decide_ipn(InvalidSignature("bad"), PENDING)
    assert (decision.rsp_code, decision.apply, decision.status) == ("97", False, None)
    assert decision.body == {"RspCode": "97", "Message": "Invalid signature"}


def test_signature_is_checked_before_the_order() -> None:
    assert decide_ipn(InvalidSignature("bad"), None).rsp_code == "97"


def test_other_terminal_is_order_not_found_and_malformed_is_99() -> None:
    assert decide_ipn(UnknownMerchant("x"), None).rsp_code == "01"
    assert decide_ipn(MalformedCallback("x"), PENDING).rsp_code == "99"
    assert not decide_ipn(MalformedCallback("x"), PENDING).apply


def test_unknown_order_answers_01() -> None:
    decision = decide_ipn(result(), None)
    assert decision.body == {"RspCode": "01", "Message": "Order not found"}
    assert not decision.apply


def test_amount_mismatch_answers_04_before_final_check_and_flags_reconciliation() -> None:
    decision = decide_ipn(result(amount_vnd=150_001), FINAL)
    assert (decision.rsp_code, decision.apply, decision.reconcile) == ("04", False, True)
    # A failed payment with a wrong amount moved no money: nothing to reconcile.
    assert not decide_ipn(result(PaymentStatus.FAILED, amount_vnd=1), PENDING).reconcile


def test_already_final_answers_02_without_applying() -> None:
    decision = decide_ipn(result(), FINAL)
    assert decision.body == {"RspCode": "02", "Message": "Order already confirmed"}
    assert not decision.apply


@pytest.mark.parametrize("status", [PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.NEEDS_REVIEW])
def test_pending_order_records_the_result_and_confirms(status: PaymentStatus) -> None:
    decision = decide_ipn(result(status), PENDING)
    assert decision.body == {"RspCode": "00", "Message": "Confirm Success"}
    assert decision.apply and decision.status is status and not decision.reconcile


def test_ipn_response_bodies() -> None:
    assert ipn_response("00") == {"RspCode": "00", "Message": "Confirm Success"}
    assert ipn_response("01")["Message"] == "Order not found"
    assert ipn_response("02")["Message"] == "Order already confirmed"
    assert ipn_response("04")["Message"] == "Invalid amount"
    assert ipn_response("97")["Message"] == "Invalid signature"
    assert ipn_response("99")["Message"] == "Unknown error"
    with pytest.raises(ValueError):
        ipn_response("05")
