"""In-memory state of the sandbox gateway. Every mutation holds one lock."""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

TxnState = Literal["awaiting", "completed"]
DeliveryState = Literal["scheduled", "sending", "waiting_retry", "done", "gave_up", "dropped", "cancelled"]


@dataclass
class RefundRecord:
    request_id: str
    transaction_no: str
    transaction_type: str  # 02 full, 03 partial
    amount_x100: int
    created_by: str
    create_date: str
    order_info: str
    transaction_status: str  # 05 processing, 06 sent to the bank


@dataclass
class IpnAttempt:
    number: int
    at: str
    url: str
    http_status: int | None = None
    rsp_code: str | None = None
    error: str | None = None


@dataclass
class IpnDelivery:
    id: int
    txn_ref: str
    params: dict[str, str]  # as sent, after any tampering
    state: DeliveryState = "scheduled"
    attempts: list[IpnAttempt] = field(default_factory=list)


@dataclass
class SandboxTransaction:
    token: str
    txn_ref: str
    tmn_code: str
    amount_x100: int
    order_info: str
    return_url: str
    create_date: str
    expire_date: str
    received_on: date  # GMT+7 day the pay request arrived: TxnRef is unique per day
    request_hash: str
    request_bank_code: str
    state: TxnState = "awaiting"
    response_code: str = ""
    transaction_status: str = "01"  # not completed
    transaction_no: str = "0"
    bank_code: str = ""
    bank_tran_no: str = ""
    pay_date: str = ""
    callback_params: dict[str, str] = field(default_factory=dict)
    refunds: list[RefundRecord] = field(default_factory=list)

    @property
    def refundable_x100(self) -> int:
        return self.amount_x100 - sum(r.amount_x100 for r in self.refunds)

    @property
    def refund_pending(self) -> bool:
        return any(r.transaction_status == "05" for r in self.refunds)


class SandboxState:
    def __init__(self, first_transaction_no: int) -> None:
        self.lock = threading.Lock()
        self.transactions: dict[str, SandboxTransaction] = {}
        self.deliveries: list[IpnDelivery] = []
        self._by_ref_and_day: dict[tuple[str, date], str] = {}
        self._request_ids: set[tuple[date, str]] = set()
        self._next_no = first_transaction_no
        self.last_querydr_success: float | None = None  # monotonic seconds

    # Callers hold self.lock around these helpers and their follow-up mutations.

    def new_token(self) -> str:
        return secrets.token_urlsafe(16)

    def next_transaction_no(self) -> str:
        number = self._next_no
        self._next_no += 1
        return str(number)

    def same_day(self, txn_ref: str, day: date) -> SandboxTransaction | None:
        token = self._by_ref_and_day.get((txn_ref, day))
        return self.transactions.get(token) if token else None

    def add(self, txn: SandboxTransaction) -> None:
        self.transactions[txn.token] = txn
        self._by_ref_and_day[(txn.txn_ref, txn.received_on)] = txn.token

    def find(self, txn_ref: str, create_date: str) -> SandboxTransaction | None:
        for txn in self.transactions.values():
            if txn.txn_ref == txn_ref and txn.create_date == create_date:
                return txn
        return None

    def claim_request_id(self, day: date, request_id: str) -> bool:
        """False when this vnp_RequestId was already used today (VNPay answers 94)."""
        key = (day, request_id)
        if key in self._request_ids:
            return False
        self._request_ids.add(key)
        return True

    def new_delivery(self, txn_ref: str, params: dict[str, str]) -> IpnDelivery:
        delivery = IpnDelivery(id=len(self.deliveries) + 1, txn_ref=txn_ref, params=params)
        self.deliveries.append(delivery)
        return delivery

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "transactions": [
                    {
                        **asdict(t),
                        "received_on": t.received_on.isoformat(),
                        "refundable_x100": t.refundable_x100,
                    }
                    for t in self.transactions.values()
                ],
                "ipn_deliveries": [asdict(d) for d in self.deliveries],
            }
