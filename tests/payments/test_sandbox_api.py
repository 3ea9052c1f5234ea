"""querydr and refund: the VNPay client against the sandbox, and against hostile answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from payment_builders import PAID_AT, SANDBOX_BASE, SECRET, TMN, World, vnpay_config

from payments import ApiOutcome, PaymentRequest, PaymentStatus, RefundRequest
from payments.vnpay import VNPayProvider
from payments.vnpay_codec import (
    QUERYDR_REQUEST_FIELDS,
    QUERYDR_RESPONSE_FIELDS,
    REFUND_REQUEST_FIELDS,
    REFUND_RESPONSE_FIELDS,
    hmac_sha512,
    pipe_data,
    pipe_hash,
)

pytestmark = pytest.mark.anyio

API = "/merchant_webapi/api/transaction"
WRONG_SECRET = "not-the-secret"  # noqa: S105


async def paid(
    world: World, txn_ref: str, amount_vnd: int = 150_000, outcome: str = "00", **form: str
) -> tuple[PaymentRequest, dict[str, str]]:
    req = world.request(txn_ref, amount_vnd)
    params = await world.pay(req, outcome, **form)
    await world.sandbox.ipn.wait_idle()
    return req, params


def refund_of(
    req: PaymentRequest,
    amount_vnd: int | None = None,
    *,
    full: bool = True,
    provider_txn_no: str | None = None,
) -> RefundRequest:
    return RefundRequest(
        txn_ref=req.txn_ref,
        amount_vnd=amount_vnd or req.amount_vnd,
        transaction_date=req.created_at,
        created_by="Nguyễn Văn Kế Toán",
        order_info=f"Hoàn tiền {req.txn_ref}",
        full=full,
        provider_txn_no=provider_txn_no,
    )


async def test_querydr_reports_a_paid_transaction(world: World) -> None:
    req, params = await paid(world, "HS-Q1")
    result = await world.provider.query(req.txn_ref, req.created_at)
    assert result.outcome is ApiOutcome.ANSWERED and result.response_code == "00"
    assert result.status is PaymentStatus.PAID and result.transaction_type == "01"
    assert result.is_paid(150_000) and not result.is_paid(150_001)
    assert result.provider_txn_no == params["vnp_TransactionNo"]
    assert result.pay_date is not None and result.bank_code == "NCB"
    assert result.raw["vnp_SecureHash"] and not result.retry_later


async def test_querydr_reconciles_a_payment_whose_ipn_was_lost(world: World) -> None:
    req, _ = await paid(world, "HS-Q-LOST", ipn_drop="1")
    assert world.merchant.calls == []
    result = await world.provider.query(req.txn_ref, req.created_at)
    assert result.is_paid(req.amount_vnd)


@pytest.mark.parametrize(
    ("outcome", "status"), [("24", PaymentStatus.FAILED), ("07", PaymentStatus.NEEDS_REVIEW)]
)
async def test_querydr_reports_failed_and_suspected(
    world: World, outcome: str, status: PaymentStatus
) -> None:
    req, _ = await paid(world, f"HS-Q{outcome}", outcome=outcome)
    result = await world.provider.query(req.txn_ref, req.created_at)
    assert result.outcome is ApiOutcome.ANSWERED and result.status is status
    assert not result.is_paid(req.amount_vnd)


async def test_querydr_while_the_citizen_is_still_on_the_page(world: World) -> None:
    req = world.request("HS-Q-OPEN", 150_000)
    assert (await world.open_page(req)).status_code == 200
    result = await world.provider.query(req.txn_ref, req.created_at)
    assert result.outcome is ApiOutcome.ANSWERED and result.status is PaymentStatus.PENDING
    assert result.transaction_status == "01" and result.pay_date is None


async def test_querydr_not_found_91(world: World) -> None:
    req, _ = await paid(world, "HS-Q91")
    unknown = await world.provider.query("HS-NOPE", req.created_at)
    other_day = await world.provider.query(req.txn_ref, req.created_at - timedelta(days=1))
    for result in (unknown, other_day):
        assert (result.outcome, result.response_code, result.status) == (ApiOutcome.NOT_FOUND, "91", None)


async def test_querydr_reused_request_id_94_is_a_back_off_signal(world: World) -> None:
    req, _ = await paid(world, "HS-Q94")
    fixed = VNPayProvider(vnpay_config(), http_client=world.api, request_id_factory=lambda: "REQ1")
    assert (await fixed.query(req.txn_ref, req.created_at)).outcome is ApiOutcome.ANSWERED
    again = await fixed.query(req.txn_ref, req.created_at)
    assert (again.outcome, again.response_code, again.retry_later) == (ApiOutcome.THROTTLED, "94", True)


@pytest.mark.parametrize("sandbox_overrides", [{"querydr_throttle_s": 300}])
async def test_querydr_sandbox_throttling_after_a_success(world: World) -> None:
    req, _ = await paid(world, "HS-QTHR")
    assert (await world.provider.query(req.txn_ref, req.created_at)).outcome is ApiOutcome.ANSWERED
    throttled = await world.provider.query(req.txn_ref, req.created_at)
    assert throttled.outcome is ApiOutcome.THROTTLED and throttled.retry_later


async def test_querydr_wrong_secret_97_and_wrong_terminal_02(world: World) -> None:
    req, _ = await paid(world, "HS-Q97")
    wrong_secret = VNPayProvider(vnpay_config(hash_secret=WRONG_SECRET), http_client=world.api)
    result = await wrong_secret.query(req.txn_ref, req.created_at)
    assert (result.outcome, result.response_code) == (ApiOutcome.REJECTED, "97")
    wrong_tmn = VNPayProvider(vnpay_config(tmn_code="OTHER001"), http_client=world.api)
    result = await wrong_tmn.query(req.txn_ref, req.created_at)
    assert (result.outcome, result.response_code) == (ApiOutcome.REJECTED, "02")


async def test_raw_api_rejects_malformed_requests(world: World) -> None:
    post = world.browser.post
    assert (await post(API, content=b"not json")).json()["vnp_ResponseCode"] == "03"
    assert (await post(API, json={"vnp_Command": "pay"})).json()["vnp_ResponseCode"] == "03"
    body = world.provider.querydr_body("HS-X", world.clock())
    body.pop("vnp_IpAddr")
    assert (await post(API, json=body)).json()["vnp_ResponseCode"] == "03"


async def test_sandbox_answer_hashes_use_the_documented_orders(world: World) -> None:
    req, _ = await paid(world, "HS-QH")
    body = world.provider.querydr_body(req.txn_ref, req.created_at)
    assert body["vnp_SecureHash"] == hmac_sha512(SECRET, pipe_data(body, QUERYDR_REQUEST_FIELDS))
    answer = (await world.browser.post(API, json=body)).json()
    assert answer["vnp_SecureHash"] == hmac_sha512(SECRET, pipe_data(answer, QUERYDR_RESPONSE_FIELDS))
    assert "vnp_PromotionCode" not in answer  # missing fields hash as ''
    assert pipe_data(answer, QUERYDR_RESPONSE_FIELDS).endswith(f"|{answer['vnp_OrderInfo']}||")


async def test_full_refund_then_pending_94_then_nothing_left(world: World) -> None:
    req, params = await paid(world, "HS-R1")
    result = await world.provider.refund(refund_of(req, provider_txn_no=params["vnp_TransactionNo"]))
    assert result.outcome is ApiOutcome.ANSWERED and result.accepted
    assert (result.amount_vnd, result.transaction_status) == (150_000, "05")
    assert result.provider_txn_no not in (None, "0", params["vnp_TransactionNo"])
    pending = await world.provider.refund(refund_of(req, 1, full=False))
    assert (pending.outcome, pending.response_code) == (ApiOutcome.THROTTLED, "94")
    assert (await world.browser.post("/_sandbox/refunds/settle")).json() == {"settled": 1}
    nothing_left = await world.provider.refund(refund_of(req, 1, full=False))
    assert (nothing_left.outcome, nothing_left.response_code) == (ApiOutcome.REJECTED, "03")
    [txn] = (await world.browser.get("/_sandbox/transactions")).json()["transactions"]
    assert txn["refundable_x100"] == 0 and txn["refunds"][0]["created_by"] == "Nguyen Van Ke Toan"


@pytest.mark.parametrize("sandbox_overrides", [{"refund_auto_settle": True}])
async def test_partial_refunds_up_to_the_original_amount(world: World) -> None:
    req, _ = await paid(world, "HS-R2", 150_000)
    first = await world.provider.refund(refund_of(req, 50_000, full=False))
    assert first.accepted and first.raw["vnp_TransactionType"] == "03" and first.transaction_status == "06"
    too_much = await world.provider.refund(refund_of(req, 100_001, full=False))
    assert too_much.response_code == "03"
    full_of_rest_wrong = await world.provider.refund(refund_of(req, 150_000, full=True))
    assert full_of_rest_wrong.response_code == "03"
    rest = await world.provider.refund(refund_of(req, 100_000, full=True))
    assert rest.accepted and rest.amount_vnd == 100_000


async def test_refund_of_an_unsuccessful_payment_is_95(world: World) -> None:
    req, _ = await paid(world, "HS-R95", outcome="51")
    result = await world.provider.refund(refund_of(req))
    assert (result.outcome, result.response_code) == (ApiOutcome.REFUSED, "95")


async def test_refund_not_found_91(world: World) -> None:
    req, _ = await paid(world, "HS-R91")
    wrong_no = await world.provider.refund(refund_of(req, provider_txn_no="999"))
    assert (wrong_no.outcome, wrong_no.response_code) == (ApiOutcome.NOT_FOUND, "91")
    other = RefundRequest(
        txn_ref="HS-NOPE",
        amount_vnd=1_000,
        transaction_date=req.created_at,
        created_by="admin",
        order_info="x",
    )
    assert (await world.provider.refund(other)).response_code == "91"


async def test_refund_bad_checksum_97(world: World) -> None:
    req, _ = await paid(world, "HS-R97")
    wrong = VNPayProvider(vnpay_config(hash_secret=WRONG_SECRET), http_client=world.api)
    result = await wrong.refund(refund_of(req))
    assert (result.outcome, result.response_code) == (ApiOutcome.REJECTED, "97")
    [txn] = world.sandbox.state.transactions.values()
    assert txn.refunds == []


@pytest.mark.parametrize("sandbox_overrides", [{"refund_enabled": False}])
async def test_refund_disabled_account_answers_99(world: World) -> None:
    req, _ = await paid(world, "HS-R99")
    result = await world.provider.refund(refund_of(req))
    assert (result.outcome, result.response_code) == (ApiOutcome.REJECTED, "99")


def test_refund_body_reproduces_the_worked_example() -> None:
    provider = VNPayProvider(
        vnpay_config(),
        clock=lambda: datetime(2025, 1, 16, 9, 0, tzinfo=timezone(timedelta(hours=7))),
        request_id_factory=lambda: "REQ20250116090000B2",
    )
    body = provider.refund_body(
        RefundRequest(
            txn_ref="ORD20250115-0001",
            amount_vnd=150_000,
            transaction_date=datetime(2025, 1, 15, 10, 30, tzinfo=timezone(timedelta(hours=7))),
            created_by="admin",
            order_info="Hoàn tiền GD ORD20250115-0001",
            provider_txn_no="14800001",
        )
    )
    assert pipe_data(body, REFUND_REQUEST_FIELDS) == (
        "REQ20250116090000B2|2.1.0|refund|DEMO0001|02|ORD20250115-0001|15000000|14800001|20250115103000"
        "|admin|20250116090000|203.0.113.5|Hoan tien GD ORD20250115-0001"
    )
    assert body["vnp_SecureHash"].startswith("b3863bc161e85f73")


# -- the client against hostile or broken gateways ------------------------------------------


def gateway(reply: Any, status: int = 200, *, seen: list[dict[str, str]] | None = None) -> VNPayProvider:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        answer = reply(body) if callable(reply) else reply
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, str):
            return httpx.Response(status, text=answer)
        return httpx.Response(status, json=answer)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=SANDBOX_BASE)
    return VNPayProvider(vnpay_config(), http_client=client)


def querydr_answer(body: dict[str, str], secret: str = SECRET, **changes: str) -> dict[str, str]:
    answer = {
        "vnp_ResponseId": "R1",
        "vnp_Command": "querydr",
        "vnp_ResponseCode": "00",
        "vnp_Message": "OK",
        "vnp_TmnCode": TMN,
        "vnp_TxnRef": body["vnp_TxnRef"],
        "vnp_Amount": "15000000",
        "vnp_BankCode": "NCB",
        "vnp_PayDate": "20250115103500",
        "vnp_TransactionNo": "14800001",
        "vnp_TransactionType": "01",
        "vnp_TransactionStatus": "00",
        "vnp_OrderInfo": "x",
    }
    answer["vnp_SecureHash"] = pipe_hash(answer, QUERYDR_RESPONSE_FIELDS, secret)
    answer.update(changes)
    return answer


async def test_client_sends_a_correctly_signed_querydr() -> None:
    seen: list[dict[str, str]] = []
    provider = gateway(querydr_answer, seen=seen)
    result = await provider.query("HS01", PAID_AT, provider_txn_no="14800001")
    assert result.is_paid(150_000)
    [body] = seen
    assert body["vnp_SecureHash"] == pipe_hash(body, QUERYDR_REQUEST_FIELDS, SECRET)
    assert body["vnp_TransactionNo"] == "14800001" and body["vnp_IpAddr"] == "203.0.113.5"
    assert len(body["vnp_RequestId"]) <= 32 and body["vnp_RequestId"].isalnum()
    await provider.query("HS01", PAID_AT)
    assert seen[0]["vnp_RequestId"] != seen[1]["vnp_RequestId"]  # never reused (§5.1 e)


@pytest.mark.parametrize(
    "reply",
    [
        lambda b: querydr_answer(b, secret=WRONG_SECRET),
        lambda b: querydr_answer(b, vnp_TransactionStatus="00", vnp_Amount="99900"),  # edited after signing
        lambda b: querydr_answer(b, vnp_SecureHash=""),
        lambda b: querydr_answer({**b, "vnp_TxnRef": "HS-OTHER"}),  # a signed answer about another order
    ],
)
async def test_unverifiable_querydr_answers_are_not_facts(reply: Any) -> None:
    result = await gateway(reply).query("HS01", PAID_AT)
    assert result.outcome is ApiOutcome.UNVERIFIABLE and result.status is None
    assert not result.is_paid(150_000) and result.retry_later


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ("<html>maintenance</html>", 200),
        ({"vnp_ResponseCode": "00"}, 502),
        (httpx.ConnectError("refused"), 200),
        (httpx.ReadTimeout("slow"), 200),
        (["not", "an", "object"], 200),
    ],
)
async def test_unavailable_gateway(reply: Any, status: int) -> None:
    provider = gateway(reply, status)
    result = await provider.query("HS01", PAID_AT)
    assert result.outcome is ApiOutcome.UNAVAILABLE and result.retry_later
    refund = await provider.refund(
        RefundRequest(
            txn_ref="HS01", amount_vnd=1_000, transaction_date=PAID_AT, created_by="admin", order_info="x"
        )
    )
    assert refund.outcome is ApiOutcome.UNAVAILABLE and not refund.accepted


async def test_refund_answers_are_really_verified() -> None:
    def forged(body: dict[str, str]) -> dict[str, str]:
        answer = {
            "vnp_ResponseId": "R1",
            "vnp_Command": "refund",
            "vnp_ResponseCode": "00",
            "vnp_Message": "OK",
            "vnp_TmnCode": TMN,
            "vnp_TxnRef": body["vnp_TxnRef"],
            "vnp_Amount": body["vnp_Amount"],
            "vnp_BankCode": "NCB",
            "vnp_PayDate": "20250116090000",
            "vnp_TransactionNo": "1",
            "vnp_TransactionType": "02",
            "vnp_TransactionStatus": "05",
            "vnp_OrderInfo": body["vnp_OrderInfo"],
        }
        answer["vnp_SecureHash"] = pipe_hash(answer, REFUND_RESPONSE_FIELDS, WRONG_SECRET)
        return answer

    request = RefundRequest(
        txn_ref="HS01", amount_vnd=1_000, transaction_date=PAID_AT, created_by="admin", order_info="x"
    )
    result = await gateway(forged).refund(request)
    assert result.outcome is ApiOutcome.UNVERIFIABLE and not result.accepted


def test_refund_request_validation() -> None:
    with pytest.raises(ValueError):
        RefundRequest(
            txn_ref="HS01", amount_vnd=1_000, transaction_date=PAID_AT, created_by=" ", order_info="x"
        )
    with pytest.raises(ValueError):
        RefundRequest(
            txn_ref="HS01",
            amount_vnd=1_000,
            transaction_date=datetime(2025, 1, 1),
            created_by="admin",
            order_info="x",
        )
