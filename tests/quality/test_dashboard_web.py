"""The dashboard for heads and admins, its Excel/CSV exports, and the public statistics page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.quality.conftest import Scenario

PERIOD = "tu=2026-11&den=2026-12"


def received_kpi(html: str) -> int:
    found = re.search(r"<dt>Hồ sơ tiếp nhận</dt><dd>(\d+)</dd>", html)
    assert found, "no received-cases figure on the page"
    return int(found.group(1))


def test_only_heads_and_admins_open_the_dashboard(
    client: TestClient, scenario: Scenario, as_role: Callable[[str], TestClient]
) -> None:
    head = as_role("lanh_dao").get(f"/can-bo/chat-luong?{PERIOD}")
    assert head.status_code == 200
    assert received_kpi(head.text) == 9  # own agency only: J (another ward) is not counted
    assert (
        head.text.count("<svg") >= 2 and "<script" not in head.text.split("</header>")[1].split("<footer")[0]
    )
    assert as_role("admin").get(f"/can-bo/chat-luong?{PERIOD}").status_code == 200
    assert received_kpi(as_role("admin").get(f"/can-bo/chat-luong?{PERIOD}").text) == 10
    assert received_kpi(as_role("admin").get(f"/can-bo/chat-luong?{PERIOD}&co_quan=H29.41.01").text) == 1
    # a head cannot look at another agency by changing the address
    assert received_kpi(as_role("other_head").get(f"/can-bo/chat-luong?{PERIOD}&co_quan=H29.41.04").text) == 1
    for role in ("tiep_nhan", "ke_toan"):
        assert as_role(role).get("/can-bo/chat-luong").status_code == 403
        assert as_role(role).get(f"/can-bo/chat-luong/xuat.csv?{PERIOD}").status_code == 403
    anonymous = client.get("/can-bo/chat-luong/xuat.xlsx", follow_redirects=False)
    assert anonymous.status_code == 303 and "/can-bo/dang-nhap" in anonymous.headers["location"]


def _nov_expectations(scenario: Scenario) -> dict[str, str]:
    """Hand-computed November numbers, read today (after 13 Nov 2026: G and H are overdue)."""
    return {
        "Hồ sơ tiếp nhận": "9",
        "Trực tuyến": "8",
        "Trực tiếp": "1",
        "Tỷ lệ trực tuyến (%)": "88.89",
        "Rút / dừng": "1",
        "Đã giải quyết": "5",
        "Đúng hạn": "4",
        "Trễ hạn": "4",
        "Tỷ lệ đúng hạn (%)": "50.00",
        "Thời gian giải quyết TB (ngày làm việc)": "3.80",
        "Hồ sơ có phí": "2",
        "Có kết quả": "4",
        "Có phản ánh / không hài lòng": "2",
        "Mức độ hài lòng QĐ 766 (%)": "25.00",
        "Lượt đánh giá": "3",
        "Đánh giá hài lòng trở lên (%)": "66.67",
        "Đang giải quyết": "3",
        "Quá hạn": "2",
        **(
            {"Tỷ lệ số hóa (%)": "75.00", "Tỷ lệ thanh toán trực tuyến (%)": "50.00"}
            if scenario.signed and scenario.paid
            else {}
        ),
    }


def test_csv_export_has_the_dashboard_numbers(
    scenario: Scenario, as_role: Callable[[str], TestClient]
) -> None:
    response = as_role("admin").get(f"/can-bo/chat-luong/xuat.csv?{PERIOD}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="chat-luong-202611-202612.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["Mã cơ quan"], r["Mã thủ tục"], r["Tháng"]) for r in rows] == [
        ("H29.41.01", "2.002481", "2026-12"),
        ("H29.41.04", "2.001914", "2026-11"),
        ("", "", ""),
    ]
    nov = rows[1]
    for column, expected in _nov_expectations(scenario).items():
        assert nov[column] == expected, column
    total = rows[2]
    assert (total["Cơ quan"], total["Hồ sơ tiếp nhận"], total["Tỷ lệ đúng hạn (%)"]) == (
        "Tổng cộng",
        "10",
        "55.56",
    )
    for person in scenario.people.values():
        assert person.name not in response.text and person.phone not in response.text


def test_excel_export_opens_and_matches(scenario: Scenario, as_role: Callable[[str], TestClient]) -> None:
    response = as_role("lanh_dao").get(f"/can-bo/chat-luong/xuat.xlsx?{PERIOD}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Tổng hợp",
        "Theo cơ quan",
        "Theo thủ tục",
        "Theo tháng",
        "Chi tiết",
        "Cách tính",
    ]
    detail = list(book["Chi tiết"].iter_rows(values_only=True))
    header, rows = detail[0], detail[1:]
    assert len(rows) == 1  # the head's own agency only
    nov = dict(zip(header, rows[0], strict=True))
    assert (nov["Mã cơ quan"], nov["Mã thủ tục"], nov["Tháng"]) == ("H29.41.04", "2.001914", "2026-11")
    for column, expected in _nov_expectations(scenario).items():
        value = nov[column]
        if column.endswith("(%)"):
            assert value * 100 == pytest.approx(float(expected), abs=0.005), column
        else:
            assert value == pytest.approx(float(expected), abs=0.005), column
    summary = list(book["Tổng hợp"].iter_rows(values_only=True))
    totals = dict(zip(summary[2], summary[3], strict=True))
    assert totals["Hồ sơ tiếp nhận"] == 9 and totals["Tỷ lệ đúng hạn (%)"] == pytest.approx(0.5)
    assert book["Theo tháng"].cell(row=2, column=1).value == "2026-11"
    assert any("766" in (c or "") for (c,) in book["Cách tính"].iter_rows(values_only=True))


def test_public_statistics_have_numbers_but_no_personal_data(client: TestClient, scenario: Scenario) -> None:
    page = client.get("/thong-ke?nam=2026")
    assert page.status_code == 200
    assert received_kpi(page.text) == 10
    assert "Ủy ban nhân dân phường Thới An" in page.text
    for person in scenario.people.values():
        for value in (person.name, person.phone, person.cccd, person.email):
            if value:
                assert value not in page.text, value
    for code in scenario.codes.values():
        assert code not in page.text
    assert "Nguyễn Quốc Bảo" not in page.text  # nor staff names
    assert "<svg" in page.text and "cdn" not in page.text.lower()
    assert client.get("/thong-ke?nam=1999").status_code == 200  # a year out of range falls back to this year
