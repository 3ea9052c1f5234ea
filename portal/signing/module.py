"""Signed results: the public verification page, the applicant's download, the template helper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import object_session

from portal.config import Settings
from portal.modules import Module
from portal.signing import service, web


def result_download(app: Any, definition: Any) -> Any:
    """Template helper: the applicant's current signed result, if they may download it."""
    session = object_session(app) if app is not None else None
    if session is None or getattr(app, "is_draft", True) or not service.offers_download(definition):
        return None
    return service.current_result(session, app.id)


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router,)


module = Module(name="signing", routers=_routers, template_globals={"result_download": result_download})
