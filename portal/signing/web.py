"""Public verification page of signed results, and the applicant's download."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import Response

from portal.deps import Applications, DbSession
from portal.errors import NotFound
from portal.routing import Router
from portal.signing import service
from portal.web import security
from portal.web.access import load_application
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
    app, _ = load_application(request, application_id, applications)
    document = service.current_result(session, app.id) if not app.is_draft else None
    if document is None or not service.offers_download(applications.definition_of(app)):
        raise NotFound("Hồ sơ này chưa có kết quả điện tử để tải về.")
    content = service.read_result(request.app.state.settings, document)
    filename = f"ket-qua-{app.case_code}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
