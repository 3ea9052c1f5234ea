"""Staff pages under /can-bo: queues, the case page and its actions, documents, administration."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from portal.applications.repository import ApplicationRepository
from portal.backoffice import documents
from portal.backoffice.deps import Cases, Queues
from portal.backoffice.effects import DefaultEffects
from portal.backoffice.queues import DEADLINE_FILTERS, QUEUES, QueueParams, WorkflowIndex
from portal.backoffice.repository import AuditRepository
from portal.backoffice.service import CaseService
from portal.deps import DbSession, Form, client_ip
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.models import Application, CaseEvent
from portal.routing import Router
from portal.services import Services
from portal.staff import audit
from portal.staff.auth import current_session, require_role
from portal.staff.layout import page
from portal.staff.models import CASE_ROLES, STAFF_ROLES, StaffMember
from portal.staff.repository import StaffRepository
from portal.staff.security import StaffSecurity
from portal.staff.web import Security, Staff
from portal.web import security
from portal.web.render import flash, is_htmx, redirect
from workflows.calendar import VN_TZ
from workflows.calendar import today as vn_today
from workflows.engine import ROLE_LABELS, ActionInputs, WorkflowError

router = Router(prefix="/can-bo", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'"
)
CaseWorker = Annotated[StaffMember, Depends(require_role(*CASE_ROLES))]
Admin = Annotated[StaffMember, Depends(require_role("admin"))]


# -- queues ----------------------------------------------------------------------------------------


@router.get("/ho-so")
def queue(
    request: Request,
    staff: CaseWorker,
    queues: Queues,
    hang: str = "",
    trang_thai: str = "",
    thu_tuc: str = "",
    han: str = "",
    q: str = "",
    ca_da_xong: str = "",
    sau: str = "",
) -> Response:
    counts = queues.counts(staff)
    filtered = bool(trang_thai or thu_tuc or han or q or ca_da_xong or sau)
    if hang not in QUEUES:
        # Landing on the queues: one's own work first (UX review: everyone landed on "all cases", where a
        # specialist's one assigned case hid among the rest), then what one's role may take, then all.
        hang = "dang-xu-ly"
        if not filtered:
            hang = "cua-toi" if counts.mine else "chua-phan-cong" if counts.unassigned else "dang-xu-ly"
    params = QueueParams(
        queue=hang,
        status=trang_thai[:40],
        procedure=thu_tuc[:20],
        deadline=han if han in DEADLINE_FILTERS else "",
        q=q[:100],
        include_closed=bool(ca_da_xong),
        after=sau[:200],
    )
    result = queues.page(staff, params)
    ctx = {
        "result": result,
        "counts": counts,
        "QUEUES": QUEUES,
        "params": params,
        "index": queues.index,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "results":
        return page(request, "staff/queue.html", staff, ctx, block="results")
    return page(request, "staff/queue.html", staff, ctx)


# -- the case page and its actions -----------------------------------------------------------------


def _case_context(
    request: Request,
    staff: StaffMember,
    cases: CaseService,
    app: Application,
    *,
    errors: dict[str, str] | None = None,
    active: str = "",
    values: dict[str, Any] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    definition = cases.definition_of(app)
    events = cases.events(app)
    attachments = ApplicationRepository(cases.session).attachments(app.id)
    requested = [e for e in events if (e.details or {}).get("supplement_request")]
    requested_at = requested[-1].at if requested else None
    names = StaffRepository(cases.session).names([app.assignee_id] if app.assignee_id else [])
    cases.log_view(staff, app, "xem hồ sơ", client_ip(request))
    return {
        "app": app,
        "d": definition,
        "state": definition.workflow.state(app.status),
        "agency": cases.registry.agencies.get(app.agency_id or ""),
        "events": events,
        "attachments": attachments,
        "supplement_since": requested_at,
        "deadline": cases.deadline(app, events),
        "offered": cases.offered_actions(staff, app, events),
        "documents": documents.available(app, events),
        "assignee_name": names.get(app.assignee_id or 0, ""),
        "errors": errors or {},
        "active": active,
        "values": values or {},
        "notice": notice,
        "ROLE_LABELS": ROLE_LABELS,
        "supplement_items": (requested[-1].details or {}).get("items", []) if requested else [],
        "state_label": lambda key: _state_label(definition, key),
        "signed_result": _signed_result(cases.session, app.id),
    }


def _state_label(definition: Any, key: str | None) -> str:
    if not key:
        return ""
    if key == "draft":  # before submission: not a state of the procedure's workflow
        return "Bản nháp"
    try:
        return str(definition.workflow.state(key).label.vi)
    except KeyError:
        return key


@router.get("/ho-so/{application_id}")
def case_page(request: Request, application_id: str, staff: CaseWorker, cases: Cases) -> Response:
    app = cases.case_for_staff(staff, application_id)
    return page(request, "staff/case.html", staff, _case_context(request, staff, cases, app))


def _parse_date(raw: str) -> date | None:
    raw = raw.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(raw, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None


def action_inputs(form: FormData) -> tuple[ActionInputs, dict[str, str]]:
    """The action form's inputs, and field errors for values that cannot even be parsed."""
    errors: dict[str, str] = {}
    lines = [line.strip() for line in str(form.get("items") or "").splitlines()]
    items = tuple(str(v) for v in form.getlist("item_docs") if isinstance(v, str)) + tuple(
        x for x in lines if x
    )
    raw_date = str(form.get("new_date") or "")
    new_date = _parse_date(raw_date) if raw_date else None
    if raw_date and new_date is None:
        errors["new_date"] = "Ngày hẹn mới không hợp lệ; vui lòng nhập theo dạng dd/mm/yyyy."
    inputs = ActionInputs(
        comment=str(form.get("comment") or ""),
        reason=str(form.get("reason") or "") or None,
        items=items,
        new_date=new_date,
        assignee=str(form.get("assignee") or "") or None,
    )
    return inputs, errors


