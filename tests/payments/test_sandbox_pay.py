"""End to end through the in-process sandbox: pay page, Return redirect, IPN to a fake merchant."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import httpx
import pytest
from payment_builders import RETURN_URL, SECRET, Clock, World, redirect_params, vnpay_config
from starlette.applications import Starlette
from starlette.routing import Mount

from payments import CallbackResult, InvalidSignature, PaymentRequest, PaymentStatus
from payments.sandbox import PAY_PATH, IpnKnobs, SandboxConfig, SandboxRefused, create_sandbox_app
from payments.vnpay import VNPayProvider
from payments.vnpay_codec import hmac_sha512, signed_query, verify_params

pytestmark = pytest.mark.anyio


def test_sandbox_refuses_production() -> None:
    with pytest.raises(SandboxRefused):
        create_sandbox_app(SandboxConfig(tmn_code="DEMO0001", hash_secret=SECRET, production=True))


class _PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h1: list[str] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "title"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.h1.append(data)
        elif self._in == "title":
            self.title += data


async def test_payment_page_is_self_contained_accessible_vietnamese(world: World) -> None:
    page = await world.open_page(world.request("HS-0001", 150_000))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    audit = _PageAudit()
    audit.feed(page.text)
    assert ("html", {"lang": "vi"}) in audit.tags
    assert len(audit.h1) == 1 and audit.title.startswith(audit.h1[0])
    ids = [a["id"] for _, a in audit.tags if a.get("id")]
    assert len(ids) == len(set(ids))
    labelled = {a["for"] for t, a in audit.tags if t == "label"}
    inputs = [a for t, a in audit.tags if t in ("input", "select") and a.get("type") != "hidden"]
    assert inputs and all(a.get("id") in labelled for a in inputs)
    assert not [a for t, a in audit.tags if t in ("script", "link", "img")]
    assert "150.000 ₫" in page.text and "HS-0001" in page.text
    radios = [a["value"] for t, a in audit.tags if t == "input" and a.get("type") == "radio"]
    assert radios == ["00", "24", "51", "11", "07"]


@pytest.mark.parametrize(
    ("outcome", "response_code", "transaction_status", "status"),
    [
        ("00", "00", "00", PaymentStatus.PAID),
        ("24", "24", "02", PaymentStatus.FAILED),
        ("51", "51", "02", PaymentStatus.FAILED),
        ("11", "11", "02", PaymentStatus.FAILED),
        ("07", "07", "07", PaymentStatus.NEEDS_REVIEW),
    ],
)
async def test_each_outcome_redirects_signed_params_and_delivers_the_ipn(
    world: World, outcome: str, response_code: str, transaction_status: str, status: PaymentStatus
) -> None:
    req = world.request(f"HS-{outcome}", 150_000)
    params = await world.pay(req, outcome)
    assert verify_params(params, SECRET)
    assert params["vnp_ResponseCode"] == response_code
    assert params["vnp_TransactionStatus"] == transaction_status
    assert params["vnp_TxnRef"] == req.txn_ref and params["vnp_Amount"] == "15000000"
    assert params["vnp_OrderInfo"] == f"Thanh toan le phi ho so {req.txn_ref}"
    assert params["vnp_TmnCode"] == "DEMO0001" and params["vnp_BankCode"] == "NCB"
    assert len(params["vnp_PayDate"]) == 14
    money_moved = outcome in ("00", "07")
    assert (params["vnp_TransactionNo"] != "0") is money_moved
    assert ("vnp_BankTranNo" in params) is money_moved
    shown = world.provider.verify_return(params)
    assert shown.status is status and shown.success is (status is PaymentStatus.PAID)

    await world.sandbox.ipn.wait_idle()
    [ipn] = world.merchant.calls
    assert ipn == params  # the same parameter set, server to server
    assert world.merchant.replies == ["00"]
    assert world.merchant.orders[req.txn_ref].applied == [status]

    snapshot = (await world.browser.get("/_sandbox/transactions")).json()
    [txn] = snapshot["transactions"]
    assert (txn["state"], txn["response_code"], txn["transaction_status"]) == (
        "completed",
        response_code,
        transaction_status,
    )
    [delivery] = snapshot["ipn_deliveries"]
    assert delivery["state"] == "done" and delivery["attempts"][0]["rsp_code"] == "00"


async def test_return_params_tampered_by_the_browser_are_rejected(world: World) -> None:
    params = await world.pay(world.request("HS-T1", 150_000), "24")
    with pytest.raises(InvalidSignature):
        world.provider.verify_return({**params, "vnp_ResponseCode": "00", "vnp_TransactionStatus": "00"})


def _url(
    world: World,
    txn_ref: str,
    mutate: Callable[[dict[str, str]], None] | None = None,
    sign: Callable[[dict[str, str]], str] | None = None,
    **request: Any,
) -> str:
    params = world.provider.pay_params(world.request(txn_ref, **request))
    if mutate:
        mutate(params)
    return f"{PAY_PATH}?{(sign or (lambda p: signed_query(p, SECRET)))(params)}"


def _quote_signer(params: dict[str, str]) -> str:
    # The common bug of §5.3: quote() gives %20 for spaces.
    data = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params.items()))
    return f"{data}&vnp_SecureHash={hmac_sha512(SECRET, data)}"


def _raw_signer(params: dict[str, str]) -> str:
    # The 2.0.x habit: hash the unencoded values.
    raw = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{urlencode(sorted(params.items()))}&vnp_SecureHash={hmac_sha512(SECRET, raw)}"


@pytest.mark.parametrize(
    ("mutate", "sign", "code", "text"),
    [
        (lambda p: p.pop("vnp_OrderType"), None, "03", "vnp_OrderType"),
        (lambda p: p.pop("vnp_ExpireDate"), None, "03", "vnp_ExpireDate"),
        (lambda p: p.update(vnp_Version="2.0.1"), None, "03", "Phiên bản"),
        (lambda p: p.update(vnp_Command="querydr"), None, "03", "pay"),
        (lambda p: p.update(vnp_CurrCode="USD"), None, "03", "VND"),
        (lambda p: p.update(vnp_Amount="499900"), None, "03", "5,000"),
        (lambda p: p.update(vnp_Amount="100000000000"), None, "03", "1 tỷ"),
        (lambda p: p.update(vnp_Amount="150000.00"), None, "03", "Số tiền"),
        (lambda p: p.update(vnp_Amount="-15000000"), None, "03", "Số tiền"),
        (lambda p: p.update(vnp_CreateDate="2025011510300"), None, "03", "vnp_CreateDate"),
        (lambda p: p.update(vnp_ExpireDate="2025-01-15 10:45"), None, "03", "vnp_ExpireDate"),
        (lambda p: p.update(vnp_TmnCode="OTHER001"), None, "02", "TmnCode"),
        (None, _quote_signer, "97", "Sai chữ ký"),
        (None, _raw_signer, "97", "Sai chữ ký"),
        (None, lambda p: signed_query(p, "wrong-secret"), "97", "Sai chữ ký"),
        (
            None,
            lambda p: signed_query(p, SECRET).replace("vnp_Amount=15000000", "vnp_Amount=1500000"),
            "97",
            "Sai chữ ký",
        ),
        (None, lambda p: signed_query(p, SECRET) + "&vnp_Amount=1", "03", "lặp"),
    ],
)
async def test_invalid_pay_requests_get_an_error_page(
    world: World,
    mutate: Callable[[dict[str, str]], None] | None,
    sign: Callable[[dict[str, str]], str] | None,
    code: str,
    text: str,
) -> None:
    response = await world.browser.get(_url(world, "HS-BAD", mutate, sign, amount_vnd=150_000))
    assert response.status_code == 400
    assert f"Mã lỗi: {code}" in response.text and text in response.text
    assert (await world.browser.get("/_sandbox/transactions")).json()["transactions"] == []


@pytest.mark.parametrize("amount_vnd", [5_000, 999_999_999])
async def test_amount_limits_are_inclusive(world: World, amount_vnd: int) -> None:
    params = await world.pay(world.request("HS-LIM", amount_vnd))
    assert params["vnp_Amount"] == str(amount_vnd * 100)


async def test_expired_request_concludes_with_outcome_11(world: World) -> None:
    twenty_minutes_ago = world.clock() - timedelta(minutes=20)
    req = world.request("HS-EXP", 150_000, created_at=twenty_minutes_ago, expire_minutes=15)
    response = await world.open_page(req)
    assert response.status_code == 302
    params = dict(httpx.URL(response.headers["location"]).params)
    assert (params["vnp_ResponseCode"], params["vnp_TransactionStatus"]) == ("11", "02")
    assert verify_params(params, SECRET)
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.orders["HS-EXP"].status is PaymentStatus.FAILED


async def test_txn_ref_is_unique_per_day_but_a_reload_shows_the_page_again(world: World) -> None:
    req = world.request("HS-DUP", 150_000)
    first = await world.open_page(req)
    assert (await world.open_page(req)).status_code == 200  # same signed URL, still awaiting
    other = world.request("HS-DUP", 150_000, created_at=req.created_at + timedelta(seconds=1))
    reused = await world.open_page(other)
    assert reused.status_code == 400 and "Mã lỗi: 01" in reused.text
    token = re.search(r'name="token" value="([^"]+)"', first.text)
    assert token is not None
    done = await world.browser.post(PAY_PATH, data={"token": token[1], "outcome": "00"})
    assert done.status_code == 302
    assert (await world.open_page(req)).status_code == 400  # completed: not again today
    again = await world.browser.post(PAY_PATH, data={"token": token[1], "outcome": "24"})
    assert again.status_code == 400 and "đã được xử lý" in again.text


async def test_unknown_token_or_outcome_is_refused(world: World) -> None:
    assert (await world.browser.post(PAY_PATH, data={"token": "nope", "outcome": "00"})).status_code == 400
    page = await world.open_page(world.request("HS-OUT", 150_000))
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    bad = await world.browser.post(PAY_PATH, data={"token": token[1], "outcome": "42"})
    assert bad.status_code == 400
    assert (await world.browser.post(PAY_PATH, data={"token": token[1], "outcome": "00"})).status_code == 302


async def test_duplicate_concurrent_ipns_apply_once(world: World) -> None:
    req = world.request("HS-DUPIPN", 150_000)
    await world.pay(req, "00", ipn_duplicates="3")
    await world.sandbox.ipn.wait_idle()
    assert len(world.merchant.calls) == 3
    assert sorted(world.merchant.replies) == ["00", "02", "02"]
    assert world.merchant.orders[req.txn_ref].applied == [PaymentStatus.PAID]


async def test_ipn_before_redirect_has_arrived_when_the_browser_is_redirected(world: World) -> None:
    req = world.request("HS-BEFORE", 150_000)
    await world.pay(req, "00", ipn_order="before")
    assert world.merchant.replies == ["00"]  # no waiting needed
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PAID


async def test_delayed_ipn_arrives_after_the_redirect(world: World) -> None:
    req = world.request("HS-DELAY", 150_000)
    await world.pay(req, "00", ipn_delay_s="0.2")
    assert world.merchant.calls == []
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PENDING
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PAID


async def test_dropped_ipn_never_arrives(world: World) -> None:
    req = world.request("HS-DROP", 150_000)
    await world.pay(req, "00", ipn_drop="1")
    await world.sandbox.ipn.wait_idle()
    assert world.sandbox.ipn.retry_now() == 0
    assert world.merchant.calls == []
    [delivery] = (await world.browser.get("/_sandbox/transactions")).json()["ipn_deliveries"]
    assert delivery["state"] == "dropped" and delivery["attempts"] == []


@pytest.mark.parametrize("field", ["vnp_ResponseCode", "vnp_Amount", "vnp_TxnRef", "vnp_SecureHash"])
async def test_tampered_ipn_gets_97_changes_nothing_and_is_retried(world: World, field: str) -> None:
    req = world.request("HS-TAMPER", 150_000)
    params = await world.pay(req, "24", ipn_tamper=field)
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.calls[0][field] != params[field]
    assert world.merchant.replies == ["97"]
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PENDING
    assert world.sandbox.ipn.retry_now() == 1
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.replies == ["97", "97"]


async def test_changed_amount_is_signed_but_answered_04(world: World) -> None:
    req = world.request("HS-AMT", 150_000)
    await world.pay(req, "00", ipn_amount_vnd="15000")
    await world.sandbox.ipn.wait_idle()
    [call] = world.merchant.calls
    assert call["vnp_Amount"] == "1500000" and verify_params(call, SECRET)
    assert world.merchant.replies == ["04"]
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PENDING


@pytest.mark.parametrize("sandbox_overrides", [{"ipn": IpnKnobs(duplicates=2, order="before")}])
async def test_config_knobs_apply_when_the_page_form_is_not_used(world: World) -> None:
    await world.pay(world.request("HS-CFG", 150_000))
    assert sorted(world.merchant.replies) == ["00", "02"]


@pytest.mark.parametrize("sandbox_overrides", [{"ipn": IpnKnobs(drop=True)}])
async def test_page_form_overrides_config_knobs(world: World) -> None:
    # A browser submitting the page sends ipn_form and leaves the unchecked box out.
    await world.pay(world.request("HS-FORM", 150_000), "00", ipn_form="1")
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.replies == ["00"]


async def test_retries_until_00_then_stop(world: World) -> None:
    req = world.request("HS-RETRY", 150_000)
    world.merchant.forced = ["99", "html", "01"]
    await world.pay(req, "00")
    await world.sandbox.ipn.wait_idle()
    for _ in range(3):
        assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PENDING
        woken = await world.browser.post("/_sandbox/ipn/retry?wait=1")
        assert woken.json() == {"woken": 1}
    assert world.merchant.replies == ["99", "html", "01", "00"]
    assert world.merchant.orders[req.txn_ref].status is PaymentStatus.PAID
    assert world.sandbox.ipn.retry_now() == 0
    [delivery] = (await world.browser.get("/_sandbox/transactions")).json()["ipn_deliveries"]
    assert delivery["state"] == "done"
    assert [a["http_status"] for a in delivery["attempts"]] == [200, 500, 200, 200]
    assert delivery["attempts"][1]["error"] == "reply is not JSON"


async def test_02_also_ends_the_retries(world: World) -> None:
    world.merchant.forced = ["02"]
    await world.pay(world.request("HS-02", 150_000))
    await world.sandbox.ipn.wait_idle()
    assert world.sandbox.ipn.retry_now() == 0
    assert world.merchant.replies == ["02"]


@pytest.mark.parametrize("sandbox_overrides", [{"ipn_max_attempts": 3}])
async def test_gives_up_after_the_maximum_attempts(world: World) -> None:
    world.merchant.forced = ["97"] * 10
    await world.pay(world.request("HS-MAX", 150_000))
    await world.sandbox.ipn.wait_idle()
    while world.sandbox.ipn.retry_now():
        await world.sandbox.ipn.wait_idle()
    assert world.merchant.replies == ["97", "97", "97"]
    [delivery] = world.sandbox.state.deliveries
    assert delivery.state == "gave_up"


def test_default_retry_policy_is_vnpays() -> None:
    config = SandboxConfig(tmn_code="DEMO0001", hash_secret=SECRET)
    assert (config.ipn_max_attempts, config.ipn_retry_interval_s) == (10, 300.0)


@pytest.mark.parametrize("sandbox_overrides", [{"ipn_retry_interval_s": 0.05}])
async def test_retries_happen_on_their_own_after_the_interval(world: World) -> None:
    world.merchant.forced = ["99", "99"]
    req = world.request("HS-TIMED", 150_000)
    await world.pay(req)
    with anyio.fail_after(3):
        while world.merchant.orders[req.txn_ref].status is PaymentStatus.PENDING:
            await anyio.sleep(0.01)
    assert world.merchant.replies == ["99", "99", "00"]


@pytest.mark.parametrize("sandbox_overrides", [{"ipn_timeout_s": 0.05}])
async def test_a_slow_merchant_counts_as_a_timeout_and_is_retried(world: World) -> None:
    world.merchant.forced = ["slow"]
    await world.pay(world.request("HS-SLOW", 150_000))
    await world.sandbox.ipn.wait_idle()
    [delivery] = world.sandbox.state.deliveries
    assert delivery.state == "waiting_retry" and delivery.attempts[0].error == "timeout"
    world.sandbox.ipn.retry_now()
    await world.sandbox.ipn.wait_idle()
    assert delivery.state == "done"


@pytest.mark.parametrize("sandbox_overrides", [{"ipn_client": None, "ipn_url": "http://127.0.0.1:9/ipn"}])
async def test_unreachable_ipn_url_is_recorded_and_retried(world: World) -> None:
    await world.pay(world.request("HS-DOWN", 150_000))
    await world.sandbox.ipn.wait_idle()
    [delivery] = world.sandbox.state.deliveries
    assert delivery.state == "waiting_retry"
    assert delivery.attempts[0].http_status is None and delivery.attempts[0].error


async def test_shutdown_cancels_pending_retries(world: World) -> None:
    world.merchant.forced = ["99"]
    await world.pay(world.request("HS-STOP", 150_000))
    await world.sandbox.ipn.wait_idle()
    await world.sandbox.ipn.aclose()
    assert world.sandbox.state.deliveries[0].state == "cancelled"


@pytest.mark.parametrize("sandbox_overrides", [{"extra_callback_params": {"vnp_PromotionCode": "KM 10%"}}])
async def test_extra_signed_fields_reach_the_merchant_and_verify(world: World) -> None:
    req = world.request("HS-EXTRA", 150_000)
    params = await world.pay(req)
    assert params["vnp_PromotionCode"] == "KM 10%"
    result: CallbackResult = world.provider.verify_return(params)
    assert result.raw["vnp_PromotionCode"] == "KM 10%"
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.replies == ["00"]


async def test_paying_after_the_deadline_ends_as_expired(world: World) -> None:
    req = world.request("HS-LATE", 150_000, expire_minutes=15)
    page = await world.open_page(req)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    world.clock.advance(timedelta(minutes=16))  # the citizen walked away
    response = await world.browser.post(PAY_PATH, data={"token": token[1], "outcome": "00"})
    params = dict(httpx.URL(response.headers["location"]).params)
    assert (params["vnp_ResponseCode"], params["vnp_TransactionStatus"]) == ("11", "02")
    await world.sandbox.ipn.wait_idle()
    assert world.merchant.orders["HS-LATE"].status is PaymentStatus.FAILED


async def test_sandbox_works_mounted_under_a_prefix() -> None:

    clock = Clock()
    sandbox = create_sandbox_app(SandboxConfig(tmn_code="DEMO0001", hash_secret=SECRET, clock=clock))
    host = Starlette(routes=[Mount("/dev/vnpay", app=sandbox)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url="http://portal.test") as c:
        provider = VNPayProvider(vnpay_config(pay_url=f"http://portal.test/dev/vnpay{PAY_PATH}"), clock=clock)
        start = provider.create_payment(
            PaymentRequest(
                txn_ref="HS-MOUNT",
                amount_vnd=20_000,
                order_info="x",
                client_ip="127.0.0.1",
                created_at=clock(),
            )
        )
        assert start.redirect_url is not None
        page = await c.get(start.redirect_url)
        assert f'action="/dev/vnpay{PAY_PATH}"' in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token is not None
        done = await c.post(f"/dev/vnpay{PAY_PATH}", data={"token": token[1], "outcome": "00"})
        assert provider.verify_return(redirect_params(done, RETURN_URL)).success
