"""The dashboard as a spreadsheet (openpyxl) or CSV: the same columns and numbers as the page.

Rates are written as percentages (0–100, two decimals in CSV; Excel keeps the
exact fraction with a percentage format). Empty cell = not applicable (no
case in the denominator).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from portal.quality.indicators import Indicators
from portal.quality.service import Dashboard, Row

RATE, NUMBER, DAYS = "rate", "number", "days"

# (header, kind, value from the indicators)
COLUMNS: tuple[tuple[str, str, Callable[[Indicators], Any]], ...] = (
    ("Hồ sơ tiếp nhận", NUMBER, lambda i: i.counts.received),
    ("Trực tuyến", NUMBER, lambda i: i.counts.online),
    ("Trực tiếp", NUMBER, lambda i: i.desk),
    ("Tỷ lệ trực tuyến (%)", RATE, lambda i: i.online_rate),
    ("Rút / dừng", NUMBER, lambda i: i.counts.withdrawn),
    ("Đã giải quyết", NUMBER, lambda i: i.counts.decided),
    ("Đúng hạn", NUMBER, lambda i: i.on_time),
    ("Trễ hạn", NUMBER, lambda i: i.late),
    ("Tỷ lệ đúng hạn (%)", RATE, lambda i: i.on_time_rate),
    ("Thời gian giải quyết TB (ngày làm việc)", DAYS, lambda i: i.avg_processing_days),
    ("Hồ sơ có phí", NUMBER, lambda i: i.counts.fee_bearing),
    ("Thanh toán trực tuyến", NUMBER, lambda i: i.counts.paid_online),
    ("Tỷ lệ thanh toán trực tuyến (%)", RATE, lambda i: i.online_payment_rate),
    ("Có kết quả", NUMBER, lambda i: i.counts.results),
    ("Số hóa (tệp + kết quả điện tử)", NUMBER, lambda i: i.counts.results_digitised),
    ("Tỷ lệ số hóa (%)", RATE, lambda i: i.digitisation_rate),
    ("Có phản ánh / không hài lòng", NUMBER, lambda i: i.counts.complaint_or_unsatisfied),
    ("Mức độ hài lòng QĐ 766 (%)", RATE, lambda i: i.satisfaction),
    ("Lượt đánh giá", NUMBER, lambda i: i.counts.ratings),
    ("Đánh giá hài lòng trở lên (%)", RATE, lambda i: i.rated_satisfied_rate),
    ("Đang giải quyết", NUMBER, lambda i: i.counts.open),
    ("Quá hạn", NUMBER, lambda i: i.counts.overdue),
    ("Điểm (thang 100, nhóm đo được)", DAYS, lambda i: i.score.out_of_100),
)
KEY_HEADERS = ("Cơ quan", "Mã cơ quan", "Thủ tục", "Mã thủ tục", "Tháng")


def _key_cells(
    dashboard_names: Callable[[str], str], proc_names: Callable[[str], str], row: Row
) -> list[Any]:
    agency_id, code, month = row.key
    return [dashboard_names(agency_id), agency_id, proc_names(code), code, f"{month:%Y-%m}"]


def _csv_value(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == RATE:
        return f"{value * 100:.2f}"
    if kind == DAYS:
        return f"{value:.2f}"
    return value


def to_csv(
    dashboard: Dashboard, agency_name: Callable[[str], str], procedure_name: Callable[[str], str]
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*KEY_HEADERS, *(h for h, _, _ in COLUMNS)])
    for row in dashboard.detail:
        cells = _key_cells(agency_name, procedure_name, row)
        writer.writerow([*cells, *(_csv_value(kind, get(row.indicators)) for _, kind, get in COLUMNS)])
    writer.writerow(
        ["Tổng cộng", "", "", "", "", *(_csv_value(kind, get(dashboard.total)) for _, kind, get in COLUMNS)]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(
    dashboard: Dashboard,
    agency_name: Callable[[str], str],
    procedure_name: Callable[[str], str],
    notes: list[str],
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Tổng hợp"
    period = f"{dashboard.filters.start:%m/%Y} – {dashboard.filters.end:%m/%Y}"
    summary.append(["Chỉ số chất lượng giải quyết TTHC (Quyết định 766/QĐ-TTg)", period])
    summary.append([])
    _sheet_rows(summary, ["Nhóm"], [(["Tổng cộng"], dashboard.total)])
    _sheet_rows(
        book.create_sheet("Theo cơ quan"),
        ["Cơ quan", "Mã cơ quan"],
        [([r.label, r.key], r.indicators) for r in dashboard.by_agency],
    )
    _sheet_rows(
        book.create_sheet("Theo thủ tục"),
        ["Thủ tục", "Mã thủ tục"],
        [([r.label, r.key], r.indicators) for r in dashboard.by_procedure],
    )
    _sheet_rows(
        book.create_sheet("Theo tháng"),
        ["Tháng"],
        [([f"{r.key:%Y-%m}"], r.indicators) for r in dashboard.by_month],
    )
    _sheet_rows(
        book.create_sheet("Chi tiết"),
        list(KEY_HEADERS),
        [(_key_cells(agency_name, procedure_name, r), r.indicators) for r in dashboard.detail],
    )
    sheet = book.create_sheet("Cách tính")
    for line in notes:
        sheet.append([line])
    for ws in book.worksheets:
        for cell in ws[1 if ws.title != "Tổng hợp" else 3]:
            cell.font = Font(bold=True)
        for index in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(index)].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_rows(sheet: Any, key_headers: list[str], rows: list[tuple[list[Any], Indicators]]) -> None:
    sheet.append([*key_headers, *(h for h, _, _ in COLUMNS)])
    first = sheet.max_row + 1  # max_row scans every cell: read it once, not per row
    formats = [(len(key_headers) + offset + 1, kind) for offset, (_, kind, _) in enumerate(COLUMNS)]
    for index, (keys, indicators) in enumerate(rows):
        sheet.append([*keys, *(get(indicators) for _, _, get in COLUMNS)])
        for column, kind in formats:
            if kind == RATE:
                sheet.cell(row=first + index, column=column).number_format = "0.00%"
            elif kind == DAYS:
                sheet.cell(row=first + index, column=column).number_format = "0.00"
