"""VNPay 2.1.0 provider: signed pay URL, Return/IPN verification, querydr and refund."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from payments.base import (
    VN_TZ,
    ApiOutcome,
    CallbackResult,
    InvalidSignature,
    MalformedCallback,
    PaymentRequest,
    PaymentStart,
    QueryResult,
    RefundRequest,
    RefundResult,
    UnknownMerchant,
    require_aware,
    require_txn_ref,
)
from payments.text import to_ascii
from payments.vnpay_codec import (
    QUERYDR_REQUEST_FIELDS,
    QUERYDR_RESPONSE_FIELDS,
    REFUND_REQUEST_FIELDS,
    REFUND_RESPONSE_FIELDS,
    SECURE_HASH,
    VERSION,
    format_date,
    parse_date,
    payment_status,
    pipe_hash,
    query_status,
    signed_query,
    verify_params,
    verify_pipe_hash,
)

SANDBOX_PAY_URL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
SANDBOX_API_URL = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"

MAX_AMOUNT_X100 = 999_999_999_999  # vnp_Amount is Numeric[1,12]
_TMN_CODE_RE = re.compile(r"^[A-Za-z0-9]{8}$")
_BANK_CODE_RE = re.compile(r"^[A-Za-z0-9]{3,20}$")


@dataclass(frozen=True, slots=True)
class VNPayConfig:
    tmn_code: str
    hash_secret: str = field(repr=False)
    return_url: str
    pay_url: str = SANDBOX_PAY_URL
    api_url: str = SANDBOX_API_URL
    order_type: str = "other"
    server_ip: str = "127.0.0.1"  # vnp_IpAddr of querydr/refund: the calling server
    timeout_s: float = 15.0
    connect_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not _TMN_CODE_RE.fullmatch(self.tmn_code):
            raise ValueError("tmn_code must be 8 letters or digits")
        if not self.hash_secret:
            raise ValueError("hash_secret is required")
        if not 10 <= len(self.return_url) <= 255:
            raise ValueError("return_url must be 10..255 characters")


def new_request_id() -> str:
    """vnp_RequestId: Alphanumeric[1,32], fresh for every call (never once per process)."""
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(VN_TZ)


def _amount_x100(amount_vnd: int) -> str:
    value = amount_vnd * 100
    if value > MAX_AMOUNT_X100:
        raise ValueError(f"amount {amount_vnd} VND does not fit vnp_Amount")
    return str(value)


def _vnd_from_x100(raw: str, name: str = "vnp_Amount") -> int:
    if not raw.isdigit() or int(raw) % 100:
        raise MalformedCallback(f"{name} must be a whole number of dong x 100, got {raw!r}")
    return int(raw) // 100


def _text_body(data: Any) -> dict[str, str] | None:
    if not isinstance(data, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


class VNPayProvider:
    name = "vnpay"
    label = "VNPay"  # what people read: receipts, reports, case history

    def __init__(
        self,
        config: VNPayConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _now,
        request_id_factory: Callable[[], str] = new_request_id,
    ) -> None:
        self.config = config
        self._client = http_client
        self._clock = clock
        self._request_id = request_id_factory

    # -- pay ---------------------------------------------------------------------------

    def pay_params(self, req: PaymentRequest) -> dict[str, str]:
        """The unsigned vnp_* parameters of the pay request (no empty values)."""
        order_info = to_ascii(req.order_info, 255)
        if not order_info:
            raise ValueError("order_info is empty once folded to ASCII")
        ipaddress.ip_address(req.client_ip)  # ValueError on garbage
        created = req.created_at.astimezone(VN_TZ).replace(microsecond=0)
        params = {
            "vnp_Version": VERSION,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_Amount": _amount_x100(req.amount_vnd),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": req.txn_ref,
            "vnp_OrderInfo": order_info,
            "vnp_OrderType": self.config.order_type,
            "vnp_Locale": req.locale,
            "vnp_ReturnUrl": req.return_url or self.config.return_url,
            "vnp_IpAddr": req.client_ip,
            "vnp_CreateDate": format_date(created),
            "vnp_ExpireDate": format_date(created + timedelta(minutes=req.expire_minutes)),
        }
        if req.bank_code:
            if not _BANK_CODE_RE.fullmatch(req.bank_code):
                raise ValueError("bank_code must be 3..20 letters or digits")
            params["vnp_BankCode"] = req.bank_code
        return params

    def create_payment(self, req: PaymentRequest) -> PaymentStart:
        params = self.pay_params(req)
        created = parse_date(params["vnp_CreateDate"])
        return PaymentStart(
            provider=self.name,
            txn_ref=req.txn_ref,
            amount_vnd=req.amount_vnd,
            transaction_date=created,
            expires_at=parse_date(params["vnp_ExpireDate"]),
            redirect_url=f"{self.config.pay_url}?{signed_query(params, self.config.hash_secret)}",
        )

    # -- Return URL and IPN --------------------------------------------------------------

    def verify_return(self, params: Mapping[str, str]) -> CallbackResult:
        """For the result page only. The order is updated from the IPN, never from here."""
        return self._parse_callback(params)

    def parse_notification(self, params: Mapping[str, str]) -> CallbackResult:
        return self._parse_callback(params)

    def _parse_callback(self, params: Mapping[str, str]) -> CallbackResult:
        if not verify_params(params, self.config.hash_secret):
            raise InvalidSignature("vnp_SecureHash does not verify")
        if params.get("vnp_TmnCode") != self.config.tmn_code:
            raise UnknownMerchant(f"vnp_TmnCode {params.get('vnp_TmnCode')!r} is not ours")
        missing = [
            name
            for name in ("vnp_TxnRef", "vnp_Amount", "vnp_ResponseCode", "vnp_TransactionStatus")
            if not params.get(name)
        ]
        if missing:
            raise MalformedCallback(f"missing {', '.join(missing)}")
        try:
            pay_date = parse_date(params["vnp_PayDate"]) if params.get("vnp_PayDate") else None
        except ValueError as exc:
            raise MalformedCallback(str(exc)) from exc
        response_code = params["vnp_ResponseCode"]
        transaction_status = params["vnp_TransactionStatus"]
        return CallbackResult(
            provider=self.name,
            txn_ref=params["vnp_TxnRef"],
            amount_vnd=_vnd_from_x100(params["vnp_Amount"]),
            status=payment_status(response_code, transaction_status),
            response_code=response_code,
            transaction_status=transaction_status,
            provider_txn_no=params.get("vnp_TransactionNo") or None,
            bank_code=params.get("vnp_BankCode") or None,
            pay_date=pay_date,
            card_type=params.get("vnp_CardType") or None,
            bank_tran_no=params.get("vnp_BankTranNo") or None,
            raw=dict(params),
        )

    # -- merchant API: querydr and refund --------------------------------------------------

    def querydr_body(
        self,
        txn_ref: str,
        transaction_date: datetime,
        *,
        provider_txn_no: str | None = None,
        order_info: str | None = None,
    ) -> dict[str, str]:
        require_txn_ref(txn_ref)
        require_aware(transaction_date, "transaction_date")
        body = {
            "vnp_RequestId": self._request_id(),
            "vnp_Version": VERSION,
            "vnp_Command": "querydr",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_TxnRef": txn_ref,
            "vnp_OrderInfo": to_ascii(order_info or f"Truy van GD {txn_ref}", 255),
            "vnp_TransactionDate": format_date(transaction_date),
            "vnp_CreateDate": format_date(self._clock()),
            "vnp_IpAddr": self.config.server_ip,
        }
        if provider_txn_no:
            body["vnp_TransactionNo"] = provider_txn_no
        body[SECURE_HASH] = pipe_hash(body, QUERYDR_REQUEST_FIELDS, self.config.hash_secret)
        return body

    async def query(
        self,
        txn_ref: str,
        transaction_date: datetime,
        *,
        provider_txn_no: str | None = None,
        order_info: str | None = None,
    ) -> QueryResult:
        """Ask VNPay what happened. Only outcome ANSWERED is a fact; back off on THROTTLED."""
        body = self.querydr_body(
            txn_ref, transaction_date, provider_txn_no=provider_txn_no, order_info=order_info
        )
        answer = await self._post(body)
        if answer is None:
            return QueryResult(ApiOutcome.UNAVAILABLE, "", "no usable answer", txn_ref)
        code = answer.get("vnp_ResponseCode", "")
        message = answer.get("vnp_Message", "")
        if code != "00":
            return QueryResult(_error_outcome(code), code, message, txn_ref, raw=answer)
        if not self._answer_is_ours(answer, QUERYDR_RESPONSE_FIELDS, txn_ref):
            return QueryResult(ApiOutcome.UNVERIFIABLE, code, message, txn_ref, raw=answer)
        try:
            amount = _vnd_from_x100(answer.get("vnp_Amount", ""))
            pay_date = parse_date(answer["vnp_PayDate"]) if answer.get("vnp_PayDate") else None
        except (MalformedCallback, ValueError):
            return QueryResult(ApiOutcome.UNVERIFIABLE, code, message, txn_ref, raw=answer)
        transaction_status = answer.get("vnp_TransactionStatus", "")
        return QueryResult(
            ApiOutcome.ANSWERED,
            code,
            message,
            txn_ref,
            status=query_status(transaction_status),
            amount_vnd=amount,
            transaction_status=transaction_status,
            transaction_type=answer.get("vnp_TransactionType", ""),
            provider_txn_no=answer.get("vnp_TransactionNo") or None,
            bank_code=answer.get("vnp_BankCode") or None,
            pay_date=pay_date,
            raw=answer,
        )

    def refund_body(self, req: RefundRequest) -> dict[str, str]:
        body = {
            "vnp_RequestId": self._request_id(),
            "vnp_Version": VERSION,
            "vnp_Command": "refund",
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_TransactionType": "02" if req.full else "03",
            "vnp_TxnRef": req.txn_ref,
            "vnp_Amount": _amount_x100(req.amount_vnd),
            "vnp_OrderInfo": to_ascii(req.order_info, 255) or f"Hoan tien GD {req.txn_ref}",
            # Demos send "0" when unknown; the checksum must use the same value as the body.
            "vnp_TransactionNo": req.provider_txn_no or "0",
            "vnp_TransactionDate": format_date(req.transaction_date),
            "vnp_CreateBy": to_ascii(req.created_by, 250),
            "vnp_CreateDate": format_date(self._clock()),
            "vnp_IpAddr": self.config.server_ip,
        }
        body[SECURE_HASH] = pipe_hash(body, REFUND_REQUEST_FIELDS, self.config.hash_secret)
        return body

    async def refund(self, req: RefundRequest) -> RefundResult:
        body = self.refund_body(req)
        request_id = body["vnp_RequestId"]
        answer = await self._post(body)
        if answer is None:
            return RefundResult(
                ApiOutcome.UNAVAILABLE, "", "no usable answer", req.txn_ref, request_id=request_id
            )
        code = answer.get("vnp_ResponseCode", "")
        message = answer.get("vnp_Message", "")
        if code != "00":
            return RefundResult(
                _error_outcome(code), code, message, req.txn_ref, request_id=request_id, raw=answer
            )
        # Unlike lehuygiang28/vnpay's refund(), the answer is really verified.
        if not self._answer_is_ours(answer, REFUND_RESPONSE_FIELDS, req.txn_ref):
            return RefundResult(
                ApiOutcome.UNVERIFIABLE, code, message, req.txn_ref, request_id=request_id, raw=answer
            )
        try:
            amount: int | None = _vnd_from_x100(answer.get("vnp_Amount", ""))
        except MalformedCallback:
            amount = None
        return RefundResult(
            ApiOutcome.ANSWERED,
            code,
            message,
            req.txn_ref,
            amount_vnd=amount,
            transaction_status=answer.get("vnp_TransactionStatus") or None,
            provider_txn_no=answer.get("vnp_TransactionNo") or None,
            request_id=request_id,
            raw=answer,
        )

    def _answer_is_ours(self, answer: Mapping[str, str], fields: tuple[str, ...], txn_ref: str) -> bool:
        return (
            verify_pipe_hash(answer, fields, self.config.hash_secret)
            and answer.get("vnp_TmnCode") == self.config.tmn_code
            and answer.get("vnp_TxnRef") == txn_ref
        )

    async def _post(self, body: Mapping[str, str]) -> dict[str, str] | None:
        timeout = httpx.Timeout(self.config.timeout_s, connect=self.config.connect_timeout_s)
        try:
            if self._client is not None:
                response = await self._client.post(self.config.api_url, json=body, timeout=timeout)
            else:
                async with httpx.AsyncClient(timeout=timeout) as client:
                    response = await client.post(self.config.api_url, json=body)
            if response.status_code != 200:
                return None
            return _text_body(response.json())
        except (httpx.HTTPError, ValueError):
            return None


def _error_outcome(code: str) -> ApiOutcome:
    return {
        "91": ApiOutcome.NOT_FOUND,
        "94": ApiOutcome.THROTTLED,
        "95": ApiOutcome.REFUSED,
    }.get(code, ApiOutcome.REJECTED)
