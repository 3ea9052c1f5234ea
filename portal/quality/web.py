"""Citizen and public pages: rate a case, send and follow feedback, public statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.orm import object_session
from starlette.datastructures import FormData

from portal.deps import DbSession, Form, SettingsDep, client_ip, lookup_client
from portal.errors import Conflict, NotFound, RateLimited, ValidationFailed
from portal.quality import charts
from portal.quality.feedback import KIND_LABELS, STATUS_LABELS, FeedbackService, agencies_in_force
from portal.quality.models import FB_NEEDS_INFO
from portal.quality.repository import Filters, QualityRepository
from portal.quality.service import CRITERIA, LEVEL_LABELS, DashboardService, RatingService
from portal.quality.tracking import QualityContext
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.render import expires_at, flash, redirect, render
from workflows.calendar import now as vn_now
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

FEEDBACK_PER_HOUR = 10


def rating_service(request: Request, session: DbSession) -> RatingService:
    state = request.app.state
    return RatingService(
        QualityRepository(session), state.registry, state.settings.secret_key, state.settings.rating_edit_days
    )


def feedback_service(request: Request, session: DbSession) -> FeedbackService:
    state = request.app.state
    return FeedbackService(QualityRepository(session), state.registry, state.calendar)


def dashboard_service(request: Request, session: DbSession) -> DashboardService:
    return DashboardService(QualityRepository(session), request.app.state.registry)


Ratings = Annotated[RatingService, Depends(rating_service)]
FeedbackDep = Annotated[FeedbackService, Depends(feedback_service)]
Dashboards = Annotated[DashboardService, Depends(dashboard_service)]


def _limit(request: Request, session: Any, settings: Any, prefix: str = "track") -> None:
    limiter = RateLimiter(session)
    hits = limiter.hit(f"{prefix}:{lookup_client(request)}", window_seconds=settings.tracking_window_seconds)
    if hits > settings.tracking_max_lookups:
        raise RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút.")


def _phone(raw: str, errors: dict[str, str]) -> str:
    try:
        return normalise_phone(raw)
    except InvalidValue as exc:
        errors["phone"] = exc.message
        return ""


# -- ratings ----------------------------------------------------------------------------------


@router.get("/danh-gia")
def rating_lookup_form(request: Request, ma: str = "") -> Response:
    return render(request, "quality/rate_lookup.html", {"values": {"case_code": ma}, "errors": {}})


@router.post("/danh-gia")
def rating_lookup(
    request: Request, ratings: Ratings, settings: SettingsDep, session: DbSession, form: Form
) -> Response:
    values = {
        "case_code": str(form.get("case_code") or "").strip().upper(),
        "phone": str(form.get("phone") or ""),
    }
    errors: dict[str, str] = {}
    if not values["case_code"]:
        errors["case_code"] = "Vui lòng nhập mã hồ sơ, ví dụ H29.41.04-261128-0001."
    phone = _phone(values["phone"], errors)
    if errors:
        return render(request, "quality/rate_lookup.html", {"values": values, "errors": errors}, status=422)
    _limit(request, session, settings)
    app = ratings.case_for_code(values["case_code"], phone)
    if app is None:
        errors["case_code"] = "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này."
        return render(request, "quality/rate_lookup.html", {"values": values, "errors": errors}, status=404)
    return redirect(request, ratings.link(app.id) + "&qua=ma")


def _rating_context(
    request: Request,
    ratings: RatingService,
    app: Any,
    token: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    state = ratings.state(app, vn_now())
    definition = ratings.registry.get(app.procedure_code, app.definition_version)
    current = values
    if current is None and state.rating is not None:
        current = {c.key: getattr(state.rating, c.key) for c in CRITERIA} | {"comment": state.rating.comment}
    return {
        "app": app,
        "d": definition,
        "token": token,
        "state": state,
        "criteria": CRITERIA,
        "values": current or {},
        "errors": errors or {},
        "level_labels": LEVEL_LABELS,
        "edit_days": ratings.edit_days,
    }


RATING_TOKENS = "rating_tokens"  # session key: {application id: rating token} of links already opened


@router.get("/danh-gia/{application_id}")
def rating_page(request: Request, application_id: str, ratings: Ratings, t: str = "") -> Response:
    if t:
        # the link's token moves into the session, and the page is served at a clean URL: the
        # secret does not stay in history, bookmarks, Referer headers or logs
        app = ratings.case_for_token(application_id, t)
        tokens = {**request.session.get(RATING_TOKENS, {}), app.id: t}
        request.session[RATING_TOKENS] = dict(list(tokens.items())[-10:])
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "t"]
        return redirect(request, request.url.path + (f"?{urlencode(rest)}" if rest else ""))
    token = str(request.session.get(RATING_TOKENS, {}).get(application_id) or "")
    app = ratings.case_for_token(application_id, token)
    return render(request, "quality/rate.html", _rating_context(request, ratings, app, token))


@router.post("/danh-gia/{application_id}")
def rate(request: Request, application_id: str, ratings: Ratings, form: Form) -> Response:
    token = str(form.get("t") or request.query_params.get("t") or "")
    app = ratings.case_for_token(application_id, token)
    values = {c.key: str(form.get(c.key) or "") for c in CRITERIA} | {
        "comment": str(form.get("comment") or "")
    }
    via = "code" if form.get("via") == "code" else "link"
    try:
        ratings.save(app, values, via=via, now=vn_now(), actor_id=f"nguoi-nop:{app.id[:8]}")
    except ValidationFailed as exc:
        ctx = _rating_context(request, ratings, app, token, exc.fields, values)
        return render(request, "quality/rate.html", ctx, status=422)
    except Conflict as exc:
        ctx = _rating_context(request, ratings, app, token, {"overall": exc.message}, values)
        return render(request, "quality/rate.html", ctx, status=409)
    flash(request, "Cảm ơn bạn đã đánh giá. Ý kiến của bạn giúp cơ quan phục vụ tốt hơn.")
    return redirect(request, ratings.link(app.id))


@pass_context
def rating_link(template: Context, app: Any) -> dict[str, Any] | None:
    """Template helper (tracking page, receipt): the applicant's rating link and whether it is due now."""
    session = object_session(app) if app is not None else None
    request = template.get("request")
    if session is None or request is None or getattr(app, "is_draft", True):
        return None
    context: QualityContext = request.app.state.quality
    repo = QualityRepository(session)
    service = RatingService(
        repo, context.registry, context.settings.secret_key, context.settings.rating_edit_days
    )
    state = service.state(app, vn_now())
    if state.rating is not None and state.editable:
        expires_at(template, state.rating.editable_until)  # "edit your rating" goes with the time
    base = str(context.settings.base_url).rstrip("/")
    return {
        "path": service.link(app.id),
        "url": base + service.link(app.id),
        "due": state.rateable,
        "rated": state.rating is not None,
        "editable": state.editable,
    }


