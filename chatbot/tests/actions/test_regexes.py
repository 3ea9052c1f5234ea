"""The entity regexes in data/nlu/regexes.yml match what they should, only that."""

import re
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "data" / "nlu" / "regexes.yml"


def patterns(name):
    for block in yaml.safe_load(DATA.read_text(encoding="utf-8"))["nlu"]:
        if block.get("regex") == name:
            return [
                line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")
            ]
    raise KeyError(name)


def extract(name, text):
    # As RegexEntityExtractor does (case-insensitive finditer per pattern).
    return [m.group(0) for p in patterns(name) for m in re.finditer(p, text, flags=re.IGNORECASE)]


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("case_code", "tra cứu hồ sơ H29.12.10-261128-0001 giúp tôi", ["H29.12.10-261128-0001"]),
        ("case_code", "h15.50.05.13-261008-0975", ["h15.50.05.13-261008-0975"]),
        ("case_code", "0912345678", []),
        ("phone", "sđt 0912345678 nhé", ["0912345678"]),
        ("phone", "số +84912345678", ["+84912345678"]),
        ("phone", "0912 345 678", ["0912 345 678"]),
        ("phone", "123", []),
        ("phone", "079203001234", []),  # a CCCD, not a phone
        ("phone", "0123456789", []),
        ("cccd", "cccd 079203001234", ["079203001234"]),
        ("cccd", "0912345678", []),
        ("email", "mail an.nguyen+hs@gmail.com nhé", ["an.nguyen+hs@gmail.com"]),
        ("student_code", "mã HS12345678", ["HS12345678"]),
        ("student_code", "mã hs 7912345678", ["7912345678"]),
        ("student_code", "0912345678", []),
    ],
)
def test_entity_regexes(name, text, expected):
    assert extract(name, text) == expected
