"""Server-side validation of an application, generated from its definition.

The same rules serve the HTML form (full page and per-field HTMX checks), the
JSON API and the assistant, so a value is judged the same way everywhere.
Messages are Vietnamese and addressed to the field the user typed into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email

from workflows import validators
from workflows.calendar import today as vn_today
from workflows.definitions import Definition, FieldType, FormField, Text

NAME_SYNTAX = r"[^\W\d_]+(?:[ '.-][^\W\d_]+)*"
_NAME = re.compile(f"^{NAME_SYNTAX}$", re.UNICODE)
# yyyy-m-d and d/m/yyyy (separators / . -); ASCII digits: int() also reads "٢٠١٢"
DATE_SYNTAX = (r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
FIRST_YEAR, LAST_YEAR = 1900, 2100


@dataclass(frozen=True)
class ApplicantField:
    key: str
    label: Text
    type: FieldType
    required: bool
    help: Text | None = None
    autocomplete: str = ""
    max_length: int = 100


APPLICANT_FIELDS: tuple[ApplicantField, ...] = (
    ApplicantField(
        "full_name",
        Text(vi="Họ và tên người nộp", en="Applicant's full name"),
        FieldType.TEXT,
        True,
        autocomplete="name",
    ),
    ApplicantField(
        "cccd",
        Text(vi="Số định danh cá nhân (CCCD)", en="Personal ID number (CCCD)"),
        FieldType.CCCD,
        True,
        Text(vi="12 chữ số trên thẻ căn cước.", en="The 12 digits on your ID card."),
    ),
    ApplicantField(
        "phone",
        Text(vi="Số điện thoại di động", en="Mobile phone"),
        FieldType.PHONE,
        True,
        Text(vi="Dùng để tra cứu hồ sơ cùng mã hồ sơ.", en="Used with the case code to track the case."),
        autocomplete="tel",
        max_length=15,
    ),
    ApplicantField(
        "email",
        Text(vi="Thư điện tử", en="Email"),
        FieldType.EMAIL,
        False,
        Text(vi="Nhận thông báo về hồ sơ qua thư điện tử.", en="Get notices about the case by email."),
        autocomplete="email",
        max_length=254,
    ),
    ApplicantField(
        "address",
        Text(vi="Địa chỉ liên hệ", en="Contact address"),
        FieldType.ADDRESS,
        True,
        autocomplete="street-address",
        max_length=300,
    ),
)


@dataclass
class Validated:
    applicant: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    agency_id: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _required(label: Text) -> str:
    return f"Vui lòng nhập {label.vi[0].lower() + label.vi[1:]}."


def check_value(
    ftype: FieldType,
    raw: str,
    *,
    label: Text,
    required: bool,
    max_length: int = 500,
    spec: FormField | None = None,
    today: date | None = None,
) -> tuple[Any, str | None]:
    """Validate one value; returns (clean value, error message or None).

    ``portal.applications.schema`` publishes these rules as JSON Schema: change both together.
    """
    value = (raw or "").strip()
    if len(raw or "") > max_length:  # as sent, so that it means what the schema's maxLength means
        return value, f"Tối đa {max_length} ký tự (bạn đã nhập {len(raw)})."
    if "\x00" in value:  # PostgreSQL cannot store it; the published schema refuses it too
        return value, "Có ký tự không hợp lệ."
    if not value:
        if required:
            if ftype is FieldType.SELECT:
                return "", f"Vui lòng chọn {label.vi[0].lower() + label.vi[1:]}."
            return "", _required(label)
        return "", None
    try:
        if ftype is FieldType.CCCD:
            return validators.cccd(value, today=today), None
        if ftype is FieldType.STUDENT:
            return validators.cccd(value, today=today), None
        if ftype is FieldType.PHONE:
            return validators.phone(value), None
    except validators.InvalidValue as exc:
        return value, exc.message
    if ftype is FieldType.EMAIL:
        try:
            return validate_email(value, check_deliverability=False).normalized, None
        except EmailNotValidError:
            return value, "Địa chỉ thư điện tử không hợp lệ, ví dụ: ten@example.com."
    if ftype is FieldType.DATE:
        parsed = parse_date(value)
        if parsed is None:
            return value, "Ngày không hợp lệ; nhập theo dạng ngày/tháng/năm, ví dụ 05/09/2012."
        today = today or vn_today()
        if spec is not None and spec.date_range == "past" and parsed > today:
            return value, "Ngày này không thể ở tương lai."
        if spec is not None and spec.date_range == "future" and parsed < today:
            return value, "Ngày này không thể ở quá khứ."
        if parsed.year < FIRST_YEAR:
            return value, "Năm phải từ 1900 trở đi."
        if parsed.year > LAST_YEAR:
            return value, "Năm phải từ 2100 trở về trước."
        return parsed.isoformat(), None
    if ftype is FieldType.NUMBER:
        if not re.fullmatch(r"-?[0-9]+", value.replace(".", "")):
            return value, "Vui lòng nhập một số nguyên, ví dụ 2."
        number = int(value.replace(".", ""))
        if spec is not None and spec.min is not None and number < spec.min:
            return value, f"Giá trị nhỏ nhất là {spec.min}."
        if spec is not None and spec.max is not None and number > spec.max:
            return value, f"Giá trị lớn nhất là {spec.max}."
        return number, None
    if ftype is FieldType.SELECT and spec is not None:
        if value not in {o.value for o in spec.options}:
            return value, "Lựa chọn không hợp lệ; vui lòng chọn trong danh sách."
        return value, None
    return value, None


def parse_date(value: str) -> date | None:
    value = value.strip()
    for pattern in DATE_SYNTAX:
        m = re.fullmatch(pattern, value)
        if m:
            a, b, c = (int(x) for x in m.groups())
            try:
                return date(a, b, c) if pattern is DATE_SYNTAX[0] else date(c, b, a)
            except ValueError:
                return None
    return None


def validate_applicant_field(key: str, raw: str, *, draft: bool = False) -> tuple[Any, str | None]:
    spec = next(f for f in APPLICANT_FIELDS if f.key == key)
    value, error = check_value(
        spec.type, raw, label=spec.label, required=spec.required and not draft, max_length=spec.max_length
    )
    if not error and key == "full_name" and value and not _NAME.match(value):
        error = "Họ và tên chỉ gồm chữ cái và khoảng trắng, ví dụ: Nguyễn Thị Lan."
    return value, error


def validate_procedure_field(spec: FormField, raw: str, *, draft: bool = False) -> tuple[Any, str | None]:
    return check_value(
        spec.type,
        raw,
        label=spec.label,
        required=spec.required and not draft,
        max_length=spec.max_length,
        spec=spec,
    )


def validate(
    definition: Definition,
    applicant: dict[str, str],
    fields: dict[str, str],
    agency_id: str | None,
    *,
    draft: bool = False,
) -> Validated:
    """Validate everything typed. With ``draft=True`` only filled values are checked."""
    result = Validated()
    # errors are listed in the order of the page (the error summary follows it): the agency comes first
    if agency_id and agency_id not in definition.agencies:
        result.agency_id = None
        result.errors["agency_id"] = "Vui lòng chọn nơi nộp hồ sơ."
    elif len(definition.agencies) == 1:
        result.agency_id = definition.agencies[0]
    elif agency_id in definition.agencies:
        result.agency_id = agency_id
    else:
        result.agency_id = None
        if agency_id or not draft:
            result.errors["agency_id"] = "Vui lòng chọn nơi nộp hồ sơ."
    for spec in APPLICANT_FIELDS:
        raw = applicant.get(spec.key, "") or ""
        value, error = validate_applicant_field(spec.key, raw, draft=draft)
        result.applicant[spec.key] = str(value) if value is not None else ""
        if error:
            result.errors[f"applicant_{spec.key}"] = error
            result.applicant[spec.key] = raw.strip()
    for fspec in definition.fields:
        raw = fields.get(fspec.key, "") or ""
        value, error = validate_procedure_field(fspec, raw, draft=draft)
        result.fields[fspec.key] = value
        if error:
            result.errors[f"f_{fspec.key}"] = error
            result.fields[fspec.key] = raw.strip()
    return result
