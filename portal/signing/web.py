"""Public verification page of signed results, and the applicant's download (from any device)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from portal.cases.events import record_event
from portal.deps import Applications, DbSession, client_ip
from portal.errors import NotFound
from portal.models import CaseEvent
from portal.routing import Router
from portal.signing import service
from portal.web import security
from portal.web.access import CASE_GRANTS, open_case
from portal.web.render import render
from workflows.validators import mask_name

router = Router(dependencies=[Depends(security.verify_csrf)], include_in_schema=False)


@router.get("/verify/{document_id}")
def verify(request: Request, document_id: str, session: DbSession, applications: Applications) -> Response:
    verification = service.verify_document(session, document_id[:64], request.app.state.settings)
    if verification is None:
        raise NotFound("Không tìm thấy văn bản với mã này. Vui lòng kiểm tra lại mã QR hoặc đường liên kết.")
    app = verification.application
    definition = applications.definition_of(app)
    agency = applications.catalogue.agency(app.agency_id or "")
    # only what proves the document: no ID number, phone, address or application content
    return render(
        request,
        "signing/verify.html",
        {
            "v": verification,
            "doc": verification.document,
            "case_code": app.case_code,
            "procedure": definition.name,
            "result_name": definition.result,
            "agency": agency,
            "holder": mask_name(app.applicant_name),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/ho-so/{application_id}/ket-qua.pdf")
def download_result(
    request: Request, application_id: str, session: DbSession, applications: Applications
) -> Response:
    # the owner, the private link, or — from any device — a browser session that proved the case code
    # and phone on the tracking page (UX review: the result was a 404 anywhere but the applying browser)
    app = open_case(request, application_id, applications)
    document = service.current_result(session, app.id)
    if document is None or not service.offers_download(applications.definition_of(app)):
        raise NotFound("Hồ sơ này chưa có kết quả điện tử để tải về.")
    content = service.read_result(request.app.state.settings, document)
    citizen_id = security.current_citizen_id(request)
    via = (
        "account"
        if citizen_id is not None and app.citizen_id == citizen_id
        else "tracking"
        if app.id in request.session.get(CASE_GRANTS, [])
        else "link"
    )
    # every download is kept in the case's history (staff see who collected the result, and how)
    record_event(
        session,
        CaseEvent(
            application_id=app.id,
            kind="result_downloaded",
            at=request.app.state.clock(),
            actor_kind="citizen",
            actor_id=str(citizen_id) if citizen_id is not None else None,
            actor_name=None,
            public=False,
            details={"document_id": document.id, "via": via, "client_ip": client_ip(request)},
        ),
    )
    filename = f"ket-qua-{app.case_code}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
