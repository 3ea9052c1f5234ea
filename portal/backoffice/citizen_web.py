"""The applicant's side of a case in progress: supplement the dossier, withdraw, download the letters.

Access: the applicant's account, the private link of the dossier, or a case
code + phone number check (like tracking), which grants this browser session
access to that one case.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from portal.applications.service import ApplicationService, Upload
from portal.backoffice import documents
from portal.backoffice.deps import Cases
from portal.deps import Applications, Form, SettingsDep, lookup_client
from portal.errors import Conflict, NotFound, RateLimited
from portal.models import Application
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.access import grant_case_access, open_case
from portal.web.bodies import accepts_files
from portal.web.render import flash, redirect, render
from workflows import engine
from workflows.definitions import Definition
from workflows.engine import ActionInputs, WorkflowError
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


def citizen_actions(definition: Definition, app: Application) -> list[str]:
    """Keys of the actions the applicant may take now (template helper for tracking/receipt pages)."""
    if app.is_draft:
        return []
    return [a.key for a in engine.available_actions(definition.workflow, app.status, "citizen")]


def _version(raw: object) -> int:
    """The version the page was rendered with; a stale page then gets the conflict message."""
    return int(raw) if isinstance(raw, str) and raw.isdigit() else -1


def _actor(request: Request, app: Application) -> str:
    cid = security.current_citizen_id(request)
    return str(cid) if cid is not None and cid == app.citizen_id else f"nguoi-nop:{app.id[:8]}"


@router.post("/ho-so/mo-bang-ma")
def open_with_code(request: Request, service: Applications, settings: SettingsDep, form: Form) -> Response:
    """From the tracking page: check code + phone again, then let this session act on that case."""
    code = str(form.get("case_code") or "").strip().upper()
    target = "rut" if form.get("next") == "rut" else "bo-sung"
    try:
        phone = normalise_phone(str(form.get("phone") or ""))
    except InvalidValue:
        phone = ""
    limiter = RateLimiter(service.repo.session)
    if (
        limiter.hit(f"track:{lookup_client(request)}", window_seconds=settings.tracking_window_seconds)
        > settings.tracking_max_lookups
    ):
        raise RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút.")
    app = service.track(code, phone) if code and phone else None
    if app is None:
        raise NotFound("Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này.")
    grant_case_access(request, app.id)
    return redirect(request, f"/ho-so/{app.id}/{target}")


def _supplement_context(
    app: Application,
    service: ApplicationService,
    cases: Any,
    errors: dict[str, str] | None = None,
    comment: str = "",
) -> dict[str, Any]:
    events = cases.events(app)
    requests = [e for e in events if (e.details or {}).get("supplement_request")]
    request_event = requests[-1] if requests else None
    attachments = service.repo.attachments(app.id)
    since = request_event.at if request_event else None
    return {
        "app": app,
        "d": service.definition_of(app),
        "request_event": request_event,
        "items": (request_event.details or {}).get("items", []) if request_event else [],
        "new_files": [a for a in attachments if since is not None and a.created_at >= since],
        "old_files": [a for a in attachments if since is None or a.created_at < since],
        "status_label": service.status_label(app),
        "errors": errors or {},
        "comment": comment,
        "can_submit": "submit_supplement" in citizen_actions(service.definition_of(app), app),
    }


@router.get("/ho-so/{application_id}/bo-sung")
def supplement_page(request: Request, application_id: str, service: Applications, cases: Cases) -> Response:
    app = open_case(request, application_id, service)
    return render(request, "citizen/supplement.html", _supplement_context(app, service, cases))


@router.post("/ho-so/{application_id}/bo-sung")
@accepts_files
def supplement(
    request: Request, application_id: str, service: Applications, cases: Cases, form: Form
) -> Response:
    app = open_case(request, application_id, service)
    intent = str(form.get("intent") or "upload")
    comment = str(form.get("comment") or "")
    if "submit_supplement" not in citizen_actions(service.definition_of(app), app):
        ctx = _supplement_context(
            app, service, cases, {"files": "Hồ sơ không ở trạng thái chờ bổ sung."}, comment
        )
        return render(request, "citizen/supplement.html", ctx, status=409)
    errors: dict[str, str] = {}
    for key, value in form.multi_items():
        if key.startswith("doc_") and not isinstance(value, str) and value.filename:
            # streamed to storage by attach(), hashed as it is written
            _, error = service.attach(app, Upload(key[4:], value.filename, size=value.size, file=value.file))
            if error:
                errors[key] = error
    ctx = _supplement_context(app, service, cases)
    if intent.startswith("remove:"):
        wanted = intent.split(":", 1)[1]
        if any(a.id == wanted for a in ctx["new_files"]):  # the original dossier stays as it was received
            service.remove_attachment(app, wanted)
    if errors or intent != "submit":
        if not errors:
            flash(request, "Đã lưu tệp bổ sung. Khi đủ giấy tờ, bấm «Nộp bổ sung».")
            return redirect(request, f"/ho-so/{app.id}/bo-sung")
        return render(
            request,
            "citizen/supplement.html",
            _supplement_context(app, service, cases, errors, comment),
            status=422,
        )
    new_keys = tuple(
        dict.fromkeys(a.document_key for a in _supplement_context(app, service, cases)["new_files"])
    )
    if not new_keys and not comment.strip():
        errors["files"] = "Vui lòng đính kèm giấy tờ bổ sung (hoặc ghi rõ nội dung đã bổ sung) trước khi nộp."
        return render(
            request,
            "citizen/supplement.html",
            _supplement_context(app, service, cases, errors, comment),
            status=422,
        )
    try:
        cases.act_as_citizen(
            app,
            "submit_supplement",
            ActionInputs(comment=comment, documents=new_keys),
            _version(form.get("version")),
            actor_id=_actor(request, app),
            actor_name=app.applicant_name,
        )
    except (WorkflowError, Conflict) as exc:
        errors["files"] = exc.message
        return render(
            request,
            "citizen/supplement.html",
            _supplement_context(app, service, cases, errors, comment),
            status=409,
        )
    flash(
        request,
        "Đã nộp bổ sung hồ sơ. Cơ quan tiếp tục giải quyết; thời gian chờ bổ sung không tính vào "
        "thời hạn giải quyết.",
    )
    return redirect(request, f"/ho-so/{app.id}/bo-sung")


@router.get("/ho-so/{application_id}/rut")
def withdraw_page(request: Request, application_id: str, service: Applications) -> Response:
    app = open_case(request, application_id, service)
    definition = service.definition_of(app)
    return render(
        request,
        "citizen/withdraw.html",
        {
            "app": app,
            "d": definition,
            "status_label": service.status_label(app),
            "errors": {},
            "allowed": "withdraw" in citizen_actions(definition, app),
        },
    )


@router.post("/ho-so/{application_id}/rut")
def withdraw(
    request: Request, application_id: str, service: Applications, cases: Cases, form: Form
) -> Response:
    app = open_case(request, application_id, service)
    definition = service.definition_of(app)
    errors: dict[str, str] = {}
    status = 422
    if form.get("confirm") != "1":
        errors["confirm"] = "Vui lòng đánh dấu xác nhận bạn muốn rút hồ sơ."
    else:
        try:
            cases.act_as_citizen(
                app,
                "withdraw",
                ActionInputs(comment=str(form.get("comment") or "")),
                _version(form.get("version")),
                actor_id=_actor(request, app),
                actor_name=app.applicant_name,
            )
        except (WorkflowError, Conflict) as exc:
            errors["confirm"], status = exc.message, 409
    if errors:
        return render(
            request,
            "citizen/withdraw.html",
            {
                "app": app,
                "d": definition,
                "status_label": service.status_label(app),
                "errors": errors,
                "allowed": "withdraw" in citizen_actions(definition, app),
            },
            status=status,
        )
    flash(request, f"Đã rút hồ sơ {app.case_code}.")
    return redirect(request, f"/ho-so/{app.id}/rut")


@router.get("/ho-so/{application_id}/van-ban/{kind_slug}.pdf")
def citizen_document(
    request: Request, application_id: str, kind_slug: str, service: Applications, cases: Cases
) -> Response:
    app = open_case(request, application_id, service)
    kind = documents.KINDS.get(kind_slug)
    if kind is None or not kind.citizen:
        raise NotFound()
    ctx = documents.document_context(
        kind,
        app,
        service.definition_of(app),
        cases.events(app),
        service.repo.attachments(app.id),
        cases.registry,
        cases.calendar,
        cases.base_url,
    )
    return Response(
        documents.render_document_pdf(kind, ctx),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{kind.slug}-{app.case_code}.pdf"'},
    )
