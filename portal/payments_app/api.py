"""JSON API for the assistant: a student's invoices by student code + the link code on the school's notice
(the parent's phone is no proof: anyone may know it)."""

from __future__ import annotations

from datetime import date

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from portal import i18n
from portal.api.common import ERRORS
from portal.deps import DbSession, SettingsDep, lookup_client
from portal.errors import PortalError, RateLimited
from portal.payments_app.repository import SchoolRepository
from portal.payments_app.schools import SchoolFeeService, link_attempts_exceeded, link_token
from portal.payments_app.schools import link_code as normalise_link_code
from portal.ratelimit import RateLimiter
from portal.routing import Router

router = Router(prefix="/api/v1/fees", tags=["school fees"])

STATUS_LABELS = {"unpaid": "Chưa nộp", "paid": "Đã nộp", "cancelled": "Đã hủy"}


class InvoiceOut(BaseModel):
    reference: str
    title: str
    amount: int
    amount_text: str
    due_date: date | None
    due_date_text: str  # dd/mm/yyyy, "" when there is none: what the assistant says
    status: str
    status_label: str
    pay_url: str | None


def _not_found() -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": "student_not_found",
                "message": "Không tìm thấy học sinh với mã học sinh và mã liên kết phụ huynh này.",
            }
        },
        status_code=404,
    )


def _error(exc: PortalError) -> JSONResponse:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)


@router.get(
    "/invoices",
    responses=ERRORS,
    summary="A student's invoices (student code + the parent link code printed on the school's notice)",
)
def student_invoices(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    student_code: str = Query(..., max_length=20),
    link_code: str = Query("", max_length=20),
) -> JSONResponse:
    """Items newest first; `pay_url` opens the portal's payment page for one item (or all unpaid).
    Wrong or missing link codes are counted per student, also for the assistant (it relays anyone)."""
    code = student_code.strip().upper()
    # the same limits as the page; the assistant's lookups count against the person it acts for
    if link_attempts_exceeded(RateLimiter(session), settings, lookup_client(request), code):
        return _error(RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút."))
    entered = normalise_link_code(link_code)
    if entered is None:
        return _not_found()
    student = SchoolFeeService(session).find_student(code, entered)
    if student is None:
        return _not_found()  # answered, not raised: the rate-limit hits above are committed
    repo = SchoolRepository(session)
    school, klass = repo.school(student.school_id), repo.school_class(student.class_id)
    base = str(settings.base_url).rstrip("/")
    link = f"{base}/hoc-phi/hs/{student.code}?k={link_token(settings.secret_key, 'student', student.code)}"
    invoices = repo.invoices_for_students([student.id], ("unpaid", "paid"))
    items = [
        InvoiceOut(
            reference=i.reference,
            title=i.title,
            amount=i.amount,
            amount_text=i18n.money(i.amount),
            due_date=i.due_date,
            due_date_text=i18n.fmt_date(i.due_date) if i.due_date else "",
            status=i.status,
            status_label=STATUS_LABELS.get(i.status, i.status),
            pay_url=f"{link}&chon={i.reference}" if i.status == "unpaid" else None,
        ).model_dump(mode="json")
        for i in reversed(invoices)
    ]
    total = sum(i.amount for i in invoices if i.status == "unpaid")
    return JSONResponse(
        {
            "student": {
                "code": student.code,
                "name": student.full_name,
                "school": school.name if school else "",
                "class": klass.name if klass else "",
            },
            "items": items,
            "total_due": total,
            "total_due_text": i18n.money(total),
            "pay_url": link if total else None,
        }
    )
