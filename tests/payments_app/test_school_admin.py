"""The accountant's side: student CSV import, fee items, invoices per class, Excel export."""

from __future__ import annotations

import io
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.payments_app.models import Invoice, InvoiceLine, School, Student
from tests.builders import csrf
from tests.payments_app.builders import STUDENTS_CSV, lookup, pay_on_sandbox, start_school_payment


def _empty_school(app: FastAPI) -> int:
    with app.state.db.sessions() as session:
        school = School(code="79000202", name="Trường Mầm non Hoa Sen", agency_id="H29.41.04", address="")
        session.add(school)
        session.commit()
        return school.id


def _upload(accountant: TestClient, school_id: int, content: bytes) -> Any:
    url = f"/can-bo/thu-phi/truong/{school_id}/nhap-hoc-sinh"
    token = csrf(accountant, url)
    return accountant.post(
        url, data={"csrf_token": token}, files={"file": ("hoc-sinh.csv", content, "text/csv")}
    )


def _students(app: FastAPI) -> int:
    with app.state.db.sessions() as session:
        return int(session.scalar(select(func.count(Student.id))) or 0)


def test_student_import_is_bom_tolerant_and_idempotent(app: FastAPI, accountant: TestClient) -> None:
    school_id = _empty_school(app)
    first = _upload(accountant, school_id, STUDENTS_CSV.encode())
    assert first.status_code == 200
    assert "4 học sinh mới, 0 cập nhật, 0 không đổi; 2 lớp mới" in first.text
    again = _upload(accountant, school_id, STUDENTS_CSV.encode())
    assert "0 học sinh mới, 0 cập nhật, 4 không đổi; 0 lớp mới" in again.text
    changed = STUDENTS_CSV.replace("0987654321", "0977111222").replace(",1A,079215000001", ",2B,079215000001")
    third = _upload(accountant, school_id, changed.encode())
    assert "0 học sinh mới, 2 cập nhật, 2 không đổi" in third.text
    semicolons = (
        "Mã HS;Họ tên;Lớp;SĐT phụ huynh\n7901000009;Phạm Gia Huy;1A;912345678\n"  # Excel dropped the 0
    )
    fourth = _upload(accountant, school_id, semicolons.encode("utf-8"))
    assert "1 học sinh mới" in fourth.text
    with app.state.db.sessions() as session:
        huy = session.scalars(select(Student).where(Student.code == "7901000009")).one()
        assert huy.parent_phone == "0912345678"
    assert _students(app) == 5


def test_student_import_errors_are_vietnamese_per_line_and_import_nothing(
    app: FastAPI, accountant: TestClient
) -> None:
    school_id = _empty_school(app)
    bad = (
        "Mã học sinh,Họ và tên,Lớp,CCCD,SĐT phụ huynh\n"
        "7901000011,Võ Thị Lan,1A,,0912345678\n"
        ",Không Mã,1A,,0912345678\n"
        "7901000013,,1A,,0912345678\n"
        "7901000014,Sai Điện Thoại,1A,,0123\n"
        "7901000015,Sai Căn Cước,1A,999215000001,0912345678\n"
        "7901000011,Trùng Mã,1B,,0912345678\n"
        "79-01,Mã Lạ,1A,,0912345678\n"
    )
    response = _upload(accountant, school_id, bad.encode())
    assert response.status_code == 422
    text = response.text
    assert "Tệp có 6 lỗi; chưa nhập học sinh nào." in text
    for expected in (
        "Dòng 3: thiếu mã học sinh.",
        "Dòng 4: thiếu họ và tên học sinh.",
        "Dòng 5: số điện thoại phụ huynh «0123»",
        "Dòng 6: số định danh (CCCD) «999215000001»: mã tỉnh",
        "Dòng 7: mã học sinh 7901000011 trùng với dòng 2.",
        "Dòng 8: mã học sinh «79-01» không hợp lệ",
    ):
        assert expected in text, expected
    assert "Dòng 2:" not in text
    assert _students(app) == 0
    missing = _upload(accountant, school_id, "Họ và tên,Lớp\nA,1A\n".encode())
    assert "Dòng 1: thiếu cột Mã học sinh, SĐT phụ huynh" in missing.text


