"""A faithful local VNPay 2.1.0 gateway for development and end-to-end tests (§9).

    app = create_sandbox_app(SandboxConfig(tmn_code="DEMO0001", hash_secret="...",
                                           ipn_url="http://localhost:8000/payments/vnpay/ipn"))

Routes: GET/POST /paymentv2/vpcpay.html (pay page), POST /merchant_webapi/api/transaction
(querydr, refund), GET /_sandbox/transactions, POST /_sandbox/ipn/retry,
POST /_sandbox/refunds/settle.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, cast
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from payments.base import VN_TZ
from payments.sandbox.config import IpnKnobs, SandboxConfig, SandboxRefused
from payments.sandbox.ipn import IpnDispatcher
from payments.sandbox.merchant_api import MerchantApi
from payments.sandbox.pages import OUTCOME_STATUS, error_page, payment_page
from payments.sandbox.state import IpnDelivery, SandboxState, SandboxTransaction
from payments.vnpay_codec import (
    SECURE_HASH,
    VERSION,
    format_date,
    parse_date,
    sign_params,
    verify_params,
)

PAY_PATH = "/paymentv2/vpcpay.html"
API_PATH = "/merchant_webapi/api/transaction"
MIN_AMOUNT_X100 = 500_000  # 5,000 VND
MAX_AMOUNT_X100 = 99_999_999_900  # under 1 billion VND
_REQUIRED = (
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_Amount",
    "vnp_CreateDate",
    "vnp_CurrCode",
    "vnp_IpAddr",
    "vnp_Locale",
    "vnp_OrderInfo",
    "vnp_OrderType",
    "vnp_ReturnUrl",
    "vnp_TxnRef",
    SECURE_HASH,
)
_GENERIC_BANK_CODES = {"VNPAYQR", "VNBANK", "INTCARD"}


class PayRequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Completion:
    redirect_url: str
    deliveries: list[IpnDelivery]
    knobs: IpnKnobs


class Sandbox:
    """The gateway's behaviour; the Starlette routes below only translate HTTP."""

    def __init__(self, config: SandboxConfig) -> None:
        if config.production:
            raise SandboxRefused("the VNPay sandbox must not run in production")
        self.config = config
        self.state = SandboxState(config.first_transaction_no)
        self.ipn = IpnDispatcher(config, self.state)
        self.api = MerchantApi(config, self.state)

    # -- pay ------------------------------------------------------------------------------

    def _validate(self, params: Mapping[str, str]) -> None:
        required = (*_REQUIRED, "vnp_ExpireDate") if self.config.require_expire_date else _REQUIRED
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise PayRequestError("03", f"Thiếu tham số bắt buộc: {', '.join(missing)}")
        if params["vnp_TmnCode"] != self.config.tmn_code:
            raise PayRequestError("02", "Website này chưa được phê duyệt (sai vnp_TmnCode)")
        if not verify_params(params, self.config.hash_secret):
            raise PayRequestError("97", "Sai chữ ký")
        if params["vnp_Version"] != VERSION:
            raise PayRequestError("03", f"Phiên bản không được hỗ trợ: {params['vnp_Version']}")
        if params["vnp_Command"] != "pay":
            raise PayRequestError("03", "vnp_Command phải là pay")
        if params["vnp_CurrCode"] != "VND":
            raise PayRequestError("03", "Chỉ hỗ trợ đơn vị tiền tệ VND")
        amount = params["vnp_Amount"]
        if not amount.isdigit() or not MIN_AMOUNT_X100 <= int(amount) <= MAX_AMOUNT_X100:
            raise PayRequestError(
                "03", "Số tiền giao dịch không hợp lệ. Số tiền hợp lệ từ 5,000 đến dưới 1 tỷ đồng"
            )
        for name in ("vnp_CreateDate", "vnp_ExpireDate"):
            if name in params:
                try:
                    parse_date(params[name])
                except ValueError:
                    raise PayRequestError("03", f"{name} phải có dạng yyyyMMddHHmmss") from None

    def open_payment(self, params: Mapping[str, str]) -> tuple[SandboxTransaction, bool]:
        """Record a checked pay request. Returns (transaction, expired)."""
        self._validate(params)
        now = self.config.clock()
        day = now.astimezone(VN_TZ).date()
        with self.state.lock:
            existing = self.state.same_day(params["vnp_TxnRef"], day)
            if existing is not None:
                if existing.state == "awaiting" and existing.request_hash == params[SECURE_HASH].lower():
                    return existing, self._expired(existing, now)  # the same browser reloading
                raise PayRequestError("01", "Giao dịch đã tồn tại (vnp_TxnRef trùng trong ngày)")
            txn = SandboxTransaction(
                token=self.state.new_token(),
                txn_ref=params["vnp_TxnRef"],
                tmn_code=params["vnp_TmnCode"],
                amount_x100=int(params["vnp_Amount"]),
                order_info=params["vnp_OrderInfo"],
                return_url=params["vnp_ReturnUrl"],
                create_date=params["vnp_CreateDate"],
                expire_date=params.get("vnp_ExpireDate", ""),
                received_on=day,
                request_hash=params[SECURE_HASH].lower(),
                request_bank_code=params.get("vnp_BankCode", ""),
            )
            self.state.add(txn)
        return txn, self._expired(txn, now)

    def _expired(self, txn: SandboxTransaction, now: datetime) -> bool:
        return bool(txn.expire_date) and parse_date(txn.expire_date) < now

    def transaction(self, token: str) -> SandboxTransaction | None:
        with self.state.lock:
            return self.state.transactions.get(token)

    def complete(self, txn: SandboxTransaction, outcome: str, knobs: IpnKnobs) -> Completion:
        """Conclude the payment: signed Return parameters plus the IPN deliveries to make."""
        now = self.config.clock()
        if self._expired(txn, now):
            outcome = "11"
        if outcome not in OUTCOME_STATUS:
            raise PayRequestError("03", f"Kết quả không hợp lệ: {outcome}")
        with self.state.lock:
            if txn.state != "awaiting":
                raise PayRequestError("02", "Giao dịch đã được xử lý")
            money_moved = outcome in ("00", "07")
            txn.state = "completed"
            txn.response_code = outcome
            txn.transaction_status = OUTCOME_STATUS[outcome]
            txn.transaction_no = self.state.next_transaction_no() if money_moved else "0"
            txn.bank_tran_no = f"VNP{txn.transaction_no}" if money_moved else ""
            specific = txn.request_bank_code not in _GENERIC_BANK_CODES
            txn.bank_code = (
                txn.request_bank_code if txn.request_bank_code and specific else (self.config.bank_code)
            )
            txn.pay_date = format_date(now)
            params = self._signed(self._callback_fields(txn))
            txn.callback_params = params
            deliveries = self._deliveries(txn, params, knobs)
        sep = "&" if "?" in txn.return_url else "?"
        return Completion(f"{txn.return_url}{sep}{urlencode(params)}", deliveries, knobs)

    def _callback_fields(self, txn: SandboxTransaction) -> dict[str, str]:
        fields = {
            "vnp_Amount": str(txn.amount_x100),
            "vnp_BankCode": txn.bank_code,
            "vnp_BankTranNo": txn.bank_tran_no,
            "vnp_CardType": self.config.card_type,
            "vnp_OrderInfo": txn.order_info,
            "vnp_PayDate": txn.pay_date,
            "vnp_ResponseCode": txn.response_code,
            "vnp_TmnCode": txn.tmn_code,
            "vnp_TransactionNo": txn.transaction_no,
            "vnp_TransactionStatus": txn.transaction_status,
            "vnp_TxnRef": txn.txn_ref,
            **self.config.extra_callback_params,
        }
        return {name: value for name, value in sorted(fields.items()) if value != ""}

    def _signed(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {**fields, SECURE_HASH: sign_params(fields, self.config.hash_secret)}

    def _deliveries(
        self, txn: SandboxTransaction, params: dict[str, str], knobs: IpnKnobs
    ) -> list[IpnDelivery]:
        if not self.config.ipn_url:
            return []
        sent = dict(params)
        if knobs.amount_vnd is not None:
            fields = {k: v for k, v in sent.items() if k != SECURE_HASH}
            fields["vnp_Amount"] = str(knobs.amount_vnd * 100)
            sent = self._signed(fields)
        if knobs.tamper:
            sent[knobs.tamper] = _tampered(sent.get(knobs.tamper, ""))
        deliveries = [self.state.new_delivery(txn.txn_ref, dict(sent)) for _ in range(knobs.duplicates)]
        if knobs.drop:
            for delivery in deliveries:
                delivery.state = "dropped"
            return []
        return deliveries

    async def deliver_before(self, completion: Completion) -> None:
        """First attempts made (concurrently) before the browser is redirected."""

        async def first(delivery: IpnDelivery) -> None:
            if completion.knobs.delay_s:
                await asyncio.sleep(completion.knobs.delay_s)
            if not await self.ipn.attempt(delivery) and delivery.state == "waiting_retry":
                self.ipn.spawn(delivery, skip_first=True)

        await asyncio.gather(*(first(d) for d in completion.deliveries))

    async def deliver_after(self, completion: Completion) -> None:
        for delivery in completion.deliveries:
            self.ipn.spawn(delivery, delay_s=completion.knobs.delay_s)

    def knobs_from_form(self, form: FormData) -> IpnKnobs:
        default = self.config.ipn
        if not self.config.allow_ipn_overrides:
            return default

        def text(name: str) -> str | None:
            value = form.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        from_page = text("ipn_form") is not None  # the page always sends its checkboxes' state
        try:
            duplicates, delay, amount = text("ipn_duplicates"), text("ipn_delay_s"), text("ipn_amount_vnd")
            drop_value = text("ipn_drop")
            return replace(
                default,
                duplicates=int(duplicates) if duplicates else default.duplicates,
                order=cast(Literal["after", "before"], text("ipn_order") or default.order),
                delay_s=float(delay) if delay else default.delay_s,
                drop=drop_value == "1" if (from_page or drop_value) else default.drop,
                tamper=text("ipn_tamper") or (None if from_page else default.tamper),
                amount_vnd=int(amount) if amount else (None if from_page else default.amount_vnd),
            )
        except ValueError as exc:
            raise PayRequestError("03", f"Tùy chọn IPN không hợp lệ: {exc}") from None


def _tampered(value: str) -> str:
    if value.isdigit():
        return str((int(value) + 1) % 10 ** len(value)).zfill(len(value))
    return value + "X"


def sandbox_of(app: Starlette) -> Sandbox:
    sandbox = getattr(app.state, "sandbox", None)
    if not isinstance(sandbox, Sandbox):
        raise TypeError("not an app built by create_sandbox_app")
    return sandbox


# -- HTTP ----------------------------------------------------------------------------------


def _error(exc: PayRequestError) -> HTMLResponse:
    return HTMLResponse(error_page(exc.code, exc.message), status_code=400)


async def pay_page(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    if request.method == "POST":
        return await _pay_submit(request, sandbox)
    query = request.query_params
    try:
        if len(query.multi_items()) != len(query):
            raise PayRequestError("03", "Tham số bị lặp lại")
        txn, expired = sandbox.open_payment(dict(query))
        if expired:
            return await _conclude(sandbox, txn, "11", sandbox.config.ipn)
    except PayRequestError as exc:
        return _error(exc)
    html = payment_page(txn, request.url.path, sandbox.config.ipn, sandbox.config.allow_ipn_overrides)
    return HTMLResponse(html)


async def _pay_submit(request: Request, sandbox: Sandbox) -> Response:
    async with request.form() as form:
        token, outcome = form.get("token"), form.get("outcome")
        txn = sandbox.transaction(token) if isinstance(token, str) else None
        try:
            if txn is None:
                raise PayRequestError("91", "Không tìm thấy giao dịch")
            knobs = sandbox.knobs_from_form(form)
            return await _conclude(sandbox, txn, outcome if isinstance(outcome, str) else "", knobs)
        except PayRequestError as exc:
            return _error(exc)


async def _conclude(sandbox: Sandbox, txn: SandboxTransaction, outcome: str, knobs: IpnKnobs) -> Response:
    completion = sandbox.complete(txn, outcome, knobs)
    if knobs.order == "before":
        await sandbox.deliver_before(completion)
        return RedirectResponse(completion.redirect_url, status_code=302)
    # Spawned only once the redirect has been sent, like VNPay's independent server call.
    task = BackgroundTask(sandbox.deliver_after, completion)
    return RedirectResponse(completion.redirect_url, status_code=302, background=task)


async def merchant_api(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"vnp_ResponseCode": "03", "vnp_Message": "Du lieu khong dung dinh dang"})
    return JSONResponse(sandbox.api.handle(body))


async def inspect_transactions(request: Request) -> Response:
    return JSONResponse(sandbox_of(request.app).state.snapshot())


async def retry_ipn(request: Request) -> Response:
    sandbox = sandbox_of(request.app)
    woken = sandbox.ipn.retry_now()
    if request.query_params.get("wait"):
        await sandbox.ipn.wait_idle()
    return JSONResponse({"woken": woken})


async def settle_refunds(request: Request) -> Response:
    return JSONResponse({"settled": sandbox_of(request.app).api.settle_refunds()})


def create_sandbox_app(config: SandboxConfig) -> Starlette:
    """Build the sandbox; raises SandboxRefused when `config.production` is true."""
    sandbox = Sandbox(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.ipn.aclose()

    app = Starlette(
        routes=[
            Route(PAY_PATH, pay_page, methods=["GET", "POST"]),
            Route(API_PATH, merchant_api, methods=["POST"]),
            Route("/_sandbox/transactions", inspect_transactions, methods=["GET"]),
            Route("/_sandbox/ipn/retry", retry_ipn, methods=["POST"]),
            Route("/_sandbox/refunds/settle", settle_refunds, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app
