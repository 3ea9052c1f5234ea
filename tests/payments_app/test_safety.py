"""Safety: no sandbox and no development secrets in production, CSRF on every form but the IPN."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from payments.sandbox import SandboxConfig, SandboxRefused, create_sandbox_app
from portal.config import Settings
from portal.payments_app.gateway import DEV_HASH_SECRET, PaymentsNotConfigured, install_gateway, vnpay_config
from portal.payments_app.schools import parse_amount
from tests.payments_app.builders import lookup


def _production(**overrides: Any) -> Settings:
    return Settings(
        environment="production",
        secret_key="production-like-secret-key-0123456789abcdefXYZ",
        database_url="sqlite://",
        **overrides,
    )


def test_the_sandbox_cannot_be_enabled_in_production() -> None:
    with pytest.raises(ValidationError, match="PORTAL_VNPAY_SANDBOX cannot be enabled in production"):
        _production(vnpay_sandbox=True)
    with pytest.raises(SandboxRefused):
        create_sandbox_app(SandboxConfig(tmn_code="DEVPORTL", hash_secret="x", production=True))


def test_production_uses_only_secrets_from_the_environment() -> None:
    app = FastAPI()
    app.state.settings = _production()
    gateway = install_gateway(app)
    assert not gateway.available  # no development terminal or secret in production
    assert not any(getattr(r, "path", "") == "/dev/vnpay" for r in app.routes)
    with pytest.raises(PaymentsNotConfigured):
        vnpay_config(
            _production(vnpay_tmn_code="REALTMN1", vnpay_hash_secret="FROMENVSECRETQ7W2E9R4T6Y1U3I5O8P")
        )
    config = vnpay_config(
        _production(
            vnpay_tmn_code="REALTMN1",
            vnpay_hash_secret="FROMENVSECRETQ7W2E9R4T6Y1U3I5O8P",
            vnpay_pay_url="https://pay.vnpay.vn/vpcpay.html",
            vnpay_api_url="https://merchant.vnpay.vn/merchant_webapi/api/transaction",
            base_url="https://dichvucong.example.vn",
        )
    )
    assert config is not None and config.hash_secret == "FROMENVSECRETQ7W2E9R4T6Y1U3I5O8P" != DEV_HASH_SECRET
    assert config.return_url == "https://dichvucong.example.vn/thanh-toan/vnpay/ket-qua"


def test_development_mounts_the_sandbox(app: FastAPI, client: TestClient) -> None:
    assert any(getattr(r, "path", "") == "/dev/vnpay" for r in app.routes)
    assert client.get("/dev/vnpay/_sandbox/transactions").status_code == 200


def test_forms_need_the_csrf_token(client: TestClient, accountant: TestClient, world: dict[str, Any]) -> None:
    ref = world["by_code"]["7901000001"][0]
    assert (
        client.post("/hoc-phi", data={"student_code": "7901000001", "phone": "0912345678"}).status_code == 403
    )
    lookup(client, "7901000001")
    assert client.post("/hoc-phi/thanh-toan", data={"invoice": ref}).status_code == 403
    assert (
        client.post("/le-phi/thanh-toan", data={"case_code": "X", "phone": "0912345678"}).status_code == 403
    )
    school = world["school_id"]
    assert (
        accountant.post(
            f"/can-bo/thu-phi/truong/{school}/sao-ke", files={"file": ("a.csv", b"x")}
        ).status_code
        == 403
    )
    assert accountant.post("/can-bo/thu-phi/giao-dich/HPX/hoan-tien", data={"amount": "1"}).status_code == 403
    # the IPN is a server-to-server GET without a session: it answers (here 97) instead of 403
    assert client.get("/thanh-toan/vnpay/ipn").json()["RspCode"] == "97"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("35000", 35000),
        ("35.000", 35000),
        ("1,200,000", 1200000),
        ("35 000 đ", 35000),
        ("12,5", None),
        ("1.5", None),
        ("-5", None),
        ("", None),
    ],
)
def test_amounts_are_whole_dong(text: str, value: int | None) -> None:
    assert parse_amount(text) == value
