"""Staff pages: the quality dashboard and its exports (heads, admins), ratings, the feedback queue."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from portal.deps import Form
from portal.errors import Conflict, ValidationFailed
from portal.quality import charts, exports
from portal.quality.feedback import FEEDBACK_ROLES, KIND_LABELS, STATUS_LABELS, FeedbackService
from portal.quality.indicators import __doc__ as INDICATOR_NOTES
from portal.quality.repository import Filters
from portal.quality.service import CRITERIA, LEVEL_LABELS, Dashboard, DashboardService
from portal.quality.web import Dashboards, FeedbackDep, Ratings
from portal.routing import Router
from portal.staff.auth import require_role
from portal.staff.layout import page
from portal.staff.models import CASE_ROLES, StaffMember
from portal.web import security
from portal.web.render import flash, redirect
from workflows.calendar import now as vn_now

router = Router(prefix="/can-bo", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

Head = Annotated[StaffMember, Depends(require_role("lanh_dao", "admin"))]
CaseWorker = Annotated[StaffMember, Depends(require_role(*CASE_ROLES))]
FeedbackHandler = Annotated[StaffMember, Depends(require_role(*FEEDBACK_ROLES))]
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# -- dashboard ---------------------------------------------------------------------------------


def _month(raw: str, default: date) -> date:
    found = MONTH.match(raw.strip())
    if found and 1 <= int(found.group(2)) <= 12 and 2000 <= int(found.group(1)) <= 2100:
        return date(int(found.group(1)), int(found.group(2)), 1)
    return default


def dashboard_filters(staff: StaffMember, tu: str, den: str, co_quan: str, thu_tuc: str) -> Filters:
    """The period (default: the last 12 months) and scope; heads only ever see their own agency."""
    today = vn_now().date()
    end_default = date(today.year, today.month, 1)
    first = end_default.year * 12 + end_default.month - 1 - 11
    start_default = date(first // 12, first % 12 + 1, 1)
    start, end = _month(tu, start_default), _month(den, end_default)
    if start > end:
        start, end = end, start
    if end.year * 12 + end.month - (start.year * 12 + start.month) > 59:  # five years at most
        start = date(end.year - 5, end.month, 1)
    agency = co_quan.strip()[:32] if staff.has_role("admin") else staff.agency_id
    return Filters(start, end, agency or None, thu_tuc.strip()[:20] or None)


def _notes() -> list[str]:
    text = INDICATOR_NOTES or ""
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


@router.get("/chat-luong")
def dashboard(
    request: Request,
    staff: Head,
    dashboards: Dashboards,
    tu: str = "",
    den: str = "",
    co_quan: str = "",
    thu_tuc: str = "",
) -> Response:
    filters = dashboard_filters(staff, tu, den, co_quan, thu_tuc)
    board = dashboards.build(filters, vn_now().date())
    registry = request.app.state.registry
    labels = [f"{r.key:%m/%y}" for r in board.by_month]
    ctx = {
        "board": board,
        "filters": filters,
        "query": request.url.query,
        "chart_received": charts.stacked_bars(
            "Hồ sơ tiếp nhận theo tháng",
            labels,
            [
                ("Trực tuyến", [r.indicators.counts.online for r in board.by_month]),
                ("Trực tiếp", [r.indicators.desk for r in board.by_month]),
            ],
        ),
        "chart_rates": charts.rate_lines(
            "Tỷ lệ đúng hạn, hài lòng (QĐ 766) và số hóa theo tháng",
            labels,
            [
                ("Đúng hạn", [r.indicators.on_time_rate for r in board.by_month]),
                ("Hài lòng", [r.indicators.satisfaction for r in board.by_month]),
                ("Số hóa", [r.indicators.digitisation_rate for r in board.by_month]),
            ],
        ),
        "agencies": sorted(((a.id, a.name.vi) for a in registry.agencies.values()), key=lambda a: a[1]),
        "procedures": sorted(
            ((c, dashboards.procedure_name(c)) for c in registry.codes()), key=lambda p: p[1]
        ),
        "may_pick_agency": staff.has_role("admin"),
        "notes": _notes(),
    }
    return page(request, "quality/dashboard.html", staff, ctx)


def _export(
    dashboards: DashboardService, staff: StaffMember, tu: str, den: str, co_quan: str, thu_tuc: str
) -> tuple[Dashboard, str]:
    filters = dashboard_filters(staff, tu, den, co_quan, thu_tuc)
    board = dashboards.build(filters, vn_now().date(), detail=True)
    name = f"chat-luong-{filters.start:%Y%m}-{filters.end:%Y%m}"
    return board, name


@router.get("/chat-luong/xuat.csv")
def export_csv(
    staff: Head, dashboards: Dashboards, tu: str = "", den: str = "", co_quan: str = "", thu_tuc: str = ""
) -> Response:
    board, name = _export(dashboards, staff, tu, den, co_quan, thu_tuc)
    body = exports.to_csv(board, dashboards.agency_name, dashboards.procedure_name)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/chat-luong/xuat.xlsx")
def export_xlsx(
    staff: Head, dashboards: Dashboards, tu: str = "", den: str = "", co_quan: str = "", thu_tuc: str = ""
) -> Response:
    board, name = _export(dashboards, staff, tu, den, co_quan, thu_tuc)
    body = exports.to_xlsx(board, dashboards.agency_name, dashboards.procedure_name, _notes())
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


# -- ratings of the agency's cases --------------------------------------------------------------


@router.get("/danh-gia")
def ratings_page(request: Request, staff: CaseWorker, ratings: Ratings, truoc: str = "") -> Response:
    before = int(truoc) if truoc.isdigit() else None
    rows = ratings.for_agency(staff.agency_id, before_id=before)
    return page(
        request,
        "quality/staff_ratings.html",
        staff,
        {
            "rows": rows,
            "criteria": CRITERIA,
            "level_labels": LEVEL_LABELS,
            "choice_labels": {c.key: dict(c.choices) for c in CRITERIA},
            "next_before": rows[-1]["rating"].id if len(rows) == 50 else None,
        },
    )


# -- feedback queue ---------------------------------------------------------------------------------


@router.get("/phan-anh")
def feedback_queue(
    request: Request, staff: FeedbackHandler, service: FeedbackDep, hang: str = "dang-xu-ly"
) -> Response:
    now = vn_now()
    return page(
        request,
        "quality/staff_feedback_queue.html",
        staff,
        {
            "rows": service.queue(staff.agency_id, hang),
            "hang": hang,
            "counts": service.counts(staff.agency_id, now),
            "kinds": KIND_LABELS,
            "status_labels": STATUS_LABELS,
            "today": now.date(),
        },
    )


def _feedback_page(
    request: Request,
    staff: StaffMember,
    service: FeedbackService,
    feedback: Any,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    now = vn_now()
    case_code = None
    if feedback.application_id:
        app = service.repo.application(feedback.application_id)
        case_code = app.case_code if app else None
    return page(
        request,
        "quality/staff_feedback.html",
        staff,
        {
            "feedback": feedback,
            "actions": service.actions(feedback, now),
            "history": service.history(feedback, public_only=False),
            "kinds": KIND_LABELS,
            "status_labels": STATUS_LABELS,
            "errors": errors or {},
            "values": values or {},
            "today": now.date(),
            "case_code": case_code,
            "procedure_name": service.registry.versions(feedback.procedure_code)[-1].name.vi
            if feedback.procedure_code and feedback.procedure_code in service.registry.codes()
            else "",
        },
        status=status,
    )


@router.get("/phan-anh/{feedback_id}")
def feedback_detail(
    request: Request, feedback_id: int, staff: FeedbackHandler, service: FeedbackDep
) -> Response:
    return _feedback_page(request, staff, service, service.for_staff(staff, feedback_id))


@router.post("/phan-anh/{feedback_id}/thao-tac/{action}")
def feedback_act(
    request: Request, feedback_id: int, action: str, staff: FeedbackHandler, service: FeedbackDep, form: Form
) -> Response:
    feedback = service.for_staff(staff, feedback_id)
    comment = str(form.get("comment") or "")
    raw_version = str(form.get("version") or "")
    try:
        service.act(
            staff,
            feedback,
            action,
            comment,
            version=int(raw_version) if raw_version.isdigit() else -1,
            now=vn_now(),
        )
    except ValidationFailed as exc:
        return _feedback_page(
            request,
            staff,
            service,
            feedback,
            {f"comment-{action}": m for m in exc.fields.values()},
            {"action": action, "comment": comment},
            status=422,
        )
    except Conflict as exc:
        return _feedback_page(
            request,
            staff,
            service,
            feedback,
            {f"comment-{action}": exc.message},
            {"action": action, "comment": comment},
            status=409,
        )
    flash(request, f"Đã cập nhật phản ánh {feedback.code}: {STATUS_LABELS[feedback.status].lower()}.")
    return redirect(request, f"/can-bo/phan-anh/{feedback.id}")