@router.post("/ho-so/{application_id}/thao-tac/{action_key}")
def take_action(
    request: Request, application_id: str, action_key: str, staff: CaseWorker, cases: Cases, form: Form
) -> Response:
    # a plain def: effects (signing, PDF rendering) are blocking and run in the thread pool
    app = cases.case_for_staff(staff, application_id)
    values: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}
    values["item_docs"] = [v for v in form.getlist("item_docs") if isinstance(v, str)]
    inputs, parse_errors = action_inputs(form)
    try:
        version = int(str(form.get("version") or ""))
    except ValueError:
        version = -1
    status, notice, errors = 200, "", {}
    if parse_errors:
        status, errors = 422, {f"{action_key}-{k}": v for k, v in parse_errors.items()}
    else:
        try:
            transition = cases.act(staff, app, action_key, inputs, version)
        except WorkflowError as exc:
            field = getattr(exc, "field", None)
            status = exc.status_code
            if field:
                errors = {f"{action_key}-{field}": exc.message}
            else:
                notice = exc.message
        except Conflict as exc:
            status, notice = 409, exc.message
        else:
            flash(request, f"Đã thực hiện «{transition.action_label}» cho hồ sơ {app.case_code}.")
            return redirect(request, f"/can-bo/ho-so/{app.id}")
    ctx = _case_context(
        request, staff, cases, app, errors=errors, active=action_key, values=values, notice=notice
    )
    return page(request, "staff/case.html", staff, ctx, status=status)


@router.get("/ho-so/{application_id}/tep/{attachment_id}")
def attachment(
    request: Request, application_id: str, attachment_id: str, staff: CaseWorker, cases: Cases
) -> Response:
    app = cases.case_for_staff(staff, application_id)
    found = ApplicationRepository(cases.session).attachment(app.id, attachment_id)
    if found is None:
        raise NotFound()
    cases.log_view(staff, app, f"tải tệp {found.document_key}", client_ip(request))
    content = request.app.state.files.read(found.storage_key)
    return Response(
        content,
        media_type=found.content_type,
        headers={"Content-Disposition": f'inline; filename="{found.id}"', "Cache-Control": "no-store"},
    )


def _signed_result(session: Any, application_id: str) -> Any | None:
    """The current signed result (portal.signing), or None when there is none or signing is not installed."""
    try:
        from portal.signing import service as signing
    except ModuleNotFoundError:
        return None
    return signing.current_result(session, application_id)


