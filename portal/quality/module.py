"""Service quality: ratings, feedback, the Decision 766 dashboard; the per-case facts consumer."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from portal.cases.changes import Consumer
from portal.config import Settings
from portal.modules import Module
from portal.quality import staff_web, web
from portal.quality.tracking import QualityContext, consumer
from portal.services import Services


def _install(app: FastAPI, services: Services) -> None:
    app.state.quality = QualityContext.of(services)  # the rating link helper reads it


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router, staff_web.router)


def _on_case_changed(services: Services) -> Sequence[Consumer]:
    return (consumer(QualityContext.of(services)),)


module = Module(
    name="quality",
    routers=_routers,
    install=_install,
    template_globals={"rating_link": web.rating_link},
    on_case_changed=_on_case_changed,
)
