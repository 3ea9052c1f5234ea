"""School fees (học phí, tiền ăn, bán trú…): student import, fee items, invoices per class. Never commits."""

from __future__ import annotations

import csv
import hmac
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from payments.statement import decode_statement
from portal import i18n
from portal.errors import ValidationFailed
from portal.models import Citizen
from portal.payments_app.models import (
    FEE_UNITS,
    INVOICE_PAID,
    INVOICE_UNPAID,
    LINK_CODE_ALPHABET,
    LINK_CODE_LENGTH,
    FeeItem,
    Invoice,
    InvoiceLine,
    School,
    SchoolClass,
    Student,
    StudentLink,
)
from portal.payments_app.repository import SchoolRepository
from portal.ratelimit import RateLimiter
from workflows.text import fold
from workflows.validators import InvalidValue
from workflows.validators import cccd as check_cccd
from workflows.validators import phone as normalise_phone

UNIT_LABELS = {"day": "ngày", "month": "tháng", "term": "học kỳ", "once": "lần"}
_CODE_RE = re.compile(r"^[A-Za-z0-9]{1,20}$")
_PERIOD_RE = re.compile(r"^(?:\d{4}-(?:0[1-9]|1[0-2])|HK[12]-\d{4})$")
MAX_IMPORT_ROWS = 5000

# CSV column roles, checked in this order against the folded header ("SĐT phụ huynh" -> "sdt phu huynh")
_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("phone", ("sdt", "dien thoai", "phone", "so dt")),
    ("cccd", ("cccd", "can cuoc", "so dinh danh", "dinh danh ca nhan")),
    ("code", ("ma hoc sinh", "ma hs", "ma dinh danh hoc sinh", "student code")),
    ("class", ("lop", "class")),
    ("name", ("ho va ten", "ho ten", "ten hoc sinh", "name", "ten")),
)
_SCHOOL_FIELDS = ("code", "name", "agency_id", "address", "bank_bin", "bank_account", "bank_account_name")
_REQUIRED = {"code": "Mã học sinh", "name": "Họ và tên", "class": "Lớp", "phone": "SĐT phụ huynh"}


@dataclass
class ImportResult:
    errors: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    classes_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Adjustment:
    days_absent: int = 0
    exemption_percent: int = 0


@dataclass
class IssueResult:
    created: list[Invoice] = field(default_factory=list)
    skipped: int = 0  # the student already has an invoice for this period


def period_label(period: str) -> str:
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        return f"tháng {m[2]}/{m[1]}"
    if m := re.fullmatch(r"HK([12])-(\d{4})", period):
        return f"học kỳ {'I' if m[1] == '1' else 'II'} năm {m[2]}"
    return period


def link_code(value: str) -> str | None:
    """What a parent typed as the link code, normalised (case, spaces, dashes); None when it cannot
    be one (wrong length or characters)."""
    code = "".join(value.split()).replace("-", "").upper()
    if len(code) != LINK_CODE_LENGTH or any(c not in LINK_CODE_ALPHABET for c in code):
        return None
    return code


LINK_ATTEMPTS_PER_STUDENT = 10  # per hour, from anywhere: 40-bit codes cannot be guessed at this pace


def link_attempts_exceeded(limiter: RateLimiter, settings: Any, client: str, student_code: str) -> bool:
    """One student code + link code attempt, counted per client (``deps.lookup_client``: the person,
    also when the assistant asks for them) and per student (an attacker changes addresses, not the
    student they are after); both are counted even when the first is already over."""
    per_client = limiter.hit(f"fees:{client}", window_seconds=settings.tracking_window_seconds)
    per_student = limiter.hit(f"fee-link:{student_code}", window_seconds=3600)
    return per_client > settings.tracking_max_lookups or per_student > LINK_ATTEMPTS_PER_STUDENT


def show_link_code(code: str | None) -> str:
    """ABCD2345 → ABCD-2345, as printed on notices."""
    return f"{code[:4]}-{code[4:]}" if code else ""


