"""Accountant pages under /can-bo/thu-phi (role ke_toan; admin sees every school).

An accountant sees the schools of their agency (``fee_schools.agency_id`` = their
``staff_members.agency_id``) and the procedure-fee payments of their agency's cases.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from portal import i18n
from portal.db import utcnow
from portal.deps import DbSession, Form, SettingsDep
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import Application
from portal.payments_app import flows
from portal.payments_app.models import FEE_UNITS, NEEDS_REVIEW, PENDING, PaymentAttempt, School
from portal.payments_app.reports import class_workbook, daily_findings
from portal.payments_app.repository import PaymentRepository, SchoolRepository
from portal.payments_app.schools import (
    UNIT_LABELS,
    Adjustment,
    SchoolFeeService,
    parse_amount,
    period_label,
    show_link_code,
)
from portal.payments_app.service import (
    LEDGER_LABELS,
    REFUND_LABELS,
    SETTLED_BY_LABELS,
    STATE_LABELS,
    PaymentService,
    event_label,
)
from portal.payments_app.statements import RESULT_LABELS, REVIEW_RESULTS, StatementService
from portal.payments_app.web import Payments, get_gateway
from portal.routing import Router
from portal.staff import audit
from portal.staff.auth import require_role
from portal.staff.layout import page
from portal.staff.models import StaffMember
from portal.web import security
from portal.web.bodies import accepts_files, read_upload
from portal.web.render import flash, redirect
from workflows.calendar import VN_TZ

router = Router(
    prefix="/can-bo/thu-phi", dependencies=[Depends(security.verify_csrf)], include_in_schema=False
)

# The back office's role check; ke_toan = the school (or agency) accountant.
Accountant = Annotated[StaffMember, Depends(require_role("ke_toan", "admin"))]
MAX_UPLOAD = 5 * 1024 * 1024


def _scope(staff: StaffMember) -> str | None:
    return None if staff.has_role("admin") else staff.agency_id


def _school(session: Any, staff: StaffMember, school_id: int) -> School:
    school = SchoolRepository(session).school(school_id)
    if school is None or (_scope(staff) is not None and school.agency_id != staff.agency_id):
        raise NotFound("Không tìm thấy trường, hoặc trường không thuộc đơn vị của bạn.")
    return school


def _attempt(session: Any, staff: StaffMember, txn_ref: str) -> PaymentAttempt:
    repo = PaymentRepository(session)
    attempt = repo.by_ref(txn_ref)
    scope = _scope(staff)
    if attempt is None or (scope is not None and not repo.visible_to(attempt.id, scope)):
        raise NotFound("Không tìm thấy giao dịch, hoặc giao dịch không thuộc đơn vị của bạn.")
    return attempt


def _period(value: str | None) -> str:
    return value if value else f"{utcnow().astimezone(VN_TZ):%Y-%m}"


def _upload(form: FormData, name: str = "file") -> tuple[str, bytes] | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return upload.filename, read_upload(upload, MAX_UPLOAD)


# -- dashboard and report ----------------------------------------------------------------------------


@router.get("")
def dashboard(request: Request, staff: Accountant, session: DbSession) -> Response:
    repo = PaymentRepository(session)
    scope = _scope(staff)
    return page(
        request,
        "payments/staff/dashboard.html",
        staff,
        {
            "schools": SchoolRepository(session).schools(scope),
            "review": repo.in_states((NEEDS_REVIEW,), agency_id=scope),
            "pending": repo.in_states((PENDING,), agency_id=scope, limit=20),
            "recent": repo.recent(scope, limit=30),
            "state_labels": STATE_LABELS,
        },
    )


@router.get("/bao-cao")
def report(
    request: Request, staff: Accountant, session: DbSession, settings: SettingsDep, ngay: str = ""
) -> Response:
    try:
        day = date.fromisoformat(ngay) if ngay else utcnow().astimezone(VN_TZ).date()
    except ValueError:
        day = utcnow().astimezone(VN_TZ).date()
    stale = timedelta(minutes=settings.payment_reconcile_after_minutes) + timedelta(hours=1)
    scope = _scope(staff)
    findings = daily_findings(session, day, stale_after=stale, agency_id=scope)
    # the job's stored copy covers every agency: only an admin may compare against it
    stored = PaymentRepository(session).report(day) if scope is None else None
    return page(
        request,
        "payments/staff/report.html",
        staff,
        {
            "f": findings,
            "stored": stored,
            "state_labels": STATE_LABELS,
            "refund_labels": REFUND_LABELS,
            "ledger_labels": LEDGER_LABELS,
            "event_label": event_label,
            "day": day,
        },
    )


# -- schools ------------------------------------------------------------------------------------------

Admin = Annotated[StaffMember, Depends(require_role("admin"))]


@router.get("/truong-moi")
def new_school_form(request: Request, staff: Admin) -> Response:
    return page(
        request,
        "payments/staff/new_school.html",
        staff,
        {"values": {"agency_id": staff.agency_id}, "errors": {}},
    )


@router.post("/truong-moi")
def new_school(request: Request, staff: Admin, session: DbSession, form: Form) -> Response:
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        school = SchoolFeeService(session).add_school(values)
    except ValidationFailed as exc:
        return page(
            request,
            "payments/staff/new_school.html",
            staff,
            {"values": values, "errors": exc.fields},
            status=422,
        )
    audit.record(request, session, staff, "school.create", school.name, {"school": school.id})
    flash(request, f"Đã thêm {school.name}. Tiếp theo: nhập danh sách học sinh và khoản thu.")
    return redirect(request, f"/can-bo/thu-phi/truong/{school.id}")


@router.get("/truong/{school_id}")
def school_page(
    request: Request, school_id: int, staff: Accountant, session: DbSession, ky: str = ""
) -> Response:
    school = _school(session, staff, school_id)
    repo = SchoolRepository(session)
    period = _period(ky)
    return page(
        request,
        "payments/staff/school.html",
        staff,
        {
            "school": school,
            "period": period,
            "period_label": period_label,
            "periods": sorted(set(repo.periods(school.id)) | {period}, reverse=True),
            "summaries": repo.class_summaries(school.id, period),
            "items": repo.fee_items(school.id),
            "unit_labels": UNIT_LABELS,
            "imports": repo.imports(school.id)[:10],
        },
    )


@router.get("/truong/{school_id}/xuat.xlsx")
def export(request: Request, school_id: int, staff: Accountant, session: DbSession, ky: str = "") -> Response:
    school = _school(session, staff, school_id)
    period = _period(ky)
    content = class_workbook(session, school, period)
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="thu-phi-{school.code}-{period}.xlsx"'},
    )


@router.get("/truong/{school_id}/nhap-hoc-sinh")
def students_form(request: Request, school_id: int, staff: Accountant, session: DbSession) -> Response:
    school = _school(session, staff, school_id)
    return page(
        request,
        "payments/staff/import_students.html",
        staff,
        {"school": school, "result": None, "errors": {}},
    )


@router.post("/truong/{school_id}/nhap-hoc-sinh")
@accepts_files
def students_import(
    request: Request, school_id: int, staff: Accountant, session: DbSession, form: Form
) -> Response:
    return _students_import(request, school_id, staff, session, _upload(form))


def _students_import(
    request: Request, school_id: int, staff: StaffMember, session: Any, upload: tuple[str, bytes] | None
) -> Response:
    school = _school(session, staff, school_id)
    ctx: dict[str, Any] = {"school": school, "result": None, "errors": {}}
    if upload is None or len(upload[1]) > MAX_UPLOAD:
        ctx["errors"] = {"file": "Vui lòng chọn tệp CSV danh sách học sinh (tối đa 5 MB)."}
        return page(request, "payments/staff/import_students.html", staff, ctx, status=422)
    result = SchoolFeeService(session).import_students(school, upload[1])
    ctx["result"] = result
    if not result.ok:
        ctx["errors"] = {"file": f"Tệp có {len(result.errors)} lỗi; chưa nhập học sinh nào."}
        return page(request, "payments/staff/import_students.html", staff, ctx, status=422)
    return page(request, "payments/staff/import_students.html", staff, ctx)


@router.get("/truong/{school_id}/khoan-thu")
def items_page(request: Request, school_id: int, staff: Accountant, session: DbSession) -> Response:
    school = _school(session, staff, school_id)
    return page(
        request,
        "payments/staff/items.html",
        staff,
        {
            "school": school,
            "items": SchoolRepository(session).fee_items(school.id, active_only=False),
            "units": FEE_UNITS,
            "unit_labels": UNIT_LABELS,
            "values": {},
            "errors": {},
        },
    )


@router.post("/truong/{school_id}/khoan-thu")
def items_add(
    request: Request, school_id: int, staff: Accountant, session: DbSession, form: Form
) -> Response:
    return _items_add(request, school_id, staff, session, form)


def _items_add(
    request: Request, school_id: int, staff: StaffMember, session: Any, form: FormData
) -> Response:
    school = _school(session, staff, school_id)
    values = {k: str(form.get(k) or "") for k in ("code", "name", "unit", "amount")}
    values["exemptible"] = "1" if form.get("exemptible") else ""
    try:
        item = SchoolFeeService(session).add_fee_item(
            school,
            values["code"],
            values["name"],
            values["unit"],
            values["amount"],
            bool(values["exemptible"]),
        )
    except ValidationFailed as exc:
        return page(
            request,
            "payments/staff/items.html",
            staff,
            {
                "school": school,
                "items": SchoolRepository(session).fee_items(school.id, active_only=False),
                "units": FEE_UNITS,
                "unit_labels": UNIT_LABELS,
                "values": values,
                "errors": exc.fields,
            },
            status=422,
        )
    flash(request, f"Đã thêm khoản thu {item.name}.")
    return redirect(request, f"/can-bo/thu-phi/truong/{school.id}/khoan-thu")


# -- classes and invoices --------------------------------------------------------------------------------


def _class(session: Any, school: School, class_id: int) -> Any:
    klass = SchoolRepository(session).school_class(class_id)
    if klass is None or klass.school_id != school.id:
        raise NotFound("Không tìm thấy lớp.")
    return klass


@router.get("/truong/{school_id}/lop/{class_id}")
def class_page(
    request: Request, school_id: int, class_id: int, staff: Accountant, session: DbSession, ky: str = ""
) -> Response:
    school = _school(session, staff, school_id)
    klass = _class(session, school, class_id)
    period = _period(ky)
    repo = SchoolRepository(session)
    return page(
        request,
        "payments/staff/class.html",
        staff,
        {
            "school": school,
            "klass": klass,
            "period": period,
            "period_label": period_label,
            "rows": repo.invoice_rows(school.id, period, klass.id),
            "students": repo.students_in_class(klass.id),
            # printed on each notice: the parent's proof when linking the child on /hoc-phi
            "show_link_code": show_link_code,
        },
    )


def _issue_context(session: Any, school: School, klass: Any, **extra: Any) -> dict[str, Any]:
    repo = SchoolRepository(session)
    return {
        "school": school,
        "klass": klass,
        "items": repo.fee_items(school.id),
        "unit_labels": UNIT_LABELS,
        "students": repo.students_in_class(klass.id),
        "values": {},
        "errors": {},
        **extra,
    }


@router.get("/truong/{school_id}/lop/{class_id}/lap-thong-bao")
def issue_form(
    request: Request, school_id: int, class_id: int, staff: Accountant, session: DbSession, ky: str = ""
) -> Response:
    school = _school(session, staff, school_id)
    klass = _class(session, school, class_id)
    values = {"period": _period(ky), "school_days": "22"}
    return page(
        request, "payments/staff/issue.html", staff, _issue_context(session, school, klass, values=values)
    )


@router.post("/truong/{school_id}/lop/{class_id}/lap-thong-bao")
def issue(
    request: Request, school_id: int, class_id: int, staff: Accountant, session: DbSession, form: Form
) -> Response:
    return _issue(request, school_id, class_id, staff, session, form)


def _int(value: Any, default: int = 0) -> int:
    text = str(value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else default


def _issue(
    request: Request, school_id: int, class_id: int, staff: StaffMember, session: Any, form: FormData
) -> Response:
    school = _school(session, staff, school_id)
    klass = _class(session, school, class_id)
    values = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
    values["item_ids"] = ",".join(str(v) for v in form.getlist("item"))
    errors: dict[str, str] = {}
    due: date | None = None
    if values.get("due_date"):
        try:
            due = date.fromisoformat(values["due_date"])
        except ValueError:
            errors["due_date"] = "Hạn nộp có dạng năm-tháng-ngày, ví dụ 2026-12-10."
    adjustments = {}
    for student in SchoolRepository(session).students_in_class(klass.id):
        absent = _int(form.get(f"absent_{student.id}"))
        exempt = _int(form.get(f"exempt_{student.id}"))
        if absent or exempt:
            adjustments[student.id] = Adjustment(days_absent=absent, exemption_percent=exempt)
    try:
        if errors:
            raise ValidationFailed(fields=errors)
        result = SchoolFeeService(session).issue_invoices(
            school,
            klass,
            period=values.get("period", "").strip(),
            due_date=due,
            item_ids=[_int(v) for v in form.getlist("item")],
            school_days=_int(form.get("school_days")),
            adjustments=adjustments,
            issued_by=staff.full_name,
            title=values.get("title", ""),
        )
    except ValidationFailed as exc:
        ctx = _issue_context(session, school, klass, values=values, errors={**errors, **exc.fields})
        return page(request, "payments/staff/issue.html", staff, ctx, status=422)
    flash(
        request,
        f"Đã lập {len(result.created)} thông báo thu"
        + (f"; bỏ qua {result.skipped} học sinh đã có thông báo kỳ này." if result.skipped else "."),
    )
    return redirect(
        request, f"/can-bo/thu-phi/truong/{school.id}/lop/{klass.id}?ky={values.get('period', '')}"
    )


# -- bank statements ----------------------------------------------------------------------------------------


@router.get("/truong/{school_id}/sao-ke")
def statement_form(request: Request, school_id: int, staff: Accountant, session: DbSession) -> Response:
    school = _school(session, staff, school_id)
    return page(request, "payments/staff/statement.html", staff, {"school": school, "errors": {}})


@router.post("/truong/{school_id}/sao-ke")
@accepts_files
def statement_import(
    request: Request, school_id: int, staff: Accountant, session: DbSession, form: Form
) -> Response:
    return _statement_import(request, school_id, staff, session, _upload(form))


def _statement_import(
    request: Request, school_id: int, staff: StaffMember, session: Any, upload: tuple[str, bytes] | None
) -> Response:
    school = _school(session, staff, school_id)
    if upload is None or len(upload[1]) > MAX_UPLOAD:
        return page(
            request,
            "payments/staff/statement.html",
            staff,
            {
                "school": school,
                "errors": {"file": "Vui lòng chọn tệp sao kê CSV của ngân hàng (tối đa 5 MB)."},
            },
            status=422,
        )
    try:
        statements = StatementService(session, get_gateway(request).transfer_provider().name)
        record = statements.import_statement(school, upload[0], upload[1], staff.full_name)
    except ValidationFailed as exc:
        return page(
            request,
            "payments/staff/statement.html",
            staff,
            {"school": school, "errors": exc.fields},
            status=422,
        )
    return redirect(request, f"/can-bo/thu-phi/truong/{school.id}/sao-ke/{record.id}")


@router.get("/truong/{school_id}/sao-ke/{import_id}")
def statement_result(
    request: Request, school_id: int, import_id: int, staff: Accountant, session: DbSession
) -> Response:
    school = _school(session, staff, school_id)
    repo = SchoolRepository(session)
    record = repo.statement_import(import_id)
    if record is None or record.school_id != school.id:
        raise NotFound()
    lines = repo.statement_lines(record.id)
    invoices = {i.id: i for i in repo.invoices(x.invoice_id for x in lines if x.invoice_id)}
    return page(
        request,
        "payments/staff/statement_result.html",
        staff,
        {
            "school": school,
            "record": record,
            "lines": lines,
            "invoices": invoices,
            "labels": RESULT_LABELS,
            "review": REVIEW_RESULTS,
            "matched": sum(1 for x in lines if x.result == "matched"),
        },
    )


# -- a payment: detail, approve, refund ---------------------------------------------------------------


def _payment_context(
    session: Any, payments: PaymentService, attempt: PaymentAttempt, **extra: Any
) -> dict[str, Any]:
    repo = payments.repo
    schools = SchoolRepository(session)
    invoices = schools.invoices(a.invoice_id for a in repo.allocations(attempt.id))
    app = session.get(Application, attempt.application_id) if attempt.application_id else None
    return {
        "attempt": attempt,
        "invoices": invoices,
        "app": app,
        "refunds": repo.refunds(attempt.id),
        "ledger": repo.ledger_for(attempt.id),
        "events": repo.events(attempt.id),
        "refundable": payments.refundable(attempt),
        "state_labels": STATE_LABELS,
        "refund_labels": REFUND_LABELS,
        "ledger_labels": LEDGER_LABELS,
        "settled_by_labels": SETTLED_BY_LABELS,
        "event_label": event_label,
        "values": {},
        "errors": {},
        **extra,
    }


@router.get("/giao-dich/{txn_ref}")
def payment_page(
    request: Request, txn_ref: str, staff: Accountant, session: DbSession, payments: Payments
) -> Response:
    attempt = _attempt(session, staff, txn_ref)
    return page(request, "payments/staff/payment.html", staff, _payment_context(session, payments, attempt))


@router.post("/giao-dich/{txn_ref}/duyet")
def approve(
    request: Request, txn_ref: str, staff: Accountant, session: DbSession, payments: Payments
) -> Response:
    attempt = _attempt(session, staff, txn_ref)
    try:
        payments.approve(attempt.id, staff.full_name)
    except Conflict as exc:
        flash(request, exc.message)
    else:
        flash(request, "Đã duyệt giao dịch; các khoản liên quan được ghi nhận đã thu.")
    return redirect(request, f"/can-bo/thu-phi/giao-dich/{txn_ref}")


@router.post("/giao-dich/{txn_ref}/hoan-tien")
async def refund(
    request: Request, txn_ref: str, staff: Accountant, session: DbSession, payments: Payments
) -> Response:
    form = await request.form()
    values = {"amount": str(form.get("amount") or ""), "reason": str(form.get("reason") or "")}
    attempt = await run_in_threadpool(_attempt, session, staff, txn_ref)
    attempt_id, staff_id, staff_name = attempt.id, staff.id, staff.full_name
    # the refund runs in its own transactions (no lock held while VNPay answers): free ours first
    await run_in_threadpool(session.commit)
    amount = parse_amount(values["amount"])
    try:
        if amount is None:
            raise ValidationFailed(fields={"amount": "Số tiền hoàn là số nguyên (đồng), ví dụ 10000."})
        done = await flows.refund(
            request.app.state.db,
            get_gateway(request),
            attempt_id,
            amount,
            values["reason"],
            staff_id=staff_id,
            staff_name=staff_name,
        )
    except ValidationFailed as exc:
        errors = exc.fields

        def again() -> Response:
            fresh = _attempt(session, staff, txn_ref)
            ctx = _payment_context(session, payments, fresh, values=values, errors=errors)
            return page(request, "payments/staff/payment.html", staff, ctx, status=422)

        return await run_in_threadpool(again)
    flash(
        request,
        f"Yêu cầu hoàn {i18n.money(done.amount)}: {REFUND_LABELS.get(done.state, done.state)}"
        + (f" ({done.message})" if done.message else "")
        + ".",
    )
    return redirect(request, f"/can-bo/thu-phi/giao-dich/{txn_ref}")
