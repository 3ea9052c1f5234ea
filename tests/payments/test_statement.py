"""Bank statement import (the shapes Vietnamese banks export) and invoice matching."""

from __future__ import annotations

from datetime import date

import pytest

from payments.statement import (
    MatchKind,
    OpenInvoice,
    StatementLine,
    StatementParseError,
    decode_statement,
    match_statement,
    parse_bank_statement_csv,
    parse_vnd,
)

VCB_LIKE = (
    "\ufeffNGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM\n"
    "Sao kê tài khoản/Account statement;;;;;;\n"
    "Số tài khoản: 0011001234567;;;;;;\n"
    "STT;Ngày giao dịch/Transaction Date;Số tham chiếu/Reference No.;Số tiền ghi nợ/Debit;"
    "Số tiền ghi có/Credit;Số dư/Balance;Nội dung chi tiết/Transactions in detail\n"
    "1;15/01/2025 10:31:02;FT25015123456;;150.000;10.150.000;"
    "MBVCB.123456.HS-2025-0001.CT tu 0123 NGUYEN VAN A toi 0011\n"
    "2;15/01/2025;FT25015123457;50.000;;10.100.000;Phí dịch vụ SMS\n"
    "3;6/1/2025;5123;;200.000;10.300.000;NGUYEN VAN B chuyen tien hs20250002\n"
    ";;;;;;\n"
    "Tổng cộng/Total;;;50.000;350.000;;\n"
)

COMMA_SIGNED = (
    "Date,Description,Amount,Reference\n"
    '2025-01-17,"IBFT HS-2025-0003 thanh toan, le phi","1,500,000",TRX1\n'
    '"17/01/2025","Rut tien","-500,000",TRX2\n'
    '18.01.2025,Hoan tra,"(20.000)",TRX3\n'
)


def test_semicolon_export_with_bom_preamble_and_totals() -> None:
    lines = parse_bank_statement_csv(VCB_LIKE)
    assert lines == [
        StatementLine(
            date(2025, 1, 15),
            150_000,
            "MBVCB.123456.HS-2025-0001.CT tu 0123 NGUYEN VAN A toi 0011",
            "FT25015123456",
            5,
        ),
        StatementLine(date(2025, 1, 15), -50_000, "Phí dịch vụ SMS", "FT25015123457", 6),
        StatementLine(date(2025, 1, 6), 200_000, "NGUYEN VAN B chuyen tien hs20250002", "5123", 7),
    ]


def test_comma_export_with_quoted_grouped_amounts_and_signed_column() -> None:
    lines = parse_bank_statement_csv(COMMA_SIGNED)
    assert [(ln.date, ln.amount_vnd, ln.bank_ref) for ln in lines] == [
        (date(2025, 1, 17), 1_500_000, "TRX1"),
        (date(2025, 1, 17), -500_000, "TRX2"),
        (date(2025, 1, 18), -20_000, "TRX3"),
    ]
    assert lines[0].memo == "IBFT HS-2025-0003 thanh toan, le phi"


def test_tab_separated_vietnamese_headers_without_reference() -> None:
    text = "Ngày\tDiễn giải\tGhi có\tGhi nợ\n01/02/2025\tHS01 nop tien\t1.000.000,00\t\n"
    [line] = parse_bank_statement_csv(text)
    assert (line.date, line.amount_vnd, line.memo, line.bank_ref) == (
        date(2025, 2, 1),
        1_000_000,
        "HS01 nop tien",
        "",
    )


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1.500.000", 1_500_000),
        ("1,500,000", 1_500_000),
        ("1500000", 1_500_000),
        ("1.500", 1_500),
        ("1.500.000 VND", 1_500_000),
        ("1 500 000 đ", 1_500_000),
        ("1.500.000,00", 1_500_000),
        ("1,500,000.00", 1_500_000),
        ("1500000.0", 1_500_000),
        ("+5.000", 5_000),
        ("-200.000", -200_000),
        ("(200.000)", -200_000),
        ("1.500.000₫", 1_500_000),
    ],
)
def test_parse_vnd(text: str, amount: int) -> None:
    assert parse_vnd(text) == amount


@pytest.mark.parametrize("text", ["1,5", "1.500,50", "abc", "", "1.50.000", "1.500,000.00.1", "1,500.000"])
def test_parse_vnd_rejects_non_integer_or_garbled_amounts(text: str) -> None:
    with pytest.raises(StatementParseError):
        parse_vnd(text)


def test_dated_row_with_unreadable_amount_names_the_row() -> None:
    text = "Ngày giao dịch;Số tiền;Nội dung\n01/02/2025;100.000;ok\n02/02/2025;mot tram;HS01\n"
    with pytest.raises(StatementParseError, match="row 3"):
        parse_bank_statement_csv(text)


