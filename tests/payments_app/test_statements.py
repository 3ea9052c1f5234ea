"""VietQR transfers confirmed by the bank statement: matched by memo and amount, idempotently."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.payments_app.models import LedgerEntry, StatementLine
from tests.builders import csrf
from tests.payments_app.builders import (
    invoice_status,
    ledger_count,
    ledger_sum,
    lookup,
    pay_on_sandbox,
    start_school_payment,
)
from tests.payments_app.conftest import pdf_text


def statement(world: dict[str, Any]) -> bytes:
    (a, amount_a), (b, _), (c, amount_c), (d, amount_d) = (
        world["by_code"][code] for code in ("7901000001", "7901000002", "7901000003", "7901000004")
    )
    rows = [
        "VIETINBANK - SAO KÊ TÀI KHOẢN 113366668888",
        "Từ ngày 01/12/2026 đến ngày 05/12/2026",
        "",
        "Ngày giao dịch;Số tham chiếu;Nội dung;Ghi nợ;Ghi có",
        f"01/12/2026;FT26335001;NGUYEN VAN AN CK {a.lower()} HOC PHI;;{amount_a:,}".replace(",", "."),
        f"02/12/2026;FT26336002;TRAN VAN B chuyen tien {b};;1.000.000",  # wrong amount
        "02/12/2026;FT26336003;ung ho quy lop;;200.000",  # no invoice reference
        f"03/12/2026;FT26337004;{c}-{d};;{amount_c + amount_d}",  # two references in one memo
        "04/12/2026;FT26338005;Phi quan ly tai khoan;11.000;",  # money out
        f"05/12/2026;FT26339006;LE THU TRANG {d};;{amount_d}",
        "Tổng cộng;;;11.000;6.850.000",
    ]
    return ("\ufeff" + "\n".join(rows) + "\n").encode()


def _import(accountant: TestClient, school_id: int, data: bytes, name: str = "saoke.csv") -> Any:
    token = csrf(accountant, f"/can-bo/thu-phi/truong/{school_id}/sao-ke")
    return accountant.post(
        f"/can-bo/thu-phi/truong/{school_id}/sao-ke",
        data={"csrf_token": token},
        files={"file": (name, data, "text/csv")},
    )


def test_statement_lines_pay_invoices_by_memo_and_amount(
    app: FastAPI, accountant: TestClient, world: dict[str, Any]
) -> None:
    school_id = world["school_id"]
    result = _import(accountant, school_id, statement(world))
    assert result.status_code == 200, result.text[:2000]
    assert (
        "6 dòng mới, 0 dòng đã nhập trước đó" in result.text and "2 khoản được ghi nhận đã thu" in result.text
    )
    for label in (
        "Đúng mã hóa đơn nhưng sai số tiền",
        "Không tìm thấy mã hóa đơn",
        "Nội dung có nhiều mã hóa đơn",
        "Tiền ra (không phải khoản thu)",
    ):
        assert label in result.text
    by_code = world["by_code"]
    assert [
        invoice_status(app, by_code[c][0]) for c in ("7901000001", "7901000002", "7901000003", "7901000004")
    ] == ["paid", "unpaid", "unpaid", "paid"]
    assert ledger_sum(app, kind="bank_transfer") == by_code["7901000001"][1] + by_code["7901000004"][1]

    # the same file again (and an overlapping export): nothing changes
    entries = ledger_count(app)
    again = _import(accountant, school_id, statement(world), "saoke-lan-2.csv")
    assert "0 dòng mới, 6 dòng đã nhập trước đó" in again.text
    assert ledger_count(app) == entries
    with app.state.db.sessions() as session:
        assert len(list(session.scalars(select(StatementLine)))) == 6
        credited = list(
            session.scalars(select(LedgerEntry.invoice_id).where(LedgerEntry.kind == "bank_transfer"))
        )
        assert len(credited) == len(set(credited)) == 2

    report = accountant.get("/can-bo/thu-phi/bao-cao").text
    assert "ung ho quy lop" in report and "Đúng mã hóa đơn nhưng sai số tiền" in report


def test_a_transfer_for_an_invoice_already_paid_by_vnpay_is_flagged(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    ref, amount = world["by_code"]["7901000001"]
    lookup(client, "7901000001")
    pay_on_sandbox(client, start_school_payment(client, [ref]).headers["location"], "00")
    data = f"Ngày;Nội dung;Số tiền\n06/12/2026;CK {ref};{amount}\n".encode()
    result = _import(accountant, world["school_id"], data)
    assert "Hóa đơn đã được thanh toán trước đó (thu trùng?)" in result.text
    assert ledger_sum(app, kind="bank_transfer") == 0


def test_a_matched_transfer_gets_a_receipt(
    app: FastAPI, client: TestClient, accountant: TestClient, world: dict[str, Any]
) -> None:
    _import(accountant, world["school_id"], statement(world))
    lookup(client, "7901000001")
    ref = world["by_code"]["7901000001"][0]
    text = pdf_text(client.get(f"/hoc-phi/hoa-don/{ref}/bien-lai.pdf").content)
    assert "Chuyển khoản VietQR" in text and "Một triệu năm trăm năm mươi nghìn đồng" in text


def test_unreadable_statements_are_explained_in_vietnamese(
    accountant: TestClient, world: dict[str, Any]
) -> None:
    no_header = _import(accountant, world["school_id"], b"a,b,c\n1,2,3\n")
    assert no_header.status_code == 422 and "Không tìm thấy dòng tiêu đề" in no_header.text
    bad_amount = _import(
        accountant, world["school_id"], "Ngày;Nội dung;Số tiền\n01/12/2026;x;12,5\n".encode()
    )
    assert bad_amount.status_code == 422 and "Dòng 2: số tiền không đọc được" in bad_amount.text
