"""The virtual assistant: the chat page and widget (relayed to Rasa), staff transcripts, its API."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from portal.assistant import api, staff_web, web
from portal.assistant.relay import RasaRelay
from portal.config import Settings
from portal.modules import Module
from portal.services import Services


def _install(app: FastAPI, services: Services) -> None:
    settings = services.settings
    # tests and benchmarks replace these on the app they built
    app.state.assistant_relay = RasaRelay(settings.rasa_url, timeout_seconds=settings.rasa_timeout_seconds)
    app.state.assistant_limits = web.ChatLimits()


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router, staff_web.router, api.router)


module = Module(
    name="assistant",
    routers=_routers,
    install=_install,
    template_filters={"assistant_text": web.bot_text},
)