def test_file_without_a_recognisable_header_is_refused() -> None:
    with pytest.raises(StatementParseError):
        parse_bank_statement_csv("a;b;c\n1;2;3\n")


def test_invalid_calendar_dates_are_not_transactions() -> None:
    text = "Ngày;Số tiền;Nội dung\n31/02/2025;100.000;x\n28/02/2025;100.000;y\n"
    assert [ln.memo for ln in parse_bank_statement_csv(text)] == ["y"]


def test_decode_statement_utf8_bom_and_windows_1258() -> None:
    text = "Ngày;Số tiền;Nội dung\n01/02/2025;100.000;Học phí\n"
    assert decode_statement(("\ufeff" + text).encode("utf-8")) == text
    legacy = "Ngày;Amount;Description\n01/02/2025;100.000;Hoa don\n".encode("cp1258")
    [line] = parse_bank_statement_csv(decode_statement(legacy))
    assert line.amount_vnd == 100_000


def _line(amount: int, memo: str, ref: str = "") -> StatementLine:
    return StatementLine(date(2025, 1, 15), amount, memo, ref)


INVOICES = [
    OpenInvoice("HS-2025-0001", 150_000),
    OpenInvoice("HS-2025-0002", 200_000),
    OpenInvoice("HS-2025-0004", 300_000),
    OpenInvoice("HS-2025-00010", 150_000),
]


def test_match_statement_reports_every_kind() -> None:
    lines = [
        _line(150_000, "MBVCB.123456.HS-2025-0001.CT tu 0123"),  # matched
        _line(-50_000, "Phi SMS HS-2025-0002"),  # money out
        _line(200_000, "chuyen tien hs20250002"),  # matched: case and separators ignored
        _line(250_000, "HS 2025 0004 nop thieu"),  # amount mismatch
        _line(100_000, "chuyen tien hoc phi"),  # no reference
        _line(150_000, "HS-2025-0001 nop lai lan 2"),  # paid twice
        _line(200_000, "HS-2025-0002 HS-2025-0004"),  # two references
        _line(150_000, "IBFT HS-2025-00010"),  # must not match HS-2025-0001
        _line(300_000, "XHS-2025-0004"),  # glued prefix: not a whole-token mention
    ]
    report = match_statement(lines, INVOICES)
    kinds = [(r.kind, r.invoice.reference if r.invoice else None) for r in report.results]
    assert kinds == [
        (MatchKind.MATCHED, "HS-2025-0001"),
        (MatchKind.IGNORED, None),
        (MatchKind.MATCHED, "HS-2025-0002"),
        (MatchKind.AMOUNT_MISMATCH, "HS-2025-0004"),
        (MatchKind.UNMATCHED, None),
        (MatchKind.DUPLICATE, "HS-2025-0001"),
        (MatchKind.AMBIGUOUS, None),
        (MatchKind.MATCHED, "HS-2025-00010"),
        (MatchKind.UNMATCHED, None),
    ]
    assert {i.reference for i in report.results[6].candidates} == {"HS-2025-0002", "HS-2025-0004"}
    assert [r.line.amount_vnd for r in report.matched] == [150_000, 200_000, 150_000]
    assert [r.line.memo for r in report.unmatched] == ["chuyen tien hoc phi", "XHS-2025-0004"]
    assert len(report.amount_mismatch) == 1


def test_a_mismatch_does_not_consume_the_invoice() -> None:
    report = match_statement([_line(100_000, "HS-2025-0004"), _line(300_000, "HS-2025-0004")], INVOICES)
    assert [r.kind for r in report.results] == [MatchKind.AMOUNT_MISMATCH, MatchKind.MATCHED]


def test_parsed_statement_matches_end_to_end() -> None:
    lines = parse_bank_statement_csv(VCB_LIKE) + parse_bank_statement_csv(COMMA_SIGNED)
    report = match_statement(lines, [*INVOICES, OpenInvoice("HS-2025-0003", 1_500_000)])
    assert sorted(r.invoice.reference for r in report.matched if r.invoice) == [
        "HS-2025-0001",
        "HS-2025-0002",
        "HS-2025-0003",
    ]


def test_indistinguishable_or_invalid_invoices_are_refused() -> None:
    with pytest.raises(ValueError):
        match_statement([], [OpenInvoice("HS-01", 1), OpenInvoice("hs01", 2)])
    with pytest.raises(ValueError):
        match_statement([], [OpenInvoice("--", 1)])
    with pytest.raises(TypeError):
        match_statement([], [OpenInvoice("HS01", 1.5)])  # type: ignore[arg-type]
