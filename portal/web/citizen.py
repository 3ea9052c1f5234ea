"""Citizen pages: catalogue, procedure, application form, review, receipt, tracking, accounts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from portal import i18n
from portal.applications import forms
from portal.applications.documents import receipt_pdf
from portal.applications.service import ApplicationService, Upload
from portal.deps import Accounts, Applications, CatalogueDep, Form, SettingsDep, client_ip, lookup_client
from portal.errors import Conflict, NotFound, ProcedureNotFound, RateLimited, ValidationFailed
from portal.models import Application
from portal.ratelimit import RateLimiter
from portal.routing import Router
from portal.web import security
from portal.web.access import grant_case_access, load_application
from portal.web.bodies import accepts_files
from portal.web.render import flash, is_htmx, redirect, render, render_case_page, render_shared
from workflows.calendar import now as vn_now
from workflows.definitions import Definition
from workflows.validators import InvalidValue
from workflows.validators import phone as normalise_phone

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


def _today() -> date:
    return vn_now().date()


# -- home, language, catalogue -------------------------------------------------------------


@router.get("/")
def home(request: Request, catalogue: CatalogueDep) -> Response:
    procedures = catalogue.procedures(_today())
    return render(request, "citizen/home.html", {"procedures": procedures[:6], "count": len(procedures)})


@router.get("/ngon-ngu/{lang}")
def set_language(request: Request, lang: str, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = redirect(request, target)
    if lang in i18n.LANGUAGES:
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


# The catalogue and a procedure's page are the same for everyone with the same language: they are
# rendered once per edition of the definitions (render_shared) and, being in-memory work that takes
# microseconds once rendered, answered on the event loop (``async def``) without a thread-pool trip.
@router.get("/thu-tuc")
async def catalogue_page(request: Request, catalogue: CatalogueDep, q: str = "") -> Response:
    q = q.strip()[:200]
    today = _today()

    def context() -> dict[str, Any]:
        hits = catalogue.search(q, today)
        return {"q": q, "results": [h.definition for h in hits], "total": len(catalogue.procedures(today))}

    block = "results" if is_htmx(request) and request.headers.get("HX-Target") == "results" else None
    key = (q, catalogue.edition(today))
    return render_shared(request, "citizen/catalogue.html", key, context, block=block)


def _procedure(catalogue: Any, slug: str) -> Definition:
    definition = catalogue.get(slug, _today())
    if definition is None:
        raise ProcedureNotFound()
    return definition  # type: ignore[no-any-return]


@router.get("/thu-tuc/{slug}")
async def procedure_page(request: Request, slug: str, catalogue: CatalogueDep) -> Response:
    definition = _procedure(catalogue, slug)

    def context() -> dict[str, Any]:
        return {"d": definition, "agencies": [catalogue.agency(a) for a in definition.agencies]}

    key = (catalogue.generation, definition.code, definition.version)
    return render_shared(request, "citizen/procedure.html", key, context)


# -- application form ------------------------------------------------------------------------------


def _form_values(form: FormData) -> tuple[dict[str, str], dict[str, str], str | None]:
    applicant = {f.key: str(form.get(f"applicant_{f.key}") or "") for f in forms.APPLICANT_FIELDS}
    fields = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("f_") and isinstance(v, str)}
    agency = form.get("agency_id")
    return applicant, fields, (str(agency) if agency else None)


def _uploads(form: FormData) -> list[Upload]:
    """The files sent for documents: handed over as received, never read here (attach() measures
    them, checks their first bytes and streams them to storage, hashing as it writes)."""
    return [
        Upload(key[4:], value.filename, size=value.size, file=value.file)
        for key, value in form.multi_items()
        if key.startswith("doc_") and isinstance(value, UploadFile) and value.filename
    ]


def _form_context(
    app: Application | None,
    definition: Definition,
    service: ApplicationService,
    catalogue: Any,
    *,
    errors: dict[str, str] | None = None,
    token: str | None = None,
    values: dict[str, Any] | None = None,
    citizen_id: int | None = None,
) -> dict[str, Any]:
    verified = service.verified_applicant(app.citizen_id if app is not None else citizen_id)
    if values is None:
        values = {}
        if app is not None:
            values = {
                f"applicant_{k}": v
                for k, v in {
                    "full_name": app.applicant_name,
                    "cccd": app.applicant_cccd,
                    "phone": app.applicant_phone,
                    "email": app.applicant_email,
                    "address": app.applicant_address,
                }.items()
            }
            values.update(
                {f"f_{k}": ("" if v is None else v) for k, v in (app.data or {}).get("fields", {}).items()}
            )
            values["agency_id"] = app.agency_id or (app.data or {}).get("raw_agency", "")
    if verified is not None:  # shown as the provider gave them, whatever was posted or stored
        values = {**values, "applicant_full_name": verified.full_name, "applicant_cccd": verified.pid}
    attachments: dict[str, list[Any]] = {}
    if app is not None:
        for a in service.repo.attachments(app.id):
            attachments.setdefault(a.document_key, []).append(a)
    return {
        "d": definition,
        "app": app,
        "token": token,
        "values": values,
        "errors": errors or {},
        "attachments": attachments,
        "applicant_fields": forms.APPLICANT_FIELDS,
        "agencies": [catalogue.agency(a) for a in definition.agencies],
        "verified": verified,
        "locked_fields": LOCKED_BY_IDENTITY if verified is not None else (),
    }


LOCKED_BY_IDENTITY = ("full_name", "cccd")  # applicant fields the identity provider fills


def _prefill_from_account(request: Request, accounts: Any) -> dict[str, Any]:
    cid = security.current_citizen_id(request)
    citizen = accounts.get(cid) if cid is not None else None
    if citizen is None:
        return {}
    return {
        "applicant_full_name": citizen.full_name,
        "applicant_phone": citizen.phone or "",
        "applicant_email": citizen.email or "",
        "applicant_cccd": citizen.cccd or "",
    }


@router.get("/thu-tuc/{slug}/nop-ho-so")
def new_application(
    request: Request, slug: str, catalogue: CatalogueDep, service: Applications, accounts: Accounts
) -> Response:
    definition = _procedure(catalogue, slug)
    ctx = _form_context(
        None,
        definition,
        service,
        catalogue,
        values=_prefill_from_account(request, accounts),
        citizen_id=security.current_citizen_id(request),
    )
    return render(request, "citizen/apply.html", ctx)


@router.post("/thu-tuc/{slug}/nop-ho-so")
@accepts_files
def create_application(
    request: Request, slug: str, catalogue: CatalogueDep, service: Applications, form: Form
) -> Response:
    # a plain def (thread pool): the body was received before this runs; files and database block
    definition = _procedure(catalogue, slug)
    uploads = _uploads(form)
    app, token = service.create_draft(definition, citizen_id=security.current_citizen_id(request))
    security.remember_draft(request, app.id, token)
    return _save_and_continue(request, app, token, definition, service, catalogue, form, uploads)


def _exchange_link_token(
    request: Request, application_id: str, service: ApplicationService
) -> Response | None:
    """A resume link's ``?t=`` is traded for the session on its first use, and the page is served
    again at a clean URL: the secret then never sits in history, bookmarks, Referer or logs.

    Returns the redirect, or None when there is no valid token to exchange (the page then answers
    as usual: the session, the citizen's account, or 404).
    """
    token = request.query_params.get("t")
    if not token or request.method != "GET":
        return None
    app = service.repo.get(application_id)
    if app is None or not service.may_access(app, citizen_id=None, token=token):
        return None
    security.remember_draft(request, app.id, token)
    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "t"]
    return redirect(request, request.url.path + (f"?{urlencode(rest)}" if rest else ""))


@router.get("/ho-so/{application_id}/sua")
def edit_application(
    request: Request, application_id: str, service: Applications, catalogue: CatalogueDep
) -> Response:
    if (exchanged := _exchange_link_token(request, application_id, service)) is not None:
        return exchanged
    app, token = load_application(request, application_id, service)
    if not app.is_draft:
        return redirect(request, f"/ho-so/{app.id}/bien-nhan")
    if token:
        security.remember_draft(request, app.id, token)
    definition = service.definition_of(app)
    return render(
        request, "citizen/apply.html", _form_context(app, definition, service, catalogue, token=token)
    )


@router.post("/ho-so/{application_id}/sua")
@accepts_files
def update_application(
    request: Request, application_id: str, service: Applications, catalogue: CatalogueDep, form: Form
) -> Response:
    app, token = load_application(request, application_id, service)
    if not app.is_draft:
        return redirect(request, f"/ho-so/{app.id}/bien-nhan")
    definition = service.definition_of(app)
    uploads = _uploads(form)
    return _save_and_continue(request, app, token, definition, service, catalogue, form, uploads)


def _save_and_continue(
    request: Request,
    app: Application,
    token: str | None,
    definition: Definition,
    service: ApplicationService,
    catalogue: Any,
    form: FormData,
    uploads: list[Upload],
) -> Response:
    intent = str(form.get("intent") or "save")
    applicant, fields, agency = _form_values(form)
    attached, errors = service.attach_all(app, uploads)
    if intent.startswith("remove:"):
        service.remove_attachment(app, intent.split(":", 1)[1])
        attached = None
    complete = intent == "review"
    checked = service.save_draft(app, applicant, fields, agency, complete=complete)
    errors = {**checked.errors, **errors}
    if complete and not errors:  # the fields were validated just now (save_draft): only the documents
        errors.update(service.missing_documents(app, attached))
    link = _resume_link(request, app, token)
    if errors:
        ctx = _form_context(
            app,
            definition,
            service,
            catalogue,
            errors=errors,
            token=token,
            values={
                **{f"applicant_{k}": v for k, v in applicant.items()},
                **{f"f_{k}": v for k, v in fields.items()},
                "agency_id": agency or "",
            },
        )
        ctx["resume_link"] = link
        return render(request, "citizen/apply.html", ctx, status=422)
    if complete:
        return redirect(request, f"/ho-so/{app.id}/xem-lai")  # the session holds the token
    if intent == "save":
        flash(request, i18n.gettext("Đã lưu bản nháp. Bạn có thể quay lại hoàn thiện bất cứ lúc nào."))
    return redirect(request, f"/ho-so/{app.id}/sua")


def _resume_link(request: Request, app: Application, token: str | None) -> str:
    base = str(request.app.state.settings.base_url).rstrip("/")
    return f"{base}/ho-so/{app.id}/sua" + (f"?t={token}" if token else "")


@router.post("/thu-tuc/{slug}/kiem-tra")
async def check_field(request: Request, slug: str, catalogue: CatalogueDep) -> Response:
    """HTMX inline validation of the one field that changed."""
    definition = _procedure(catalogue, slug)
    form = await request.form()
    name = request.headers.get("HX-Trigger-Name") or str(form.get("field") or "")
    raw = str(form.get(name) or "")
    error: str | None = None
    spec: Any = None
    if name.startswith("applicant_"):
        key = name.removeprefix("applicant_")
        spec = next((f for f in forms.APPLICANT_FIELDS if f.key == key), None)
        if spec is not None:
            _, error = forms.validate_applicant_field(key, raw)
    elif name.startswith("f_"):
        spec = next((f for f in definition.fields if f.key == name[2:]), None)
        if spec is not None:
            _, error = forms.validate_procedure_field(spec, raw)
    if spec is None:
        raise NotFound()
    return render(
        request,
        "citizen/_field_check.html",
        {"spec": spec, "name": name, "value": raw, "error": error, "d": definition, "checked": True},
    )


# -- review, submit, receipt ------------------------------------------------------------------------


@router.get("/ho-so/{application_id}/xem-lai")
def review(request: Request, application_id: str, service: Applications, catalogue: CatalogueDep) -> Response:
    if (exchanged := _exchange_link_token(request, application_id, service)) is not None:
        return exchanged
    app, token = load_application(request, application_id, service)
    if not app.is_draft:
        return redirect(request, f"/ho-so/{app.id}/bien-nhan")
    return render(request, "citizen/review.html", _review_context(app, token, service, catalogue))


def _review_context(
    app: Application, token: str | None, service: ApplicationService, catalogue: Any
) -> dict[str, Any]:
    definition = service.definition_of(app)
    return {
        "app": app,
        "d": definition,
        "token": token,
        "missing": service.missing(app),
        "attachments": service.repo.attachments(app.id),
        "agency": catalogue.agency(app.agency_id or ""),
        "applicant_fields": forms.APPLICANT_FIELDS,
        "fee": definition.fee,
    }


@router.post("/ho-so/{application_id}/nop")
def submit(request: Request, application_id: str, service: Applications, catalogue: CatalogueDep) -> Response:
    # read under the row lock at once: a double-clicked "Nộp hồ sơ" waits here for the first click's
    # commit, then sees the case and is sent to its receipt (one SELECT, not a read and a re-read)
    app, token = load_application(request, application_id, service, for_update=True)
    if not app.is_draft:
        return redirect(request, f"/ho-so/{app.id}/bien-nhan")
    try:
        service.submit(app)
    except ValidationFailed:
        ctx = _review_context(app, token, service, catalogue)
        return render(request, "citizen/review.html", ctx, status=422)
    except Conflict:
        return redirect(request, f"/ho-so/{app.id}/bien-nhan")
    return redirect(request, f"/ho-so/{app.id}/bien-nhan")


def _receipt_context(
    app: Application, service: ApplicationService, catalogue: Any, request: Request
) -> dict[str, Any]:
    definition = service.definition_of(app)
    base = str(request.app.state.settings.base_url).rstrip("/")
    return {
        "app": app,
        "d": definition,
        "agency": catalogue.agency(app.agency_id or ""),
        "attachments": service.repo.attachments(app.id),
        "status_label": service.status_label(app),
        "tracking_url": f"{base}/tra-cuu?ma={app.case_code}",
        "base_url": base,
        "received_at": app.submitted_at,
        "request": request,  # template helpers (the rating link) find the app's services through it
    }


@router.get("/ho-so/{application_id}/bien-nhan")
def receipt(
    request: Request, application_id: str, service: Applications, catalogue: CatalogueDep
) -> Response:
    if (exchanged := _exchange_link_token(request, application_id, service)) is not None:
        return exchanged
    app, _ = load_application(request, application_id, service)
    if app.is_draft:
        return redirect(request, f"/ho-so/{app.id}/xem-lai")
    ctx = _receipt_context(app, service, catalogue, request)
    ctx["token"] = None  # links on the page rely on the session, never on a token in the URL
    return render(request, "citizen/receipt.html", ctx)


@router.get("/ho-so/{application_id}/bien-nhan.pdf")
def receipt_download(
    request: Request, application_id: str, service: Applications, catalogue: CatalogueDep
) -> Response:
    if (exchanged := _exchange_link_token(request, application_id, service)) is not None:
        return exchanged
    app, _ = load_application(request, application_id, service)
    if app.is_draft:
        raise NotFound("Hồ sơ chưa được nộp nên chưa có giấy tiếp nhận.")
    pdf = receipt_pdf(_receipt_context(app, service, catalogue, request))
    filename = f"giay-tiep-nhan-{app.case_code}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/ho-so/{application_id}/tep/{attachment_id}")
def download_attachment(
    request: Request, application_id: str, attachment_id: str, service: Applications
) -> Response:
    if (exchanged := _exchange_link_token(request, application_id, service)) is not None:
        return exchanged
    app, _ = load_application(request, application_id, service)
    attachment = service.repo.attachment(app.id, attachment_id)
    if attachment is None:
        raise NotFound()
    content = service.files.read(attachment.storage_key)
    return Response(
        content,
        media_type=attachment.content_type,
        headers={"Content-Disposition": f'inline; filename="{attachment.id}"'},
    )


# -- tracking ---------------------------------------------------------------------------------------


@router.get("/tra-cuu")
def tracking_form(request: Request, ma: str = "") -> Response:
    return render(request, "citizen/track.html", {"values": {"case_code": ma}, "errors": {}})


@router.post("/tra-cuu")
def tracking_lookup(request: Request, service: Applications, settings: SettingsDep, form: Form) -> Response:
    return _tracking_lookup(request, form, service, settings)


def _tracking_lookup(
    request: Request, form: FormData, service: ApplicationService, settings: Any
) -> Response:
    code = str(form.get("case_code") or "").strip().upper()
    raw_phone = str(form.get("phone") or "")
    values = {"case_code": code, "phone": raw_phone}
    errors: dict[str, str] = {}
    if not code:
        errors["case_code"] = "Vui lòng nhập mã hồ sơ, ví dụ H29.41.01-261128-0001."
    try:
        phone = normalise_phone(raw_phone)
    except InvalidValue as exc:
        errors["phone"] = exc.message
        phone = ""
    if errors:
        return render(request, "citizen/track.html", {"values": values, "errors": errors}, status=422)
    limiter = RateLimiter(service.repo.session)
    if (
        limiter.hit(f"track:{lookup_client(request)}", window_seconds=settings.tracking_window_seconds)
        > settings.tracking_max_lookups
    ):
        raise RateLimited("Bạn đã tra cứu quá nhiều lần; vui lòng thử lại sau ít phút.")
    # One query: the case's id, phone and version. Code or phone wrong → the same 404 page either way.
    found = service.track_version(code, phone)
    if found is None:
        errors["case_code"] = "Không tìm thấy hồ sơ với mã hồ sơ và số điện thoại này."
        return render(request, "citizen/track.html", {"values": values, "errors": errors}, status=404)
    case_id, version = found
    # this browser proved code + phone: it may open the case's pages and download its signed result
    grant_case_access(request, case_id)
    lang = i18n.current_lang.get()

    def context(typed: Mapping[str, str]) -> dict[str, Any]:
        # only when the page is not cached for this version of the case: the case with its history
        app = service.repo.by_case_code(code)
        if app is None or app.id != case_id:
            raise NotFound()
        return {
            "values": {"case_code": code, "phone": typed["phone"]},
            "errors": {},
            "app": app,
            "d": service.definition_of(app),
            "status_label": service.status_label(app, lang),
            "timeline": service.timeline(app, lang),
        }

    # Served only here, after code + phone matched; keyed by the case's change_version, which every
    # change of the case bumps in its own transaction (portal/cases/events.py).
    return render_case_page(
        request,
        "citizen/track.html",
        (case_id, version),
        context,
        typed={"phone": raw_phone},
        now=vn_now(),
    )


# -- accounts -----------------------------------------------------------------------------------------


_SIGN_IN_WITH_IDP_ONLY = (
    "Đăng nhập bằng mật khẩu không còn được dùng; vui lòng đăng nhập bằng VNeID / định danh điện tử."
)


def _login_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    settings = request.app.state.settings
    ctx = {"values": values, "errors": errors, "password_sign_in": settings.password_sign_in}
    return render(request, "citizen/login.html", ctx, status=status)


@router.get("/dang-ky")
def register_form(request: Request, settings: SettingsDep) -> Response:
    if not settings.password_sign_in:
        return _login_page(request, {}, {"idp": i18n.gettext(_SIGN_IN_WITH_IDP_ONLY)}, status=403)
    return render(request, "citizen/register.html", {"values": {}, "errors": {}})


@router.post("/dang-ky")
def register(request: Request, accounts: Accounts, settings: SettingsDep, form: Form) -> Response:
    # a plain def: argon2 hashing and the database run in the thread pool, never on the event loop
    if not settings.password_sign_in:
        return _login_page(request, {}, {"idp": i18n.gettext(_SIGN_IN_WITH_IDP_ONLY)}, status=403)
    return _register(request, form, accounts)


def _register(request: Request, form: FormData, accounts: Any) -> Response:
    values = {k: str(form.get(k) or "") for k in ("full_name", "phone", "email")}
    try:
        citizen = accounts.register(
            **values, password=str(form.get("password") or ""), password2=str(form.get("password2") or "")
        )
    except ValidationFailed as exc:
        return render(request, "citizen/register.html", {"values": values, "errors": exc.fields}, status=422)
    security.login_citizen(request, citizen.id, citizen.full_name)
    flash(request, i18n.gettext("Đăng ký thành công. Chào mừng bạn!"))
    return redirect(request, "/tai-khoan/ho-so")


@router.get("/dang-nhap")
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, {"next": next}, {})


@router.post("/dang-nhap")
def login(request: Request, accounts: Accounts, settings: SettingsDep, form: Form) -> Response:
    if not settings.password_sign_in:  # the setting, not a constant: an operator may turn it off
        return _login_page(request, {}, {"idp": i18n.gettext(_SIGN_IN_WITH_IDP_ONLY)}, status=403)
    return _login(request, form, accounts)


def _login(request: Request, form: FormData, accounts: Any) -> Response:
    values = {"login": str(form.get("login") or ""), "next": str(form.get("next") or "")}
    try:
        citizen = accounts.login(
            values["login"], str(form.get("password") or ""), client_ip=client_ip(request)
        )
    except ValidationFailed as exc:
        return _login_page(request, values, exc.fields, status=422)
    except RateLimited as exc:
        return _login_page(request, values, {"login": exc.message}, status=429)
    drafts = request.session.get("drafts", {})
    security.login_citizen(request, citizen.id, citizen.full_name)
    request.session["drafts"] = drafts
    target = (
        values["next"]
        if values["next"].startswith("/") and not values["next"].startswith("//")
        else "/tai-khoan/ho-so"
    )
    return redirect(request, target)


@router.post("/dang-xuat")
def logout(request: Request) -> Response:
    security.logout(request)
    return redirect(request, "/")


@router.get("/tai-khoan/ho-so")
def my_applications(request: Request, service: Applications, accounts: Accounts) -> Response:
    cid = security.current_citizen_id(request)
    account = accounts.get(cid) if cid is not None else None
    if account is None:
        return redirect(request, "/dang-nhap?next=/tai-khoan/ho-so")
    apps = service.repo.for_citizen(account.id)
    lang = i18n.current_lang.get()
    rows = []
    for app in apps:
        rows.append({"app": app, "d": service.definition_of(app), "status": service.status_label(app, lang)})
    return render(request, "citizen/my_applications.html", {"rows": rows, "account": account})
