"""Bank statement CSV import and matching, to confirm VietQR/bank transfers.

Vietnamese banks export CSVs with preamble rows, bilingual headers, `;` or `,`
separators, `1.500.000` or `1,500,000` amounts and dd/mm/yyyy dates. We find
the header row by its column names, keep credits positive and debits negative,
and match a credit to an open invoice by the invoice reference in the memo
plus the exact amount. Anything else goes to a human.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from payments.base import require_vnd
from payments.text import to_ascii


class StatementParseError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StatementLine:
    date: date
    amount_vnd: int  # credit (money in) > 0, debit < 0
    memo: str
    bank_ref: str
    row: int = 0  # 1-based row in the file, for operators


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    reference: str  # what the citizen was asked to write in the memo (e.g. the TxnRef)
    amount_vnd: int


class MatchKind(enum.StrEnum):
    MATCHED = "matched"
    AMOUNT_MISMATCH = "amount_mismatch"  # reference found, amount differs
    UNMATCHED = "unmatched"  # no open invoice reference in the memo
    DUPLICATE = "duplicate"  # invoice already matched by an earlier line: double payment?
    AMBIGUOUS = "ambiguous"  # several invoice references in one memo
    IGNORED = "ignored"  # money out, not a payment to us


@dataclass(frozen=True, slots=True)
class LineMatch:
    line: StatementLine
    kind: MatchKind
    invoice: OpenInvoice | None = None
    candidates: tuple[OpenInvoice, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementMatch:
    results: list[LineMatch] = field(default_factory=list)

    def of_kind(self, kind: MatchKind) -> list[LineMatch]:
        return [r for r in self.results if r.kind is kind]

    @property
    def matched(self) -> list[LineMatch]:
        return self.of_kind(MatchKind.MATCHED)

    @property
    def amount_mismatch(self) -> list[LineMatch]:
        return self.of_kind(MatchKind.AMOUNT_MISMATCH)

    @property
    def unmatched(self) -> list[LineMatch]:
        return self.of_kind(MatchKind.UNMATCHED)


# -- parsing ---------------------------------------------------------------------------------

_ROLE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Checked in this order: "so tien ghi co" is a credit column, not a plain amount.
    ("memo", ("noi dung", "dien giai", "mo ta", "chi tiet", "description", "remark", "details", "narrative")),
    ("credit", ("ghi co", "credit", "tien vao", "so tien co")),
    ("debit", ("ghi no", "debit", "tien ra", "so tien no")),
    (
        "ref",
        (
            "tham chieu",
            "ma giao dich",
            "so giao dich",
            "ma gd",
            "so gd",
            "but toan",
            "chung tu",
            "reference",
            "ref",
            "transaction no",
            "trace",
        ),
    ),
    ("date", ("ngay", "date", "thoi gian")),
    ("amount", ("so tien", "amount", "phat sinh")),
)
_EXACT_ROLES = {"co": "credit", "no": "debit"}
_DELIMITERS = (";", ",", "\t")


def _tokens(text: str) -> list[str]:
    """Upper-case ASCII words; any punctuation separates words ('Ngày/Date' -> NGAY, DATE)."""
    return re.findall(r"[A-Z0-9]+", to_ascii(re.sub(r"[\W_]+", " ", text)).upper())


def _norm_header(cell: str) -> str:
    return " ".join(_tokens(cell)).lower()


def _role_of(cell: str) -> str | None:
    name = _norm_header(cell)
    if name in _EXACT_ROLES:
        return _EXACT_ROLES[name]
    padded = f" {name} "
    for role, keywords in _ROLE_KEYWORDS:
        if any(f" {kw} " in padded for kw in keywords):
            return role
    return None


def _header_columns(row: Sequence[str]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        role = _role_of(cell)
        if role is not None and role not in columns:
            columns[role] = index
    if "date" in columns and ("amount" in columns or "credit" in columns):
        return columns
    return None


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\b")


def parse_statement_date(text: str) -> date | None:
    value = text.strip()
    try:
        if m := _DMY.match(value):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _YMD.match(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


_PLAIN = re.compile(r"\d+")
_GROUPED = re.compile(r"\d{1,3}(?:(?P<sep>[.,])\d{3})(?:(?P=sep)\d{3})*")
_WITH_DECIMALS = re.compile(
    r"(?P<int>\d{1,3}(?:(?P<sep>[.,])\d{3})(?:(?P=sep)\d{3})*|\d+)(?P<dec>[.,])(?P<frac>\d{1,2})"
)


def parse_vnd(text: str) -> int:
    """'1.500.000', '1,500,000', '1500000', '1.500.000,00 VND', '-200.000', '(200.000)' -> int."""
    value = re.sub(r"(?i)vn[dđ]|[đ₫\s\u00a0]", "", text)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    if value[:1] in "+-" and value:
        negative, value = value[0] == "-", value[1:]
    if _PLAIN.fullmatch(value):
        amount = int(value)
    elif m := _GROUPED.fullmatch(value):
        amount = int(re.sub(r"[.,]", "", value))
    elif (m := _WITH_DECIMALS.fullmatch(value)) and m["dec"] != m["sep"]:
        if int(m["frac"]):
            raise StatementParseError(f"{text!r} has a fraction of a dong")
        amount = int(re.sub(r"[.,]", "", m["int"]))
    else:
        raise StatementParseError(f"{text!r} is not an amount in dong")
    return -amount if negative else amount


def decode_statement(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1258, the other Vietnamese export encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1258")


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _find_header(text: str) -> tuple[list[list[str]], int, dict[str, int]]:
    best: tuple[list[list[str]], int, dict[str, int]] | None = None
    for delimiter in _DELIMITERS:
        rows = _rows(text, delimiter)
        for index, row in enumerate(rows):
            columns = _header_columns(row)
            if columns is not None:
                if best is None or len(columns) > len(best[2]):
                    best = (rows, index, columns)
                break
    if best is None:
        raise StatementParseError("no header row with a date and an amount/credit column")
    return best


def _cell(row: Sequence[str], columns: dict[str, int], role: str) -> str:
    index = columns.get(role)
    return row[index].strip() if index is not None and index < len(row) else ""


def parse_bank_statement_csv(text: str) -> list[StatementLine]:
    """Rows without a date (preamble, totals, blank) are skipped; a dated row with an
    unreadable amount raises StatementParseError naming the row."""
    rows, header_index, columns = _find_header(text.lstrip("\ufeff"))
    lines: list[StatementLine] = []
    for number, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        when = parse_statement_date(_cell(row, columns, "date"))
        if when is None:
            continue
        try:
            if "credit" in columns:
                credit, debit = _cell(row, columns, "credit"), _cell(row, columns, "debit")
                amount = (parse_vnd(credit) if credit else 0) - (parse_vnd(debit) if debit else 0)
            else:
                amount = parse_vnd(_cell(row, columns, "amount"))
        except StatementParseError as exc:
            raise StatementParseError(f"row {number}: {exc}") from None
        lines.append(
            StatementLine(when, amount, _cell(row, columns, "memo"), _cell(row, columns, "ref"), number)
        )
    return lines


# -- matching ---------------------------------------------------------------------------------


def _compact(reference: str) -> str:
    return "".join(_tokens(reference))


def _mentions(memo: str, compact_ref: str) -> bool:
    """The reference appears as whole tokens, ignoring separators banks add or drop
    ('DH-12345' matches 'dh 12345' and 'DH12345', but 'DH1234' does not match 'DH12345')."""
    tokens = _tokens(memo)
    boundaries = {0}
    position = 0
    for token in tokens:
        position += len(token)
        boundaries.add(position)
    joined = "".join(tokens)
    start = joined.find(compact_ref)
    while start != -1:
        if start in boundaries and start + len(compact_ref) in boundaries:
            return True
        start = joined.find(compact_ref, start + 1)
    return False


def match_statement(lines: Iterable[StatementLine], open_invoices: Iterable[OpenInvoice]) -> StatementMatch:
    invoices = list(open_invoices)
    compact: dict[str, OpenInvoice] = {}
    for invoice in invoices:
        require_vnd(invoice.amount_vnd, "invoice amount_vnd")
        key = _compact(invoice.reference)
        if not key:
            raise ValueError(f"invoice reference {invoice.reference!r} has no letters or digits")
        if key in compact:
            raise ValueError(
                f"invoice references {compact[key].reference!r} and "
                f"{invoice.reference!r} are indistinguishable in a memo"
            )
        compact[key] = invoice
    settled: set[str] = set()
    results: list[LineMatch] = []
    for line in lines:
        if line.amount_vnd <= 0:
            results.append(LineMatch(line, MatchKind.IGNORED))
            continue
        found = [(key, inv) for key, inv in compact.items() if _mentions(line.memo, key)]
        if not found:
            results.append(LineMatch(line, MatchKind.UNMATCHED))
        elif len(found) > 1:
            results.append(LineMatch(line, MatchKind.AMBIGUOUS, candidates=tuple(i for _, i in found)))
        else:
            key, invoice = found[0]
            if line.amount_vnd != invoice.amount_vnd:
                results.append(LineMatch(line, MatchKind.AMOUNT_MISMATCH, invoice))
            elif key in settled:
                results.append(LineMatch(line, MatchKind.DUPLICATE, invoice))
            else:
                settled.add(key)
                results.append(LineMatch(line, MatchKind.MATCHED, invoice))
    return StatementMatch(results)