def link_token(secret: str, purpose: str, value: str) -> str:
    """A short HMAC for links sent to parents (pay links, receipts): no login needed, not guessable."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), "sha256").hexdigest()[:24]


def token_ok(secret: str, purpose: str, value: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(link_token(secret, purpose, value), str(token))


class SchoolFeeService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repo = SchoolRepository(session)

    # -- parents -----------------------------------------------------------------------------------------

    def find_student(self, code: str, link_code: str) -> Student | None:
        """By student code + the link code printed on the school's notice (see ``link_code``); None when
        either does not match (no hint which). The parent's phone is no proof: anyone may know it."""
        student = self.repo.student_by_code(code.strip().upper())
        if student is None or not student.active or not student.link_code:
            return None
        return student if hmac.compare_digest(student.link_code, link_code) else None

    def link_parent(self, citizen_id: int, student: Student) -> bool:
        """Remember that this citizen proved the link (found the student with its link code); False
        when it was linked before."""
        if self.repo.is_linked(citizen_id, student.id):
            return False
        self.repo.add(StudentLink(citizen_id=citizen_id, student_id=student.id))
        return True

    def children_of(self, citizen_id: int) -> list[Student]:
        """The students linked to the account with their link codes, and — once the citizen has
        verified their phone with a one-time code (``portal/accounts/phone.py``) — the active students
        whose school recorded that phone as the parent's. An unverified phone grants nothing: anyone
        may type anyone's number at registration. Read each time, never stored: a changed phone, or
        a school correcting its record, takes effect at once."""
        students = {s.id: s for s in self.repo.linked_students(citizen_id)}
        citizen = self.session.get(Citizen, citizen_id)
        if citizen is not None and citizen.phone and citizen.phone_verified:
            students.update({s.id: s for s in self.repo.students_of_parent_phone(citizen.phone)})
        return sorted(students.values(), key=lambda s: (s.full_name, s.id))

    # -- students from CSV -----------------------------------------------------------------------------

    def import_students(self, school: School, data: bytes) -> ImportResult:
        """All or nothing: any line with an error imports nothing. Re-importing the same file is a no-op."""
        result = ImportResult()
        try:
            text = decode_statement(data)
        except UnicodeDecodeError:
            result.errors.append("Tệp không đọc được; vui lòng lưu tệp dạng CSV UTF-8.")
            return result
        rows = _csv_rows(text.lstrip("\ufeff"))
        if not rows:
            result.errors.append("Tệp rỗng; cần dòng tiêu đề và ít nhất một học sinh.")
            return result
        columns = {}
        for index, cell in enumerate(rows[0]):
            role = _column_role(cell)
            if role and role not in columns:
                columns[role] = index
        missing = [label for role, label in _REQUIRED.items() if role not in columns]
        if missing:
            result.errors.append(
                f"Dòng 1: thiếu cột {', '.join(missing)} (dòng đầu tiên phải là tiêu đề cột)."
            )
            return result
        if len(rows) - 1 > MAX_IMPORT_ROWS:
            result.errors.append(f"Tệp có quá {MAX_IMPORT_ROWS} dòng; vui lòng chia nhỏ tệp.")
            return result
        parsed = self._check_rows(school, rows, columns, result)
        if result.errors:
            return result
        self._apply(school, parsed, result)
        return result

    def _check_rows(
        self, school: School, rows: list[list[str]], columns: dict[str, int], result: ImportResult
    ) -> list[dict[str, str]]:
        def cell(row: list[str], role: str) -> str:
            i = columns.get(role)
            return row[i].strip() if i is not None and i < len(row) else ""

        parsed: list[dict[str, str]] = []
        seen: dict[str, int] = {}
        for number, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            errors = []
            code = cell(row, "code").upper()
            name = " ".join(cell(row, "name").split())
            klass = " ".join(cell(row, "class").split()).upper()
            raw_phone, raw_cccd = cell(row, "phone"), cell(row, "cccd")
            if not code:
                errors.append("thiếu mã học sinh")
            elif not _CODE_RE.fullmatch(code):
                errors.append(f"mã học sinh «{code}» không hợp lệ (chỉ gồm chữ và số, tối đa 20 ký tự)")
            elif code in seen:
                errors.append(f"mã học sinh {code} trùng với dòng {seen[code]}")
            if not name:
                errors.append("thiếu họ và tên học sinh")
            elif len(name) > 100:
                errors.append("họ và tên dài quá 100 ký tự")
            if not klass:
                errors.append("thiếu tên lớp")
            elif len(klass) > 20:
                errors.append(f"tên lớp «{klass}» dài quá 20 ký tự")
            phone = ""
            if not raw_phone:
                errors.append("thiếu số điện thoại phụ huynh")
            else:
                try:
                    # spreadsheets drop the leading zero of 0912345678
                    fixed = "0" + raw_phone if raw_phone.isdigit() and len(raw_phone) == 9 else raw_phone
                    phone = normalise_phone(fixed)
                except InvalidValue as exc:
                    errors.append(f"số điện thoại phụ huynh «{raw_phone}»: {_lower_first(exc.message)}")
            cccd = ""
            if raw_cccd:
                try:
                    cccd = check_cccd(raw_cccd)
                except InvalidValue as exc:
                    errors.append(f"số định danh (CCCD) «{raw_cccd}»: {_lower_first(exc.message)}")
            if code and code not in seen:
                seen[code] = number
            if errors:
                result.errors.append(f"Dòng {number}: " + "; ".join(errors) + ".")
            else:
                parsed.append(
                    {
                        "code": code,
                        "name": name,
                        "class": klass,
                        "phone": phone,
                        "cccd": cccd,
                        "line": str(number),
                    }
                )
        if not parsed and not result.errors:
            result.errors.append("Tệp không có dòng học sinh nào.")
        existing = self.repo.students_by_codes(p["code"] for p in parsed)
        for p in parsed:
            other = existing.get(p["code"])
            if other is not None and other.school_id != school.id:
                result.errors.append(f"Dòng {p['line']}: mã học sinh {p['code']} đã thuộc trường khác.")
        return parsed

    def _apply(self, school: School, parsed: list[dict[str, str]], result: ImportResult) -> None:
        classes = {c.name: c for c in self.repo.classes(school.id)}
        existing = self.repo.students_by_codes(p["code"] for p in parsed)
        for p in parsed:
            klass = classes.get(p["class"])
            if klass is None:
                klass = classes[p["class"]] = self.repo.add(SchoolClass(school_id=school.id, name=p["class"]))
                result.classes_created += 1
            student = existing.get(p["code"])
            values = {
                "full_name": p["name"],
                "class_id": klass.id,
                "parent_phone": p["phone"],
                "cccd": p["cccd"],
                "active": True,
            }
            if student is None:
                self.session.add(Student(code=p["code"], school_id=school.id, **values))
                result.created += 1
            elif any(getattr(student, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(student, k, v)
                result.updated += 1
            else:
                result.unchanged += 1
        self.session.flush()

    # -- schools ---------------------------------------------------------------------------------------

    def add_school(self, values: dict[str, str]) -> School:
        """A school whose fees the accountants (ke_toan) of `agency_id` manage; the bank account is
        where its VietQR transfers go (optional: the portal-wide default otherwise)."""
        v = {k: " ".join(str(values.get(k) or "").split()) for k in _SCHOOL_FIELDS}
        v["code"] = v["code"].upper()
        errors = {}
        if not _CODE_RE.fullmatch(v["code"]):
            errors["code"] = "Mã trường gồm chữ và số, tối đa 20 ký tự (ví dụ mã trường của Bộ GD&ĐT)."
        elif self.repo.school_by_code(v["code"]) is not None:
            errors["code"] = f"Đã có trường mã {v['code']}."
        if not v["name"] or len(v["name"]) > 200:
            errors["name"] = "Vui lòng nhập tên trường (tối đa 200 ký tự)."
        if not v["agency_id"] or len(v["agency_id"]) > 32:
            errors["agency_id"] = "Vui lòng nhập mã cơ quan quản lý (mã đơn vị của kế toán), ví dụ H29.41.04."
        if v["bank_bin"] or v["bank_account"]:
            if not re.fullmatch(r"\d{6}", v["bank_bin"]):
                errors["bank_bin"] = "Mã BIN ngân hàng gồm 6 chữ số (ví dụ 970415 VietinBank)."
            if not re.fullmatch(r"[A-Za-z0-9]{1,19}", v["bank_account"]):
                errors["bank_account"] = "Số tài khoản gồm chữ và số, tối đa 19 ký tự."
        if errors:
            raise ValidationFailed(fields=errors)
        return self.repo.add(
            School(
                code=v["code"],
                name=v["name"],
                agency_id=v["agency_id"],
                address=v["address"][:300],
                bank_bin=v["bank_bin"] or None,
                bank_account=v["bank_account"] or None,
                bank_account_name=v["bank_account_name"][:100],
            )
        )

    # -- fee items ---------------------------------------------------------------------------------------

    def add_fee_item(
        self, school: School, code: str, name: str, unit: str, amount: str, exemptible: bool
    ) -> FeeItem:
        errors = {}
        code = code.strip().upper()
        if not _CODE_RE.fullmatch(code):
            errors["code"] = "Mã khoản thu gồm chữ và số, tối đa 20 ký tự."
        elif self.repo.fee_item_by_code(school.id, code) is not None:
            errors["code"] = f"Đã có khoản thu mã {code}."
        if not name.strip():
            errors["name"] = "Vui lòng nhập tên khoản thu."
        if unit not in FEE_UNITS:
            errors["unit"] = "Vui lòng chọn đơn vị tính."
        value = parse_amount(amount)
        if value is None or value <= 0:
            errors["amount"] = "Số tiền là số nguyên dương, tính bằng đồng (ví dụ 35000 hoặc 35.000)."
        if errors:
            raise ValidationFailed(fields=errors)
        assert value is not None
        return self.repo.add(
            FeeItem(
                school_id=school.id,
                code=code,
                name=name.strip()[:100],
                unit=unit,
                amount=value,
                exemptible=exemptible,
                active=True,
            )
        )

    # -- invoices ----------------------------------------------------------------------------------------

    def issue_invoices(
        self,
        school: School,
        klass: SchoolClass,
        *,
        period: str,
        due_date: date | None,
        item_ids: Iterable[int],
        school_days: int,
        adjustments: dict[int, Adjustment],
        issued_by: str,
        title: str = "",
    ) -> IssueResult:
        """One invoice per student of the class for the period; students who have one are skipped."""
        items = {i.id: i for i in self.repo.fee_items(school.id)}
        chosen = [items[i] for i in item_ids if i in items]
        errors = {}
        if not _PERIOD_RE.fullmatch(period):
            errors["period"] = "Kỳ thu có dạng 2026-12 (tháng) hoặc HK1-2026 (học kỳ)."
        if not chosen:
            errors["items"] = "Vui lòng chọn ít nhất một khoản thu."
        if any(i.unit == "day" for i in chosen) and not 1 <= school_days <= 31:
            errors["school_days"] = "Số ngày học trong kỳ từ 1 đến 31 (dùng cho khoản thu theo ngày)."
        for student_id, adj in adjustments.items():
            if adj.days_absent < 0 or adj.days_absent > max(school_days, 0):
                errors[f"absent_{student_id}"] = "Số ngày nghỉ không được âm hay vượt số ngày học."
            if not 0 <= adj.exemption_percent <= 100:
                errors[f"exempt_{student_id}"] = "Mức miễn giảm từ 0 đến 100%."
        if errors:
            raise ValidationFailed(fields=errors)
        result = IssueResult()
        title = title.strip() or f"Thông báo thu {period_label(period)} — lớp {klass.name}"
        for student in self.repo.students_in_class(klass.id):
            if self.repo.invoice_for(student.id, period) is not None:
                result.skipped += 1
                continue
            lines = _lines(chosen, school_days, adjustments.get(student.id, Adjustment()))
            total = max(sum(line.amount for line in lines), 0)
            invoice = Invoice(
                reference=new_invoice_reference(),
                school_id=school.id,
                class_id=klass.id,
                student_id=student.id,
                period=period,
                title=title[:200],
                amount=total,
                status=INVOICE_UNPAID if total > 0 else INVOICE_PAID,
                due_date=due_date,
                issued_by=issued_by[:100],
            )
            self.repo.add(invoice)
            for line in lines:
                line.invoice_id = invoice.id
                self.session.add(line)
            result.created.append(invoice)
        self.session.flush()
        return result


def new_invoice_reference() -> str:
    """The VietQR memo: short, ASCII, one token (banks keep letters and digits)."""
    return f"HD{uuid.uuid4().hex[:10].upper()}"


def _lines(items: list[FeeItem], school_days: int, adj: Adjustment) -> list[InvoiceLine]:
    lines = []
    for item in items:
        quantity = school_days if item.unit == "day" else 1
        label = item.name if quantity == 1 else f"{item.name} ({quantity} ngày × {i18n.money(item.amount)})"
        lines.append(
            InvoiceLine(
                fee_item_id=item.id,
                label=label[:200],
                quantity=quantity,
                unit_amount=item.amount,
                amount=item.amount * quantity,
                kind="charge",
            )
        )
        if item.unit == "day" and adj.days_absent:
            lines.append(
                InvoiceLine(
                    fee_item_id=item.id,
                    label=f"Hoàn {item.name.lower()} {adj.days_absent} ngày nghỉ",
                    quantity=adj.days_absent,
                    unit_amount=-item.amount,
                    amount=-item.amount * adj.days_absent,
                    kind="adjustment",
                )
            )
        if item.exemptible and adj.exemption_percent:
            cut = item.amount * quantity * adj.exemption_percent // 100
            lines.append(
                InvoiceLine(
                    fee_item_id=item.id,
                    label=f"Miễn giảm {item.name.lower()} {adj.exemption_percent}%",
                    quantity=1,
                    unit_amount=-cut,
                    amount=-cut,
                    kind="adjustment",
                )
            )
    return lines


def parse_amount(text: str) -> int | None:
    """'35000', '35.000', '35,000', '35 000 đ' -> 35000; None when not a whole number of đồng."""
    cleaned = re.sub(r"(?i)\s|đ|₫|vnd", "", text or "")
    if re.fullmatch(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*|\d+", cleaned):
        return int(re.sub(r"[.,]", "", cleaned))
    return None


def _csv_rows(text: str) -> list[list[str]]:
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _column_role(cell: str) -> str | None:
    name = f" {' '.join(re.findall(r'[a-z0-9]+', fold(cell)))} "
    for role, keywords in _COLUMNS:
        if any(f" {kw} " in name for kw in keywords):
            return role
    return None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text