@router.get("/ho-so/{application_id}/ket-qua.pdf")
def signed_result(request: Request, application_id: str, staff: CaseWorker, cases: Cases) -> Response:
    app = cases.case_for_staff(staff, application_id)
    document = _signed_result(cases.session, app.id)
    if document is None:
        raise NotFound("Hồ sơ này chưa có văn bản kết quả đã ký số.")
    from portal.signing import service as signing

    cases.log_view(staff, app, "văn bản kết quả", client_ip(request))
    return Response(
        signing.read_result(request.app.state.settings, document),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="ket-qua-{app.case_code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _document(
    request: Request, staff: StaffMember, cases: Cases, application_id: str, kind_slug: str
) -> tuple[documents.DocumentKind, dict[str, Any], Application]:
    app = cases.case_for_staff(staff, application_id)
    kind = documents.KINDS.get(kind_slug)
    if kind is None:
        raise NotFound()
    events: list[CaseEvent] = cases.events(app)
    attachments = ApplicationRepository(cases.session).attachments(app.id)
    ctx = documents.document_context(
        kind,
        app,
        cases.definition_of(app),
        events,
        attachments,
        cases.registry,
        cases.calendar,
        cases.base_url,
    )
    cases.log_view(staff, app, f"văn bản {kind.slug}", client_ip(request))
    return kind, ctx, app