def test_fee_items_and_bulk_invoices_with_adjustments(app: FastAPI, accountant: TestClient) -> None:
    school_id = _empty_school(app)
    _upload(accountant, school_id, STUDENTS_CSV.encode())
    url = f"/can-bo/thu-phi/truong/{school_id}/khoan-thu"
    for code, name, unit, amount, exempt in (
        ("TIENAN", "Tiền ăn", "day", "35.000", ""),
        ("HOCPHI", "Học phí tư thục", "month", "1.200.000", "1"),
        ("BHYT", "Bảo hiểm y tế", "once", "680400", ""),
    ):
        token = csrf(accountant, url)
        data = {"csrf_token": token, "code": code, "name": name, "unit": unit, "amount": amount}
        if exempt:
            data["exemptible"] = "1"
        assert accountant.post(url, data=data, follow_redirects=False).status_code == 303
    token = csrf(accountant, url)
    dup = accountant.post(
        url, data={"csrf_token": token, "code": "tienan", "name": "x", "unit": "day", "amount": "-5"}
    )
    assert (
        dup.status_code == 422 and "Đã có khoản thu mã TIENAN" in dup.text and "số nguyên dương" in dup.text
    )

    with app.state.db.sessions() as session:
        students = {s.code: s.id for s in session.scalars(select(Student))}
        class_1a = session.scalars(select(Student.class_id).where(Student.code == "7901000001")).one()
    form_url = f"/can-bo/thu-phi/truong/{school_id}/lop/{class_1a}/lap-thong-bao"
    page = accountant.get(form_url + "?ky=2026-12")
    assert page.status_code == 200 and "Nguyễn Minh An" in page.text
    # nothing was submitted yet: no error at all (it once showed `<built-in method items of dict …>`)
    assert 'class="error-message"' not in page.text and "built-in method" not in page.text
    token = csrf(accountant, form_url)
    items = [i for i in page.text.split('name="item" value="')[1:]]
    item_ids = [i.split('"')[0] for i in items]
    form = {
        "csrf_token": token,
        "period": "2026-12",
        "due_date": "2026-12-10",
        "school_days": "21",
        "item": item_ids,
        f"absent_{students['7901000001']}": "3",
        f"exempt_{students['7901000002']}": "50",
    }
    bad = accountant.post(form_url, data={**form, "school_days": "40", "period": "12/2026"})
    assert bad.status_code == 422 and "Kỳ thu có dạng 2026-12" in bad.text and "từ 1 đến 31" in bad.text
    done = accountant.post(form_url, data=form, follow_redirects=False)
    assert done.status_code == 303
    again = accountant.post(form_url, data=form, follow_redirects=True)
    assert "Đã lập 0 thông báo thu; bỏ qua 2 học sinh đã có thông báo kỳ này." in again.text

    base = 21 * 35_000 + 1_200_000 + 680_400
    with app.state.db.sessions() as session:
        amounts = {
            code: session.scalars(select(Invoice.amount).where(Invoice.student_id == sid)).one()
            for code, sid in students.items()
            if code in ("7901000001", "7901000002")
        }
        labels = list(session.scalars(select(InvoiceLine.label).where(InvoiceLine.amount < 0)))
    assert amounts == {"7901000001": base - 3 * 35_000, "7901000002": base - 600_000}
    assert sorted(labels) == ["Hoàn tiền ăn 3 ngày nghỉ", "Miễn giảm học phí tư thục 50%"]


def test_class_summary_and_excel_export_figures(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    ref, amount = world["by_code"]["7901000001"]
    lookup(client, "7901000001")
    pay_on_sandbox(client, start_school_payment(client, [ref]).headers["location"], "00")
    school_id = world["school_id"]
    page = accountant.get(f"/can-bo/thu-phi/truong/{school_id}?ky=2026-12")
    assert page.status_code == 200 and "Tình hình thu theo lớp" in page.text
    export = accountant.get(f"/can-bo/thu-phi/truong/{school_id}/xuat.xlsx?ky=2026-12")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(export.content))
    summary = wb["Tổng hợp"]
    rows = [[c.value for c in row] for row in summary.iter_rows(min_row=4)]
    assert rows == [
        ["1A", 2, 2, 1, 1, 2 * amount, amount, amount],
        ["2B", 2, 2, 0, 2, 2 * amount, 0, 2 * amount],
        ["Tổng cộng", 4, 4, 1, 3, 4 * amount, amount, 3 * amount],
    ]
    assert summary["F4"].number_format == "#,##0"
    detail = [[c.value for c in row] for row in wb["Chi tiết"].iter_rows(min_row=2)]
    assert len(detail) == 4
    an = next(r for r in detail if r[1] == "7901000001")
    assert an[:7] == ["1A", "7901000001", "Nguyễn Minh An", ref, amount, "Đã nộp", "VNPay"]
    assert sum(r[4] for r in detail if r[5] == "Chưa nộp") == 3 * amount


def test_accountants_see_only_their_schools(
    app: FastAPI, accountant: TestClient, world: dict[str, Any]
) -> None:
    with app.state.db.sessions() as session:
        other = School(code="79000303", name="Trường phường khác", agency_id="H29.41.01", address="")
        session.add(other)
        session.commit()
        other_id = other.id
    assert accountant.get(f"/can-bo/thu-phi/truong/{other_id}").status_code == 404
    home = accountant.get("/can-bo/thu-phi").text
    assert "Trường Tiểu học Thới An" in home and "Trường phường khác" not in home


def test_an_admin_adds_a_school_for_an_agency(app: FastAPI, accountant: TestClient) -> None:
    from tests.backoffice.staff_builders import PASSWORD, create_staff, login

    assert accountant.get("/can-bo/thu-phi/truong-moi").status_code == 403  # accountants do not
    with app.state.db.sessions() as session:
        create_staff(session, "quantri", "Quản trị", ["admin"])
        session.commit()
    with TestClient(app, base_url="http://testserver") as admin:
        login(admin, "quantri", PASSWORD)
        token = csrf(admin, "/can-bo/thu-phi/truong-moi")
        bad = admin.post(
            "/can-bo/thu-phi/truong-moi",
            data={
                "csrf_token": token,
                "code": "79-01",
                "name": "",
                "agency_id": "H29.41.04",
                "bank_bin": "9704",
            },
        )
        assert bad.status_code == 422
        assert "Mã trường gồm chữ và số" in bad.text and "Mã BIN ngân hàng gồm 6 chữ số" in bad.text
        done = admin.post(
            "/can-bo/thu-phi/truong-moi",
            data={
                "csrf_token": token,
                "code": "79000404",
                "name": "Trường THCS Thới An",
                "agency_id": "H29.41.04",
                "bank_bin": "970436",
                "bank_account": "0071000123456",
                "bank_account_name": "TRUONG THCS THOI AN",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        audit = admin.get("/can-bo/quan-tri/nhat-ky-quan-tri?thao_tac=school.create").text
    assert "Thêm trường học" in audit and "Trường THCS Thới An" in audit  # the admin action is audited
    assert "Trường THCS Thới An" in accountant.get("/can-bo/thu-phi").text  # the agency's accountant sees it
