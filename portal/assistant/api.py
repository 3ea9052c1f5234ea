"""JSON API: ``POST /api/v1/callbacks`` — "talk to a person" (the assistant's call-back action).

The assistant calls it with ``Authorization: Bearer <service token>``; anyone else may too, but
is rate-limited and cannot attach a conversation. A request goes to the desk of the agency handling
``case_code`` (when that case exists) or of ``agency_id``; without either only the central desk
(admin) sees it. Errors: the standard
``{"error": {"code", "message", "fields"}}`` with Vietnamese messages.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from portal.assistant.repository import CallbackRepository, ConversationRepository
from portal.assistant.service import CallbackService
from portal.deps import CatalogueDep, DbSession, client_ip
from portal.errors import PortalError, RateLimited, ValidationFailed
from portal.ratelimit import RateLimiter
from portal.routing import Router
from workflows.validators import phone_pattern

router = Router(prefix="/api/v1", tags=["api v1"])

PUBLIC_CALLBACKS_PER_HOUR = 5


NO_NUL = r"^[^\x00]*$"


class CallbackIn(BaseModel):
    """The schema says what ``CallbackService.request`` enforces; the service checks it (not pydantic),
    so that an invalid request still counts towards the rate limit and gets its Vietnamese message."""

    full_name: str = Field(
        description="Not blank",
        json_schema_extra={"maxLength": 100, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"},
    )
    phone: str = Field(
        description="Mobile or landline: 0912345678, +84 912 345 678, 028 3891 5039",
        json_schema_extra={"pattern": phone_pattern()},
    )
    note: str = Field("", json_schema_extra={"maxLength": 2000, "pattern": NO_NUL})
    conversation_id: str | None = Field(
        None,
        description="Used only with the assistant's service token",
        json_schema_extra={"maxLength": 64, "pattern": NO_NUL},
    )
    case_code: str | None = Field(
        None,
        max_length=40,
        description="A case the call is about: its agency's desk phones back",
        json_schema_extra={"pattern": NO_NUL},
    )
    agency_id: str | None = Field(
        None,
        max_length=32,
        description="The agency to phone back (see GET /api/v1/agencies) if no case",
        json_schema_extra={"pattern": NO_NUL},
    )


class CallbackCreated(BaseModel):
    id: str


class _ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = {}


class _Error(BaseModel):
    error: _ErrorBody


def callback_service(session: DbSession) -> CallbackService:
    return CallbackService(CallbackRepository(session), ConversationRepository(session))


def _is_service(request: Request) -> bool:
    token = request.app.state.settings.service_token
    auth = request.headers.get("Authorization", "")
    return bool(token) and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:], token)


def _error(exc: PortalError) -> JSONResponse:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    return JSONResponse({"error": body}, status_code=exc.status)


@router.post(
    "/callbacks",
    status_code=201,
    response_model=CallbackCreated,
    responses={409: {"model": _Error}, 422: {"model": _Error}, 429: {"model": _Error}},
    summary="Ask staff to phone a citizen back (the assistant's 'talk to a person')",
)
def create_callback(
    request: Request,
    body: CallbackIn,
    service: Annotated[CallbackService, Depends(callback_service)],
    session: DbSession,
    catalogue: CatalogueDep,
    idempotency_key: str | None = Header(None, max_length=100),
) -> Any:
    trusted = _is_service(request)
    if not trusted:
        hits = RateLimiter(session).hit(f"callback:{client_ip(request)}", window_seconds=3600)
        if hits > PUBLIC_CALLBACKS_PER_HOUR:
            # answered, not raised: the hit must be committed with this request
            return _error(RateLimited("Bạn đã gửi quá nhiều yêu cầu gọi lại; vui lòng thử lại sau."))
    agency = (body.agency_id or "").strip() or None
    if agency is not None and agency not in catalogue.registry.agencies:
        return _error(ValidationFailed(fields={"agency_id": "Không có cơ quan với mã này."}))
    try:
        callback, _ = service.request(
            full_name=body.full_name,
            phone=body.phone,
            note=body.note,
            conversation_id=body.conversation_id,
            trusted=trusted,
            idempotency_key=idempotency_key,
            case_code=body.case_code,
            agency_id=agency,
        )
    except PortalError as exc:
        return _error(exc)
    return CallbackCreated(id=callback.id)