# -- feedback -----------------------------------------------------------------------------------


def _feedback_form_context(
    request: Request, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    registry = request.app.state.registry
    today = vn_now().date()
    procedures = sorted(((d.code, d.name.vi) for d in registry.in_force(today)), key=lambda p: p[1])
    agencies = sorted(agencies_in_force(registry, today).items(), key=lambda a: a[1])
    return {
        "values": values,
        "errors": errors,
        "procedures": procedures,
        "agencies": agencies,
        "kinds": KIND_LABELS,
    }


FEEDBACK_FIELDS = (
    "kind",
    "case_code",
    "procedure",
    "agency_id",
    "name",
    "phone",
    "email",
    "subject",
    "content",
    "consent",
)


@router.get("/phan-anh")
def feedback_form(request: Request, ma: str = "") -> Response:
    return render(
        request,
        "quality/feedback_form.html",
        _feedback_form_context(request, {"kind": "phan_anh", "case_code": ma[:48]}, {}),
    )


@router.post("/phan-anh")
def send_feedback(request: Request, service: FeedbackDep, session: DbSession, form: Form) -> Response:
    values = {k: str(form.get(k) or "") for k in FEEDBACK_FIELDS}
    if RateLimiter(session).hit(f"feedback:{client_ip(request)}", window_seconds=3600) > FEEDBACK_PER_HOUR:
        raise RateLimited("Bạn đã gửi quá nhiều phản ánh trong một giờ; vui lòng thử lại sau.")
    try:
        feedback = service.submit(values, now=vn_now())
    except ValidationFailed as exc:
        return render(
            request,
            "quality/feedback_form.html",
            _feedback_form_context(request, values, exc.fields),
            status=422,
        )
    flash(
        request,
        f"Đã gửi phản ánh, kiến nghị. Mã của bạn là {feedback.code}; hãy ghi lại mã này để theo dõi "
        "kết quả xử lý cùng số điện thoại đã khai.",
    )
    return redirect(request, f"/phan-anh/tra-cuu?ma={feedback.code}")


def _feedback_view(
    service: FeedbackService, feedback: Any, values: dict[str, str], errors: dict[str, str] | None = None
) -> dict[str, Any]:
    registry = service.registry
    agency = registry.agencies.get(feedback.agency_id)
    return {
        "values": values,
        "errors": errors or {},
        "feedback": feedback,
        "kinds": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "history": service.history(feedback, public_only=True),
        "agency_name": agency.name.vi if agency else feedback.agency_id,
        "needs_info": feedback.status == FB_NEEDS_INFO,
    }


@router.get("/phan-anh/tra-cuu")
def feedback_lookup_form(request: Request, ma: str = "") -> Response:
    return render(request, "quality/feedback_track.html", {"values": {"code": ma[:20]}, "errors": {}})


def _lookup(
    request: Request, service: FeedbackService, settings: Any, session: Any, form: FormData
) -> tuple[Any, dict[str, str], dict[str, str]]:
    values = {"code": str(form.get("code") or "").strip().upper(), "phone": str(form.get("phone") or "")}
    errors: dict[str, str] = {}
    if not values["code"]:
        errors["code"] = "Vui lòng nhập mã phản ánh, ví dụ PA-261203-AB12CD."
    phone = _phone(values["phone"], errors)
    if errors:
        return None, values, errors
    _limit(request, session, settings)
    feedback = service.track(values["code"], phone)
    if feedback is None:
        errors["code"] = "Không tìm thấy phản ánh với mã và số điện thoại này."
    return feedback, values, errors


@router.post("/phan-anh/tra-cuu")
def feedback_lookup(
    request: Request, service: FeedbackDep, settings: SettingsDep, session: DbSession, form: Form
) -> Response:
    feedback, values, errors = _lookup(request, service, settings, session, form)
    if feedback is None:
        return render(
            request,
            "quality/feedback_track.html",
            {"values": values, "errors": errors},
            status=404 if "code" in errors and values["code"] and "phone" not in errors else 422,
        )
    return render(request, "quality/feedback_track.html", _feedback_view(service, feedback, values))


@router.post("/phan-anh/tra-cuu/bo-sung")
def feedback_reply(
    request: Request, service: FeedbackDep, settings: SettingsDep, session: DbSession, form: Form
) -> Response:
    feedback, values, errors = _lookup(request, service, settings, session, form)
    if feedback is None:
        raise NotFound("Không tìm thấy phản ánh với mã và số điện thoại này.")
    try:
        service.reply(feedback, str(form.get("content") or ""), now=vn_now())
    except (ValidationFailed, Conflict) as exc:
        fields = exc.fields if isinstance(exc, ValidationFailed) else {"content": exc.message}
        return render(
            request,
            "quality/feedback_track.html",
            _feedback_view(service, feedback, values, fields),
            status=422 if isinstance(exc, ValidationFailed) else 409,
        )
    ctx = _feedback_view(service, feedback, values)
    ctx["notice"] = "Đã gửi thông tin bổ sung. Cơ quan tiếp tục xử lý phản ánh, kiến nghị của bạn."
    return render(request, "quality/feedback_track.html", ctx)


# -- public statistics ----------------------------------------------------------------------------


@router.get("/thong-ke")
def public_statistics(request: Request, dashboards: Dashboards, nam: str = "") -> Response:
    today = vn_now().date()
    year = int(nam) if nam.isdigit() and 2000 <= int(nam) <= today.year else today.year
    filters = Filters(date(year, 1, 1), date(year, 12, 1))
    dashboard = dashboards.build(filters, today)
    labels = [f"{r.key:%m}" for r in dashboard.by_month]
    received = charts.stacked_bars(
        f"Hồ sơ tiếp nhận theo tháng, năm {year}",
        labels,
        [
            ("Trực tuyến", [r.indicators.counts.online for r in dashboard.by_month]),
            ("Trực tiếp", [r.indicators.desk for r in dashboard.by_month]),
        ],
    )
    rates = charts.rate_lines(
        f"Tỷ lệ đúng hạn và mức độ hài lòng theo tháng, năm {year}",
        labels,
        [
            ("Đúng hạn", [r.indicators.on_time_rate for r in dashboard.by_month]),
            ("Hài lòng (QĐ 766)", [r.indicators.satisfaction for r in dashboard.by_month]),
        ],
    )
    return render(
        request,
        "quality/public.html",
        {
            "dashboard": dashboard,
            "year": year,
            "years": list(range(today.year, today.year - 5, -1)),
            "chart_received": received,
            "chart_rates": rates,
        },
    )
