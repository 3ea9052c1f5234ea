"""What every JSON API router of the portal shares: the error body and the error responses it documents.

``portal/api/v1.py`` and the domains' API routers (e.g. ``portal/payments_app/api.py``) answer errors
as ``{"error": {"code", "message", "fields"}}`` (see ``portal.app``'s error handlers).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
}
