from __future__ import annotations

from datetime import UTC, datetime

import pytest
from payment_builders import vnpay_config

from payments import NotSupported, PaymentProvider, PaymentRequest, ProviderRegistry, UnknownProvider
from payments.vietqr import VietQRTransferProvider
from payments.vnpay import VNPayProvider


def test_register_get_and_duplicate_names() -> None:
    registry = ProviderRegistry()
    vnpay = registry.register(VNPayProvider(vnpay_config()))
    registry.register(VietQRTransferProvider("970436", "1234567890"))
    assert registry.get("vnpay") is vnpay
    assert registry.names() == ["vietqr", "vnpay"]
    with pytest.raises(ValueError):
        registry.register(VNPayProvider(vnpay_config()))
    replacement = registry.register(VNPayProvider(vnpay_config()), replace=True)
    assert registry.get("vnpay") is replacement
    with pytest.raises(UnknownProvider):
        registry.get("momo")


def test_override_restores_the_previous_provider() -> None:
    registry = ProviderRegistry()
    original = registry.register(VNPayProvider(vnpay_config()))
    double = VNPayProvider(vnpay_config(tmn_code="FAKE0001"))
    with registry.override(double):
        assert registry.get("vnpay") is double
    assert registry.get("vnpay") is original
    with registry.override(VietQRTransferProvider("970436", "1")):
        assert "vietqr" in registry
    assert "vietqr" not in registry


def test_register_rejects_objects_that_are_not_providers() -> None:
    with pytest.raises(TypeError):
        ProviderRegistry().register(object())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_vietqr_provider_starts_with_a_qr_and_supports_nothing_else() -> None:
    provider = VietQRTransferProvider("970436", "1234567890")
    assert isinstance(provider, PaymentProvider)
    start = provider.create_payment(
        PaymentRequest(
            txn_ref="DH12345",
            amount_vnd=100_000,
            order_info="x",
            client_ip="127.0.0.1",
            created_at=datetime(2025, 1, 15, 3, 30, tzinfo=UTC),
        )
    )
    assert start.redirect_url is None
    assert start.qr_payload == (
        "00020101021238540010A00000072701240006970436011012345678900208QRIBFTTA"
        "530370454061000005802VN62110807DH1234563048DAE"
    )
    with pytest.raises(NotSupported):
        provider.parse_notification({})
    with pytest.raises(NotSupported):
        await provider.query("DH12345", start.transaction_date)


def test_an_account_less_vietqr_provider_names_the_channel_and_pays_into_a_given_account() -> None:
    """The portal registers one "vietqr" provider; each school's account comes with `for_account`."""
    channel = VietQRTransferProvider()
    request = PaymentRequest(
        txn_ref="DH12345",
        amount_vnd=100_000,
        order_info="x",
        client_ip="127.0.0.1",
        created_at=datetime(2025, 1, 15, 3, 30, tzinfo=UTC),
    )
    with pytest.raises(NotSupported):
        channel.create_payment(request)
    school = channel.for_account("970436", "1234567890")
    assert school.name == channel.name == "vietqr"
    fixed = VietQRTransferProvider("970436", "1234567890").create_payment(request)
    assert school.create_payment(request).qr_payload == fixed.qr_payload
    with pytest.raises(ValueError):
        channel.for_account("97043", "1234567890")
