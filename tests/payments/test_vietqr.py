"""VietQR payloads, checked against the reference examples and an independent decoder."""

from __future__ import annotations

import pytest
from vietnam_qr_pay import QRPay

from payments.vietqr import build_vietqr, crc16_ccitt_false, render_png, render_svg

REFERENCE_DYNAMIC = (
    "00020101021238540010A00000072701240006970436011012345678900208QRIBFTTA"
    "530370454061000005802VN62110807DH1234563048DAE"
)
REFERENCE_STATIC = (
    "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
)


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_reference_examples() -> None:
    assert build_vietqr("970436", "1234567890", 100_000, "DH12345") == REFERENCE_DYNAMIC
    assert build_vietqr("970416", "257678859") == REFERENCE_STATIC


@pytest.mark.parametrize(
    ("bank_bin", "account", "amount", "memo", "expected_memo"),
    [
        ("970436", "1234567890", 100_000, "DH12345", "DH12345"),
        ("970415", "0011223344556677", 1_500_000, "Lệ phí HS-2025-01", "Le phi HS-2025-01"),
        ("970418", "9", 5_000, None, None),
        ("970422", "123456789012345678", 999_999_999_999, "Đợt 2", "Dot 2"),
    ],
)
def test_independent_decoder_reads_what_we_build(
    bank_bin: str, account: str, amount: int, memo: str | None, expected_memo: str | None
) -> None:
    payload = build_vietqr(bank_bin, account, amount, memo)
    decoded = QRPay(payload)
    assert decoded.is_valid
    assert decoded.crc == payload[-4:]
    assert decoded.provider.guid == "A000000727"
    assert decoded.provider.service == "QRIBFTTA"
    assert decoded.consumer.bank_bin == bank_bin
    assert decoded.consumer.bank_number == account
    assert decoded.amount == str(amount)
    assert decoded.init_method == "12"
    assert decoded.currency == "704" and decoded.nation == "VN"
    assert decoded.additional_data.purpose == expected_memo
    # And the other direction: the library's own builder gives the same bytes.
    assert (
        QRPay.init_viet_qr(
            bank_bin=bank_bin, bank_number=account, amount=str(amount), purpose=expected_memo
        ).build()
        == payload
    )


def test_static_qr_without_amount_is_point_of_initiation_11() -> None:
    decoded = QRPay(build_vietqr("970416", "257678859", memo="HS01"))
    assert decoded.is_valid and decoded.init_method == "11" and decoded.amount is None


def test_corrupted_payload_fails_the_independent_crc_check() -> None:
    payload = build_vietqr("970436", "1234567890", 100_000, "DH12345")
    tampered = payload.replace("5406100000", "5406900000")
    assert not QRPay(tampered).is_valid


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("97043", "1", 1000, None), ValueError),  # BIN is 6 digits
        (("970436", "12-34", 1000, None), ValueError),
        (("970436", "1" * 20, 1000, None), ValueError),
        (("970436", "1", 1000.0, None), TypeError),  # money is never a float
        (("970436", "1", 0, None), ValueError),
        (("970436", "1", 1000, "X" * 26), ValueError),  # memo would be truncated by banks
        (("970436", "1", 1000, "###"), ValueError),
    ],
)
def test_invalid_inputs(args: tuple[str, str, int, str | None], error: type[Exception]) -> None:
    with pytest.raises(error):
        build_vietqr(*args)


def test_card_transfer_service_code() -> None:
    decoded = QRPay(build_vietqr("970436", "9704361234567890", 10_000, service="QRIBFTTC"))
    assert decoded.is_valid and decoded.provider.service == "QRIBFTTC"
    with pytest.raises(ValueError):
        build_vietqr("970436", "1", service="QRPUSH")


def test_render_svg_and_png() -> None:
    svg = render_svg(REFERENCE_DYNAMIC)
    assert svg.startswith("<svg") and "<title>Mã VietQR</title>" in svg and "<?xml" not in svg
    png = render_png(REFERENCE_DYNAMIC, scale=2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200
