"""Who may open a citizen's application in this browser: the one rule, used by every domain's pages.

- An application (draft or submitted) opens for its signed-in owner or with its private link
  (the draft token): :func:`load_application`.
- A submitted case also opens for a browser session that proved the case code + phone number
  (:func:`grant_case_access`, from the tracking page): :func:`open_case`.

Anything else is answered as if the case did not exist (404), so a guessed id reveals nothing.
"""

from __future__ import annotations

from fastapi import Request

from portal.applications.service import ApplicationService
from portal.errors import NotFound
from portal.models import Application
from portal.web import security

CASE_GRANTS = "case_access"  # session key: ids of cases opened with code + phone (at most 10)
NOT_YOURS = "Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này."


def load_application(
    request: Request, application_id: str, service: ApplicationService, *, for_update: bool = False
) -> tuple[Application, str | None]:
    """The application and the draft token the request carries (owner or private link only).
    ``for_update``: read under a row lock, for a request that changes it (e.g. submits it)."""
    app = service.repo.get(application_id, for_update=for_update)
    token = security.draft_token(request, application_id)
    if app is None or not service.may_access(
        app, citizen_id=security.current_citizen_id(request), token=token
    ):
        raise NotFound(NOT_YOURS)
    return app, token


def open_case(request: Request, application_id: str, service: ApplicationService) -> Application:
    """A submitted case: its owner, its private link, or a session granted it by code + phone."""
    app = service.repo.get(application_id)
    if app is None or app.is_draft:
        raise NotFound(NOT_YOURS)
    granted = application_id in request.session.get(CASE_GRANTS, [])
    if not granted and not service.may_access(
        app,
        citizen_id=security.current_citizen_id(request),
        token=security.draft_token(request, application_id),
    ):
        raise NotFound(NOT_YOURS)
    return app


def grant_case_access(request: Request, application_id: str) -> None:
    """This browser session proved the case's code + phone: it may open that case (the last 10)."""
    grants = [g for g in request.session.get(CASE_GRANTS, []) if g != application_id][-9:]
    request.session[CASE_GRANTS] = [*grants, application_id]
