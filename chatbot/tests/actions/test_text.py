import pytest

from components.vietnamese_text import canonical_text, fold, normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("hoà", "hòa"),
        ("Khoẻ", "khỏe"),
        ("thuý", "thúy"),
        ("quý", "quý"),  # qu is the onset: mark stays on y
        ("quà", "quà"),
        ("hoàn", "hoàn"),  # final consonant: already unambiguous
        ("hoặc", "hoặc"),
        ("toà án", "tòa án"),
    ],
)
def test_modern_tone_placement(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_fold_strips_marks_and_maps_d() -> None:
    assert fold("Cho hỏi LÀM LẠI bằng tốt nghiệp, Đà Nẵng") == "cho hoi lam lai bang tot nghiep, da nang"
    assert fold("hoà") == fold("hòa") == "hoa"


def test_fold_accepts_decomposed_input() -> None:
    decomposed = "gia\u0302\u0301y to\u031b\u0300"  # "giấy tờ" typed as NFD
    assert fold(decomposed) == "giay to"


def test_canonical_text_keeps_length_and_case() -> None:
    text = "Hoà Bình H29.12.10-261128-0001"
    assert canonical_text(text) == "Hòa Bình H29.12.10-261128-0001"
    assert len(canonical_text(text)) == len(text)
