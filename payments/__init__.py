"""Payment providers (VNPay, VietQR transfers, ...), their registry and a local VNPay sandbox.

A library: it never imports the portal, FastAPI or a database session. The portal
persists what these functions return and mounts the sandbox in development.
"""

from payments.base import (
    VN_TZ,
    ApiOutcome,
    CallbackResult,
    InvalidSignature,
    MalformedCallback,
    NotSupported,
    PaymentError,
    PaymentProvider,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    QueryResult,
    RefundRequest,
    RefundResult,
    UnknownMerchant,
)
from payments.ipn import IpnDecision, OrderView, decide_ipn, ipn_response
from payments.registry import ProviderRegistry, UnknownProvider, default_registry, get, register
from payments.text import to_ascii

__all__ = [
    "VN_TZ",
    "ApiOutcome",
    "CallbackResult",
    "InvalidSignature",
    "IpnDecision",
    "MalformedCallback",
    "NotSupported",
    "OrderView",
    "PaymentError",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentStart",
    "PaymentStatus",
    "ProviderRegistry",
    "QueryResult",
    "RefundRequest",
    "RefundResult",
    "UnknownMerchant",
    "UnknownProvider",
    "decide_ipn",
    "default_registry",
    "get",
    "ipn_response",
    "register",
    "to_ascii",
]
