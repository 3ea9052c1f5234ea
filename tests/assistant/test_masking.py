"""Masking personal data in transcripts."""

from __future__ import annotations

import pytest

from portal.assistant.masking import mask_personal_data


@pytest.mark.parametrize(
    "text,expected",
    [
        ("CCCD 079185012345", "CCCD 079******345"),
        ("cccd 079 185 012 345.", "cccd 079******345."),
        ("CMND 123456789", "CMND 123***789"),
        ("gọi 0912345678 nhé", "gọi 091*****78 nhé"),
        ("gọi 0912 345 678 nhé", "gọi 091*****78 nhé"),
        ("gọi 0912.345.678", "gọi 091*****78"),
        ("số +84 912 345 678", "số +849******78"),
        ("máy bàn 028 3891 5039", "máy bàn 028******39"),
        ("sdt0987654321", "sdt098*****21"),
        ("mail mai.tran+hs@example.edu.vn.", "mail m***@example.edu.vn."),
        ("mã H29.41.01-261128-0001, sđt 0987654321", "mã H29.41.01-261128-0001, sđt 098*****21"),
        ("H29.41.01-261128-00010987654321", "H29.41.01-261128-0001**********"),
        ("h29.41.01-261128-0001 0987654321", "h29.41.01-261128-0001 098*****21"),
        ('/inform{"phone": "0912345678"}', '/inform{"phone": "091*****78"}'),
        ("lớp 7, năm 2026, hạn 15 ngày, phí 50.000 đồng", "lớp 7, năm 2026, hạn 15 ngày, phí 50.000 đồng"),
        ("", ""),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


def test_none_is_empty() -> None:
    assert mask_personal_data(None) == ""