@router.get("/ho-so/{application_id}/van-ban/{kind_slug}.pdf")
def document_pdf(
    request: Request, application_id: str, kind_slug: str, staff: CaseWorker, cases: Cases
) -> Response:
    kind, ctx, app = _document(request, staff, cases, application_id, kind_slug)
    return Response(
        documents.render_document_pdf(kind, ctx),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{kind.slug}-{app.case_code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/ho-so/{application_id}/van-ban/{kind_slug}")
def document_page(
    request: Request, application_id: str, kind_slug: str, staff: CaseWorker, cases: Cases
) -> Response:
    kind, ctx, _ = _document(request, staff, cases, application_id, kind_slug)
    return Response(
        documents.render_html(kind, ctx),
        media_type="text/html; charset=utf-8",
        # the print layout's own <style>; nothing else may load or run
        headers={"Cache-Control": "no-store", "Content-Security-Policy": DOCUMENT_CSP},
    )


# -- administration ---------------------------------------------------------------------------------


def _staff_values(form: FormData) -> dict[str, Any]:
    return {
        "login": str(form.get("login") or ""),
        "full_name": str(form.get("full_name") or ""),
        "email": str(form.get("email") or ""),
        "agency_id": str(form.get("agency_id") or ""),
        "roles": [r for r in form.getlist("roles") if isinstance(r, str)],
    }


def _admin_ctx(request: Request, **extra: Any) -> dict[str, Any]:
    registry = request.app.state.registry
    return {"agencies": list(registry.agencies.values()), "STAFF_ROLES": STAFF_ROLES, **extra}


@router.get("/quan-tri")
def admin_root(request: Request, staff: Admin) -> Response:
    return redirect(request, "/can-bo/quan-tri/can-bo")


@router.get("/quan-tri/can-bo")
def staff_list(request: Request, staff: Admin, session: DbSession, co_quan: str = "") -> Response:
    members = StaffRepository(session).list(co_quan or None)
    return page(
        request, "staff/admin_staff.html", staff, _admin_ctx(request, members=members, agency_filter=co_quan)
    )


@router.get("/quan-tri/can-bo/moi")
def staff_new(request: Request, staff: Admin) -> Response:
    ctx = _admin_ctx(request, member=None, values={"agency_id": staff.agency_id, "roles": []}, errors={})
    return page(request, "staff/admin_staff_form.html", staff, ctx)


@router.post("/quan-tri/can-bo/moi")
def staff_create(request: Request, staff: Admin, service: Staff, form: Form) -> Response:
    values = _staff_values(form)
    try:
        member = service.create(**values, password=str(form.get("password") or ""))
    except ValidationFailed as exc:
        ctx = _admin_ctx(request, member=None, values=values, errors=exc.fields)
        return page(request, "staff/admin_staff_form.html", staff, ctx, status=422)
    audit.record(
        request,
        service.repo.session,
        staff,
        "staff.create",
        member.login,
        {"agency": member.agency_id, "roles": member.roles},
    )
    flash(request, f"Đã tạo tài khoản cán bộ {member.login}.")
    return redirect(request, f"/can-bo/quan-tri/can-bo/{member.id}")


@router.get("/quan-tri/can-bo/{staff_id}")
def staff_edit(request: Request, staff_id: int, staff: Admin, service: Staff, checks: Security) -> Response:
    return _staff_edit_page(request, staff, service.get(staff_id), checks)


def _staff_edit_page(
    request: Request,
    staff: StaffMember,
    member: StaffMember,
    checks: StaffSecurity,
    new_password: str | None = None,
) -> Response:
    values = {
        "login": member.login,
        "full_name": member.full_name,
        "email": member.email or "",
        "agency_id": member.agency_id,
        "roles": member.roles,
    }
    return page(
        request,
        "staff/admin_staff_form.html",
        staff,
        _admin_ctx(
            request,
            member=member,
            values=values,
            errors={},
            new_password=new_password,
            two_factor_required=checks.needs_two_factor(member),
            codes_left=checks.recovery_codes_left(member),
            sessions=checks.open_sessions(member.id),
        ),
    )


@router.post("/quan-tri/can-bo/{staff_id}")
def staff_update(request: Request, staff_id: int, staff: Admin, service: Staff, form: Form) -> Response:
    member = service.get(staff_id)
    values = {**_staff_values(form), "login": member.login, "agency_id": member.agency_id}
    before = {"full_name": member.full_name, "email": member.email or "", "roles": member.roles}
    try:
        service.update(
            member, full_name=values["full_name"], email=values["email"], roles=values["roles"], by=staff
        )
    except ValidationFailed as exc:
        ctx = _admin_ctx(request, member=member, values=values, errors=exc.fields)
        return page(request, "staff/admin_staff_form.html", staff, ctx, status=422)
    after = {"full_name": member.full_name, "email": member.email or "", "roles": member.roles}
    changed = {k: f"{_shown(before[k])} → {_shown(after[k])}" for k in before if before[k] != after[k]}
    audit.record(request, service.repo.session, staff, "staff.update", member.login, changed)
    flash(request, "Đã lưu thông tin cán bộ.")
    return redirect(request, f"/can-bo/quan-tri/can-bo/{member.id}")


@router.post("/quan-tri/can-bo/{staff_id}/trang-thai")
def staff_set_active(
    request: Request, staff_id: int, staff: Admin, service: Staff, checks: Security, form: Form
) -> Response:
    member = service.get(staff_id)
    active = str(form.get("active") or "") == "1"
    service.set_active(member, active, by=staff)
    if not active:
        checks.revoke_all(member, by=staff)
    action = "staff.unlock" if active else "staff.lock"
    audit.record(request, service.repo.session, staff, action, member.login)
    flash(request, f"Đã {'mở khoá' if active else 'khoá'} tài khoản {member.login}.")
    return redirect(request, f"/can-bo/quan-tri/can-bo/{member.id}")


@router.post("/quan-tri/can-bo/{staff_id}/dat-lai-mat-khau")
def staff_reset_password(
    request: Request, staff_id: int, staff: Admin, service: Staff, checks: Security
) -> Response:
    member = service.get(staff_id)
    password = service.reset_password(member)
    checks.revoke_all(member, by=staff)
    audit.record(request, service.repo.session, staff, "staff.reset_password", member.login)
    # shown in this answer only (not stored, see SecurityHeaders' no-store): the session cookie is
    # signed, not encrypted, so a password put there could be read by anyone who sees the cookie
    return _staff_edit_page(request, staff, member, checks, new_password=password)


@router.post("/quan-tri/can-bo/{staff_id}/dat-lai-xac-thuc")
def staff_reset_two_factor(
    request: Request, staff_id: int, staff: Admin, service: Staff, checks: Security
) -> Response:
    """The member lost their phone and their recovery codes: they enrol again at the next sign-in."""
    member = service.get(staff_id)
    checks.reset(member, by=staff)
    audit.record(request, service.repo.session, staff, "staff.reset_2fa", member.login)
    flash(
        request,
        f"Đã đặt lại xác thực hai bước của {member.login}; cán bộ sẽ đăng ký lại ở lần đăng nhập tới.",
    )
    return redirect(request, f"/can-bo/quan-tri/can-bo/{member.id}")


@router.post("/quan-tri/can-bo/{staff_id}/thu-hoi-phien")
def staff_revoke_sessions(
    request: Request, staff_id: int, staff: Admin, service: Staff, checks: Security
) -> Response:
    member = service.get(staff_id)
    this = current_session(request)
    ended = checks.revoke_all(member, by=staff, keep=this.id if this and member.id == staff.id else None)
    details = {"sessions": ended}
    audit.record(request, service.repo.session, staff, "session.revoke_all", member.login, details)
    flash(request, f"Đã thu hồi {ended} phiên đăng nhập của {member.login}.")
    return redirect(request, f"/can-bo/quan-tri/can-bo/{member.id}")


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


@router.get("/quan-tri/phien")
def open_sessions(request: Request, staff: Admin, checks: Security) -> Response:
    ctx = {"sessions": checks.open_sessions()}
    return page(request, "staff/admin_sessions.html", staff, ctx)


@router.post("/quan-tri/phien/{session_id}/thu-hoi")
def revoke_session(request: Request, session_id: int, staff: Admin, checks: Security) -> Response:
    row = checks.revoke(session_id, by=staff)
    if row is None:
        flash(request, "Phiên này đã kết thúc.")
        return redirect(request, "/can-bo/quan-tri/phien")
    member = checks.repo.get(row.staff_id)
    target = member.login if member else str(row.staff_id)
    details = {"session": row.id, "ip": row.client_ip or ""}
    audit.record(request, checks.repo.session, staff, "session.revoke", target, details)
    flash(request, f"Đã thu hồi một phiên đăng nhập của {target}.")
    return redirect(request, "/can-bo/quan-tri/phien")


@router.get("/quan-tri/nhat-ky-quan-tri")
def admin_audit(
    request: Request,
    staff: Admin,
    session: DbSession,
    nguoi: str = "",
    thao_tac: str = "",
    tu: str = "",
    den: str = "",
    truoc: int | None = None,
) -> Response:
    filters = {"nguoi": nguoi[:100], "thao_tac": thao_tac[:40], "tu": tu[:10], "den": den[:10]}
    errors: dict[str, str] = {}
    since_day = _parse_date(tu) if tu.strip() else None
    until_day = _parse_date(den) if den.strip() else None
    if tu.strip() and since_day is None:
        errors["tu"] = "Ngày không hợp lệ; vui lòng nhập theo dạng dd/mm/yyyy."
    if den.strip() and until_day is None:
        errors["den"] = "Ngày không hợp lệ; vui lòng nhập theo dạng dd/mm/yyyy."
    rows = StaffRepository(session).audit_page(
        before_id=truoc,
        actor=nguoi.strip().lower() or None,
        action=thao_tac if thao_tac in audit.ACTIONS else None,
        since=_day_start(since_day) if since_day else None,
        until=_day_start(until_day, plus_days=1) if until_day else None,
    )
    more = len(rows) > 50
    rows = rows[:50]
    ctx = {
        "rows": rows,
        "filters": filters,
        "errors": errors,
        "ACTIONS": audit.ACTIONS,
        "next_before": rows[-1].id if more and rows else None,
    }
    return page(request, "staff/admin_audit.html", staff, ctx, status=422 if errors else 200)


def _day_start(day: date, plus_days: int = 0) -> datetime:
    """Midnight in Vietnam starting ``day`` (+ ``plus_days``): the audit's dates are Vietnam's."""
    return datetime.combine(day, datetime.min.time(), VN_TZ) + timedelta(days=plus_days)


@router.get("/quan-tri/co-quan")
def agencies(request: Request, staff: Admin, session: DbSession) -> Response:
    counts = StaffRepository(session).counts_by_agency()
    today = vn_today()
    return page(request, "staff/admin_agencies.html", staff, _admin_ctx(request, counts=counts, today=today))


@router.get("/quan-tri/nhat-ky")
def access_log(
    request: Request,
    staff: Admin,
    session: DbSession,
    ma: str = "",
    can_bo: str = "",
    truoc: int | None = None,
) -> Response:
    rows = AuditRepository(session).page(
        before_id=truoc, case_code=ma.strip().upper() or None, staff_login=can_bo.strip().lower() or None
    )
    more = len(rows) > 50
    rows = rows[:50]
    return page(
        request,
        "staff/admin_log.html",
        staff,
        {"rows": rows, "ma": ma, "can_bo": can_bo, "next_before": rows[-1].id if more and rows else None},
    )


def install(app: FastAPI, services: Services) -> None:
    """The state the pages need (``backoffice_effects``: tests may wrap it). Staff login: portal.staff."""
    app.state.backoffice_index = WorkflowIndex(services.registry)
    app.state.backoffice_effects = DefaultEffects(services.settings, services.catalogue, services.mailer)
