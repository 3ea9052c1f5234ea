"""Builders for payment tests: the world of an in-process sandbox, a VNPay provider and a
tiny fake merchant that answers IPNs with payments.decide_ipn like the portal will."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from payments import (
    VN_TZ,
    CallbackResult,
    OrderView,
    PaymentError,
    PaymentRequest,
    PaymentStatus,
    decide_ipn,
    ipn_response,
)
from payments.sandbox import PAY_PATH, Sandbox
from payments.vnpay import VNPayConfig, VNPayProvider

TMN = "DEMO0001"
SECRET = "TESTSECRETKEY0123456789ABCDEFGHI"  # noqa: S105 - the reference's made-up test key
SANDBOX_BASE = "http://sandbox.test"
MERCHANT_BASE = "http://merchant.test"
RETURN_URL = f"{MERCHANT_BASE}/payment/vnpay/return"


START = datetime(2026, 12, 2, 10, 0, tzinfo=VN_TZ)  # a Wednesday morning in Vietnam
PAID_AT = datetime(2026, 12, 2, 9, 30, tzinfo=VN_TZ)  # a transaction date for requests to fake gateways


class Clock:
    """'Now' for the sandbox, the provider and the requests a test builds: moved by the test only."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Order:
    amount_vnd: int
    status: PaymentStatus = PaymentStatus.PENDING
    applied: list[PaymentStatus] = field(default_factory=list)


@dataclass
class FakeMerchant:
    """The portal's IPN endpoint in miniature: verify, decide, apply under a lock."""

    provider: VNPayProvider
    orders: dict[str, Order] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)  # answers to give first: a code, "html" or "slow"
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def ipn(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.calls.append(params)
        if self.forced:
            forced = self.forced.pop(0)
            self.replies.append(forced)
            if forced == "html":
                return HTMLResponse("<h1>Internal error</h1>", status_code=500)
            if forced == "slow":
                await asyncio.sleep(1)
                return JSONResponse(ipn_response("00"))
            return JSONResponse(ipn_response(forced))
        verified: CallbackResult | PaymentError
        try:
            verified = self.provider.parse_notification(params)
        except PaymentError as exc:
            verified = exc
        async with self.lock:  # the portal's SELECT ... FOR UPDATE
            order = self.orders.get(verified.txn_ref) if isinstance(verified, CallbackResult) else None
            view = None
            if order is not None:
                view = OrderView(order.amount_vnd, is_final=order.status is not PaymentStatus.PENDING)
            decision = decide_ipn(verified, view)
            await asyncio.sleep(0)  # let concurrent duplicates interleave
            if decision.apply:
                assert order is not None and decision.status is not None
                order.status = decision.status
                order.applied.append(decision.status)
        self.replies.append(decision.rsp_code)
        return JSONResponse(decision.body)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/ipn", self.ipn, methods=["GET"])])


@dataclass
class World:
    sandbox_app: Starlette
    sandbox: Sandbox
    provider: VNPayProvider
    merchant: FakeMerchant
    browser: httpx.AsyncClient  # the citizen's browser, talking to the sandbox
    api: httpx.AsyncClient  # the merchant server's client for querydr/refund
    clock: Clock  # the sandbox's and the provider's

    def request(self, txn_ref: str, amount_vnd: int = 150_000, **kw: Any) -> PaymentRequest:
        self.merchant.orders.setdefault(txn_ref, Order(amount_vnd))
        values: dict[str, Any] = {
            "order_info": f"Thanh toán lệ phí hồ sơ {txn_ref}",
            "client_ip": "203.0.113.10",
            "created_at": self.clock(),
        }
        values.update(kw)
        return PaymentRequest(txn_ref=txn_ref, amount_vnd=amount_vnd, **values)

    async def open_page(self, req: PaymentRequest) -> httpx.Response:
        start = self.provider.create_payment(req)
        assert start.redirect_url is not None
        return await self.browser.get(start.redirect_url)

    async def pay(self, req: PaymentRequest, outcome: str = "00", **form: str) -> dict[str, str]:
        """Open the page, choose `outcome`, return the params the browser is redirected with."""
        page = await self.open_page(req)
        assert page.status_code == 200, page.text
        match = re.search(r'name="token" value="([^"]+)"', page.text)
        assert match is not None
        response = await self.browser.post(PAY_PATH, data={"token": match[1], "outcome": outcome, **form})
        assert response.status_code == 302, response.text
        return redirect_params(response, RETURN_URL)


def redirect_params(response: httpx.Response, expected_base: str) -> dict[str, str]:
    location = response.headers["location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == expected_base
    return dict(parse_qsl(parts.query, keep_blank_values=True))


def vnpay_config(**overrides: Any) -> VNPayConfig:
    values: dict[str, Any] = {
        "tmn_code": TMN,
        "hash_secret": SECRET,
        "return_url": RETURN_URL,
        "pay_url": f"{SANDBOX_BASE}{PAY_PATH}",
        "api_url": f"{SANDBOX_BASE}/merchant_webapi/api/transaction",
        "server_ip": "203.0.113.5",
    }
    values.update(overrides)
    return VNPayConfig(**values)
