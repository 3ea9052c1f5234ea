"""`POST /merchant_webapi/api/transaction`: querydr and refund as §4 and §9.3 describe."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

from payments.sandbox.config import SandboxConfig
from payments.sandbox.state import RefundRecord, SandboxState, SandboxTransaction
from payments.vnpay_codec import (
    QUERYDR_REQUEST_FIELDS,
    QUERYDR_RESPONSE_FIELDS,
    REFUND_REQUEST_FIELDS,
    REFUND_RESPONSE_FIELDS,
    SECURE_HASH,
    VERSION,
    format_date,
    pipe_hash,
    verify_pipe_hash,
)

_OPTIONAL = {"vnp_TransactionNo"}


class MerchantApi:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self._config = config
        self._state = state

    def handle(self, body: Mapping[str, object]) -> dict[str, str]:
        fields = {str(k): "" if v is None else str(v) for k, v in body.items()}
        command = fields.get("vnp_Command", "")
        if command == "querydr":
            return self._querydr(fields)
        if command == "refund":
            return self._refund(fields)
        return self._error(command, "03", "Lenh khong hop le")

    def _error(self, command: str, code: str, message: str) -> dict[str, str]:
        # Error answers carry no transaction fields and no checksum, as VNPay's may not.
        return {
            "vnp_ResponseId": uuid.uuid4().hex,
            "vnp_Command": command,
            "vnp_ResponseCode": code,
            "vnp_Message": message,
        }

    def _precheck(
        self, fields: dict[str, str], command: str, order: tuple[str, ...]
    ) -> dict[str, str] | None:
        missing = [n for n in (*order, SECURE_HASH) if n not in _OPTIONAL and not fields.get(n)]
        if missing or fields["vnp_Version"] != VERSION:
            return self._error(command, "03", "Du lieu gui sang khong dung dinh dang")
        if fields["vnp_TmnCode"] != self._config.tmn_code:
            return self._error(command, "02", "Ma dinh danh ket noi khong hop le (TmnCode)")
        if not verify_pipe_hash(fields, order, self._config.hash_secret):
            return self._error(command, "97", "Chu ky khong hop le")
        return None

    def _signed(self, answer: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
        answer[SECURE_HASH] = pipe_hash(answer, order, self._config.hash_secret)
        return answer

    def _querydr(self, fields: dict[str, str]) -> dict[str, str]:
        if (error := self._precheck(fields, "querydr", QUERYDR_REQUEST_FIELDS)) is not None:
            return error
        today = self._config.clock().date()
        with self._state.lock:
            if not self._state.claim_request_id(today, fields["vnp_RequestId"]):
                return self._error("querydr", "94", "Yeu cau bi trung lap (RequestId)")
            last = self._state.last_querydr_success
            throttle = self._config.querydr_throttle_s
            if throttle and last is not None and time.monotonic() - last < throttle:
                return self._error("querydr", "94", "Yeu cau bi trung lap trong gioi han thoi gian")
            txn = self._state.find(fields["vnp_TxnRef"], fields["vnp_TransactionDate"])
            if txn is None:
                return self._error("querydr", "91", "Khong tim thay giao dich yeu cau")
            self._state.last_querydr_success = time.monotonic()
            answer = self._transaction_fields(txn, "querydr", "QueryDR Success")
        answer["vnp_TransactionType"] = "01"
        return self._signed(answer, QUERYDR_RESPONSE_FIELDS)

    def _transaction_fields(self, txn: SandboxTransaction, command: str, message: str) -> dict[str, str]:
        return {
            "vnp_ResponseId": uuid.uuid4().hex,
            "vnp_Command": command,
            "vnp_ResponseCode": "00",
            "vnp_Message": message,
            "vnp_TmnCode": txn.tmn_code,
            "vnp_TxnRef": txn.txn_ref,
            "vnp_Amount": str(txn.amount_x100),
            "vnp_BankCode": txn.bank_code,
            "vnp_PayDate": txn.pay_date,
            "vnp_TransactionNo": txn.transaction_no,
            "vnp_TransactionStatus": txn.transaction_status,
            "vnp_OrderInfo": txn.order_info,
        }

    def _refund(self, fields: dict[str, str]) -> dict[str, str]:
        if (error := self._precheck(fields, "refund", REFUND_REQUEST_FIELDS)) is not None:
            return error
        kind, raw_amount = fields["vnp_TransactionType"], fields["vnp_Amount"]
        if kind not in ("02", "03") or not raw_amount.isdigit() or int(raw_amount) <= 0:
            return self._error("refund", "03", "Du lieu gui sang khong dung dinh dang")
        amount = int(raw_amount)
        now = self._config.clock()
        with self._state.lock:
            if not self._state.claim_request_id(now.date(), fields["vnp_RequestId"]):
                return self._error("refund", "94", "Yeu cau bi trung lap (RequestId)")
            if not self._config.refund_enabled:
                return self._error("refund", "99", "Unexpected error")
            txn = self._state.find(fields["vnp_TxnRef"], fields["vnp_TransactionDate"])
            given_no = fields.get("vnp_TransactionNo", "")
            if txn is None or (given_no not in ("", "0") and given_no != txn.transaction_no):
                return self._error("refund", "91", "Khong tim thay giao dich yeu cau hoan tra")
            if txn.response_code != "00" or txn.transaction_status != "00":
                return self._error("refund", "95", "Giao dich goc khong thanh cong, khong the hoan tien")
            if txn.refund_pending:
                return self._error("refund", "94", "Giao dich dang duoc yeu cau hoan tien")
            if amount > txn.refundable_x100 or (kind == "02" and amount != txn.refundable_x100):
                return self._error("refund", "03", "So tien hoan tra khong hop le")
            refund = RefundRecord(
                request_id=fields["vnp_RequestId"],
                transaction_no=self._state.next_transaction_no(),
                transaction_type=kind,
                amount_x100=amount,
                created_by=fields["vnp_CreateBy"],
                create_date=fields["vnp_CreateDate"],
                order_info=fields["vnp_OrderInfo"],
                transaction_status="06" if self._config.refund_auto_settle else "05",
            )
            txn.refunds.append(refund)
        answer = {
            "vnp_ResponseId": uuid.uuid4().hex,
            "vnp_Command": "refund",
            "vnp_ResponseCode": "00",
            "vnp_Message": "Refund success",
            "vnp_TmnCode": txn.tmn_code,
            "vnp_TxnRef": txn.txn_ref,
            "vnp_Amount": str(amount),
            "vnp_BankCode": txn.bank_code,
            "vnp_PayDate": format_date(now),
            "vnp_TransactionNo": refund.transaction_no,
            "vnp_TransactionType": kind,
            "vnp_TransactionStatus": refund.transaction_status,
            "vnp_OrderInfo": refund.order_info,
        }
        return self._signed(answer, REFUND_RESPONSE_FIELDS)

    def settle_refunds(self) -> int:
        """Move every refund still processing (05) to sent-to-bank (06)."""
        settled = 0
        with self._state.lock:
            for txn in self._state.transactions.values():
                for refund in txn.refunds:
                    if refund.transaction_status == "05":
                        refund.transaction_status = "06"
                        settled += 1
        return settled
