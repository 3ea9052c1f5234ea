import pytest

from actions.validators import (
    find_case_code,
    normalize_email,
    normalize_full_name,
    normalize_phone,
    normalize_link_code,
    normalize_student_code,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+84 912.345.678", "0912345678"),
        ("0356789123", "0356789123"),
        ("0123456789", None),  # old 01x prefix
        ("0212345678", None),
        ("091234567", None),
        ("09123456789", None),
        ("không có", None),
    ],
)
def test_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("tên tôi là trần thị bích ngọc", "Trần Thị Bích Ngọc"),
        ("nguyen quang huy", "Nguyen Quang Huy"),
        ("Nguyễn Thị Dung", "Nguyễn Thị Dung"),
        ("Vàng A Páo", "Vàng A Páo"),
        ("có", None),
        ("có ạ", None),
        ("đúng rồi", None),
        ("dung roi", None),
        ("ok ban", None),
        ("lệ phí bao nhiêu", None),
        ("chuyển trường", None),
        ("Nguyễn", None),
        ("Nguyen Van 2", None),
        ("0912345678", None),
    ],
)
def test_full_name_is_strict(raw, expected):
    assert normalize_full_name(raw) == expected


def test_case_code_found_in_text_and_uppercased():
    assert find_case_code("mã h29.12.10-261128-0001 nhé") == "H29.12.10-261128-0001"
    assert find_case_code("H15.50.05.13-261008-0975") == "H15.50.05.13-261008-0975"
    assert find_case_code("H29-261128-0001") is None
    assert find_case_code("0912345678") is None


def test_email_and_student_code():
    assert normalize_email(" An@Gmail.com ") == "an@gmail.com"
    assert normalize_email("an@gmail") is None
    assert normalize_student_code("hs 12345678") == "HS12345678"
    assert normalize_student_code("7912345678") == "7912345678"
    assert normalize_student_code("abc") is None


def test_link_code_as_parents_type_it():
    for typed in ("ABCD-2345", "abcd 2345", "abcd2345", "mã ABCD-2345 ạ", "ABCD.2345"):
        assert normalize_link_code(typed) == "ABCD2345", typed
    # I, O, 0 and 1 are never in a code (they are misread); too short/long; two candidates
    for typed in ("ABCD-2340", "ABC-2345", "ABCD23456", "ABCD2345 EFGH6789", ""):
        assert normalize_link_code(typed) is None, typed
