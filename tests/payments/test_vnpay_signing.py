"""VNPay canonicalisation and checksums against the public vectors of the reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from payment_builders import SECRET, TMN, vnpay_config

from payments import InvalidSignature, MalformedCallback, PaymentRequest, PaymentStatus, UnknownMerchant
from payments.text import to_ascii
from payments.vnpay import VNPayProvider
from payments.vnpay_codec import (
    QUERYDR_REQUEST_FIELDS,
    REFUND_REQUEST_FIELDS,
    canonical_query,
    format_date,
    hmac_sha512,
    payment_status,
    pipe_data,
    sign_params,
    signed_query,
    verify_params,
)

CREATED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # a request time: validation does not depend on it

# §2.2: IPN payload from lehuygiang28/vnpay, hashed by a TypeScript URLSearchParams encoder.
IPN_SECRET = "test_secret"  # noqa: S105 - public test vector
IPN_PARAMS = {
    "vnp_Amount": "1000000",
    "vnp_BankCode": "NCB",
    "vnp_BankTranNo": "VNP14422574",
    "vnp_CardType": "ATM",
    "vnp_OrderInfo": "Thanh toan don hang 2024-05-21T02:17:31.249Z",
    "vnp_PayDate": "20240521091806",
    "vnp_ResponseCode": "00",
    "vnp_TmnCode": "TEST_TMN_CODE",
    "vnp_TransactionNo": "14422574",
    "vnp_TransactionStatus": "00",
    "vnp_TxnRef": "1716257871703",
}
IPN_HASH_DATA = (
    "vnp_Amount=1000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14422574&vnp_CardType=ATM"
    "&vnp_OrderInfo=Thanh+toan+don+hang+2024-05-21T02%3A17%3A31.249Z&vnp_PayDate=20240521091806"
    "&vnp_ResponseCode=00&vnp_TmnCode=TEST_TMN_CODE&vnp_TransactionNo=14422574"
    "&vnp_TransactionStatus=00&vnp_TxnRef=1716257871703"
)
IPN_HASH = (
    "649982421beb422556a1374713c74e58e716ecbd05007c0c0e1f7effdfaf361d"
    "bf146889ca446139afe11b9954c4d5c486e99e3b86fcfab6957f29eb0be72895"
)
IPN_HASH_99 = (
    "503194f6d93b57b357b2d1d09742565e67e86d771352c5dca4fc8d39df3d392c"
    "6b3809add9405f97cfb9631f445e36c80656cfbf47eac67d97fa165865c13e1b"
)

# §2.4 worked example.
PAY_PARAMS: dict[str, object] = {
    "vnp_Version": "2.1.0",
    "vnp_Command": "pay",
    "vnp_TmnCode": "DEMO0001",
    "vnp_Amount": 15000000,
    "vnp_CurrCode": "VND",
    "vnp_TxnRef": "ORD20250115-0001",
    "vnp_OrderInfo": "Thanh toan don hang ORD20250115-0001",
    "vnp_OrderType": "other",
    "vnp_Locale": "vn",
    "vnp_ReturnUrl": "https://shop.example.vn/payment/vnpay/return",
    "vnp_IpAddr": "203.0.113.10",
    "vnp_CreateDate": "20250115103000",
    "vnp_ExpireDate": "20250115104500",
}
PAY_HASH_DATA = (
    "vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20250115103000&vnp_CurrCode=VND"
    "&vnp_ExpireDate=20250115104500&vnp_IpAddr=203.0.113.10&vnp_Locale=vn"
    "&vnp_OrderInfo=Thanh+toan+don+hang+ORD20250115-0001&vnp_OrderType=other"
    "&vnp_ReturnUrl=https%3A%2F%2Fshop.example.vn%2Fpayment%2Fvnpay%2Freturn&vnp_TmnCode=DEMO0001"
    "&vnp_TxnRef=ORD20250115-0001&vnp_Version=2.1.0"
)
PAY_HASH = (
    "ab90f6fd52dc82f6951edc919da79fcc7ebb7b75cebf112d6c5fc0ccdefdc86f"
    "3654f6f6b0fb27cff1d81c46411167516ac82bb080d6fa4e7a1b546e8f8f3545"
)


def test_ipn_vector_canonical_form_and_hash() -> None:
    assert canonical_query(IPN_PARAMS) == IPN_HASH_DATA
    assert sign_params(IPN_PARAMS, IPN_SECRET) == IPN_HASH


def test_ipn_vector_with_response_code_99() -> None:
    params = {**IPN_PARAMS, "vnp_ResponseCode": "99"}
    assert sign_params(params, IPN_SECRET) == IPN_HASH_99
    assert verify_params({**params, "vnp_SecureHash": IPN_HASH_99}, IPN_SECRET)
    # The success hash must not validate the 99 payload (and vice versa).
    assert not verify_params({**params, "vnp_SecureHash": IPN_HASH}, IPN_SECRET)


def test_worked_example_pay_hash() -> None:
    assert canonical_query(PAY_PARAMS) == PAY_HASH_DATA
    assert sign_params(PAY_PARAMS, SECRET) == PAY_HASH
    assert signed_query(PAY_PARAMS, SECRET) == f"{PAY_HASH_DATA}&vnp_SecureHash={PAY_HASH}"


def test_provider_builds_the_worked_example_url() -> None:
    provider = VNPayProvider(
        vnpay_config(
            pay_url="https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
            return_url="https://shop.example.vn/payment/vnpay/return",
        )
    )
    req = PaymentRequest(
        txn_ref="ORD20250115-0001",
        amount_vnd=150_000,
        order_info="Thanh toán đơn hàng ORD20250115-0001",
        client_ip="203.0.113.10",
        created_at=datetime(2025, 1, 15, 3, 30, tzinfo=UTC),
    )
    start = provider.create_payment(req)
    assert start.redirect_url == (
        f"https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?{PAY_HASH_DATA}&vnp_SecureHash={PAY_HASH}"
    )
    assert start.transaction_date.isoformat() == "2025-01-15T10:30:00+07:00"
    assert start.expires_at is not None and start.expires_at - start.transaction_date == timedelta(minutes=15)


def test_querydr_and_refund_worked_examples() -> None:
    querydr = dict(
        zip(
            QUERYDR_REQUEST_FIELDS,
            [
                "REQ20250115110000A1",
                "2.1.0",
                "querydr",
                "DEMO0001",
                "ORD20250115-0001",
                "20250115103000",
                "20250115110000",
                "203.0.113.5",
                "Truy van GD ORD20250115-0001",
            ],
            strict=True,
        )
    )
    assert hmac_sha512(SECRET, pipe_data(querydr, QUERYDR_REQUEST_FIELDS)) == (
        "0da5cda0027eb7978c2e152be39bd5f07d65cf263ddb4f7f467bd1e40308f195"
        "7073e55359d1c32d222fc0410bae95fee08c6e662d2700182492e020f5331eab"
    )
    refund = dict(
        zip(
            REFUND_REQUEST_FIELDS,
            [
                "REQ20250116090000B2",
                "2.1.0",
                "refund",
                "DEMO0001",
                "02",
                "ORD20250115-0001",
                "15000000",
                "14800001",
                "20250115103000",
                "admin",
                "20250116090000",
                "203.0.113.5",
                "Hoan tien GD ORD20250115-0001",
            ],
            strict=True,
        )
    )
    assert hmac_sha512(SECRET, pipe_data(refund, REFUND_REQUEST_FIELDS)) == (
        "b3863bc161e85f73a3530c504c52ac1f4fdfad4de44e4e72a44b5f0f519ba1ae"
        "f1e7f418f0c76a3921a1ddafc92f49ef0d4b3f39bbd1b273a43da99b55e5b15d"
    )


def test_provider_querydr_body_reproduces_the_worked_example() -> None:
    provider = VNPayProvider(
        vnpay_config(),
        clock=lambda: datetime(2025, 1, 15, 11, 0, tzinfo=timezone(timedelta(hours=7))),
        request_id_factory=lambda: "REQ20250115110000A1",
    )
    body = provider.querydr_body(
        "ORD20250115-0001",
        datetime(2025, 1, 15, 3, 30, tzinfo=UTC),
        order_info="Truy vấn GD ORD20250115-0001",
    )
    assert body["vnp_OrderInfo"] == "Truy van GD ORD20250115-0001"
    assert body["vnp_SecureHash"].startswith("0da5cda0027eb797")


def test_spaces_are_plus_and_reserved_characters_upper_hex() -> None:
    query = canonical_query({"vnp_OrderInfo": "a b:c/d&e=f+g,h~i*j"})
    assert query == "vnp_OrderInfo=a+b%3Ac%2Fd%26e%3Df%2Bg%2Ch~i%2Aj"


def test_sorted_by_ordinal_name_and_non_vnp_and_hash_fields_ignored() -> None:
    params = {
        "vnp_b": "1",
        "vnp_B": "2",
        "vnp_a": "3",
        "other": "x",
        "vnp_SecureHash": "h",
        "vnp_SecureHashType": "HmacSHA512",
    }
    assert canonical_query(params) == "vnp_B=2&vnp_a=3&vnp_b=1"


def test_empty_values_are_omitted() -> None:
    assert canonical_query({"vnp_A": "1", "vnp_BankCode": "", "vnp_C": None}) == "vnp_A=1"


def test_diacritics_are_utf8_percent_encoded_when_present() -> None:
    # Never sent by us (OrderInfo is folded), but verification of what we receive must agree.
    assert canonical_query({"vnp_OrderInfo": "Thanh toán"}) == "vnp_OrderInfo=Thanh+to%C3%A1n"


@pytest.mark.parametrize("received", [IPN_HASH, IPN_HASH.upper(), f" {IPN_HASH[:64].upper()}{IPN_HASH[64:]}"])
def test_verify_accepts_either_hex_case(received: str) -> None:
    assert verify_params({**IPN_PARAMS, "vnp_SecureHash": received}, IPN_SECRET)
    assert not verify_params({**IPN_PARAMS, "vnp_SecureHash": received[:-1]}, IPN_SECRET)


def test_verify_ignores_secure_hash_type_and_covers_unknown_vnp_fields() -> None:
    extra = {**IPN_PARAMS, "vnp_PromotionCode": "KM10"}
    signed = {**extra, "vnp_SecureHash": sign_params(extra, IPN_SECRET), "vnp_SecureHashType": "HmacSHA512"}
    assert verify_params(signed, IPN_SECRET)
    # A verifier hashing a whitelist would accept this; we must not: the extra field is signed.
    assert not verify_params({**signed, "vnp_PromotionCode": "KM99"}, IPN_SECRET)
    # ...and an unsigned extra vnp_ field breaks the checksum.
    unsigned = {**IPN_PARAMS, "vnp_SecureHash": IPN_HASH, "vnp_Injected": "1"}
    assert not verify_params(unsigned, IPN_SECRET)


def test_verify_rejects_tampering_wrong_secret_and_missing_hash() -> None:
    good = {**IPN_PARAMS, "vnp_SecureHash": IPN_HASH}
    assert verify_params(good, IPN_SECRET)
    assert not verify_params({**good, "vnp_Amount": "1000100"}, IPN_SECRET)
    assert not verify_params(good, "other_secret")
    assert not verify_params(IPN_PARAMS, IPN_SECRET)
    assert not verify_params({**IPN_PARAMS, "vnp_SecureHash": ""}, IPN_SECRET)


def test_verify_empties_fallback_of_section_10() -> None:
    with_empty = {**IPN_PARAMS, "vnp_BankTranNo": ""}
    # A signer that skips empties (Java/.NET)...
    skip = {**with_empty, "vnp_SecureHash": hmac_sha512(IPN_SECRET, canonical_query(with_empty))}
    # ...and one that hashes them as `name=` (PHP/Python demos).
    keep = {
        **with_empty,
        "vnp_SecureHash": hmac_sha512(IPN_SECRET, canonical_query(with_empty, include_empty=True)),
    }
    assert "vnp_BankTranNo=&" in canonical_query(with_empty, include_empty=True)
    assert verify_params(skip, IPN_SECRET)
    assert verify_params(keep, IPN_SECRET)
    # The fallback is not a bypass: a wrong hash still fails.
    assert not verify_params({**with_empty, "vnp_SecureHash": IPN_HASH_99}, IPN_SECRET)


def test_raw_unencoded_2_0_style_hash_is_rejected() -> None:
    raw = "&".join(f"{k}={v}" for k, v in sorted(IPN_PARAMS.items()))
    assert not verify_params({**IPN_PARAMS, "vnp_SecureHash": hmac_sha512(IPN_SECRET, raw)}, IPN_SECRET)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanh toán lệ phí hồ sơ", "Thanh toan le phi ho so"),
        ("ĐƠN ĐĂNG KÝ đề nghị", "DON DANG KY de nghi"),
        ("Nguyễn Thị Ưởng ơ", "Nguyen Thi Uong o"),
        ("Phí #HS-2025/001 (lần 2) ~*!'", "Phi HS-2025001 lan 2"),
        ("  nhiều   khoảng\ttrắng\n ", "nhieu khoang trang"),
        ("Số tiền: 100,000 VND.", "So tien: 100,000 VND."),
    ],
)
def test_to_ascii(text: str, expected: str) -> None:
    assert to_ascii(text) == expected
    assert to_ascii(text).isascii()


def test_pay_url_params_folded_dated_in_gmt7_and_round_trip() -> None:
    provider = VNPayProvider(vnpay_config())
    created = datetime(2025, 1, 15, 20, 0, 5, 999, tzinfo=UTC)  # 03:00:05 next day in Hanoi
    req = PaymentRequest(
        txn_ref="HS-0001",
        amount_vnd=1_500_000,
        order_info="Lệ phí đăng ký #1",
        client_ip="2001:db8::1",
        created_at=created,
        locale="en",
        bank_code="NCB",
        expire_minutes=30,
    )
    url = provider.create_payment(req).redirect_url
    assert url is not None
    query = urlsplit(url).query
    params = dict(parse_qsl(query))
    assert params["vnp_Amount"] == "150000000"
    assert params["vnp_CreateDate"] == "20250116030005"
    assert params["vnp_ExpireDate"] == "20250116033005"
    assert params["vnp_OrderInfo"] == "Le phi dang ky 1"
    assert params["vnp_Locale"] == "en" and params["vnp_BankCode"] == "NCB"
    assert "vnp_SecureHashType" not in params
    assert query.index("vnp_SecureHash=") > query.index("vnp_Version=")
    assert verify_params(params, SECRET)


def test_format_date_requires_aware_datetimes() -> None:
    with pytest.raises(ValueError):
        format_date(datetime(2025, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount_vnd": 1500.0}, TypeError),
        ({"amount_vnd": True}, TypeError),
        ({"amount_vnd": 0}, ValueError),
        ({"created_at": datetime(2025, 1, 1)}, ValueError),
        ({"txn_ref": "HS 01"}, ValueError),
        ({"txn_ref": "x" * 101}, ValueError),
        ({"locale": "fr"}, ValueError),
    ],
)
def test_payment_request_validation(changes: dict[str, object], error: type[Exception]) -> None:
    values: dict[str, object] = {
        "txn_ref": "HS01",
        "amount_vnd": 10_000,
        "order_info": "x",
        "client_ip": "127.0.0.1",
        "created_at": CREATED,
    }
    values.update(changes)
    with pytest.raises(error):
        PaymentRequest(**values)  # type: ignore[arg-type]


def test_create_payment_rejects_bad_ip_and_empty_folded_info() -> None:
    provider = VNPayProvider(vnpay_config())
    base = {"txn_ref": "HS01", "amount_vnd": 10_000, "created_at": CREATED}
    with pytest.raises(ValueError):
        provider.create_payment(PaymentRequest(order_info="ok", client_ip="not-an-ip", **base))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        provider.create_payment(PaymentRequest(order_info="###", client_ip="127.0.0.1", **base))  # type: ignore[arg-type]


def _signed_callback(**changes: str) -> dict[str, str]:
    params = {**IPN_PARAMS, "vnp_TmnCode": TMN, **changes}
    params = {k: v for k, v in params.items() if v != ""}
    return {**params, "vnp_SecureHash": sign_params(params, SECRET)}


def test_parse_notification_success_and_fields() -> None:
    result = VNPayProvider(vnpay_config()).parse_notification(_signed_callback())
    assert result.success and result.status is PaymentStatus.PAID
    assert result.amount_vnd == 10_000
    assert result.txn_ref == "1716257871703" and result.provider_txn_no == "14422574"
    assert result.bank_code == "NCB" and result.card_type == "ATM" and result.bank_tran_no == "VNP14422574"
    assert result.pay_date is not None and result.pay_date.isoformat() == "2024-05-21T09:18:06+07:00"
    assert result.raw["vnp_SecureHash"]


@pytest.mark.parametrize(
    ("response_code", "transaction_status", "status"),
    [
        ("00", "00", PaymentStatus.PAID),
        ("00", "02", PaymentStatus.FAILED),  # the PHP sample's `||` would call this paid
        ("24", "00", PaymentStatus.FAILED),
        ("24", "02", PaymentStatus.FAILED),
        ("51", "02", PaymentStatus.FAILED),
        ("07", "07", PaymentStatus.NEEDS_REVIEW),
        ("99", "02", PaymentStatus.FAILED),
    ],
)
def test_success_rule_is_and(response_code: str, transaction_status: str, status: PaymentStatus) -> None:
    assert payment_status(response_code, transaction_status) is status
    result = VNPayProvider(vnpay_config()).verify_return(
        _signed_callback(vnp_ResponseCode=response_code, vnp_TransactionStatus=transaction_status)
    )
    assert result.status is status
    assert result.success is (status is PaymentStatus.PAID)


def test_parse_notification_errors() -> None:
    provider = VNPayProvider(vnpay_config())
    with pytest.raises(InvalidSignature):
        provider.parse_notification({**_signed_callback(), "vnp_ResponseCode": "00", "vnp_Amount": "1"})
    with pytest.raises(InvalidSignature):
        provider.parse_notification({})
    with pytest.raises(UnknownMerchant):
        provider.parse_notification(_signed_callback(vnp_TmnCode="OTHER001"))
    with pytest.raises(MalformedCallback):
        provider.parse_notification(_signed_callback(vnp_Amount="1000050"))
    with pytest.raises(MalformedCallback):
        provider.parse_notification(_signed_callback(vnp_TransactionStatus=""))
    with pytest.raises(MalformedCallback):
        provider.parse_notification(_signed_callback(vnp_PayDate="2024-05-21"))


def test_config_hides_secret_and_validates() -> None:
    assert SECRET not in repr(vnpay_config())
    with pytest.raises(ValueError):
        vnpay_config(tmn_code="TOO_LONG_CODE")
    with pytest.raises(ValueError):
        vnpay_config(hash_secret="")
