"""The staff back office: queues, case processing, documents; the deadline alerts job."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from portal.backoffice import citizen_web, web
from portal.backoffice.jobs import run_deadline_alerts
from portal.config import Settings
from portal.modules import Job, Module


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router, citizen_web.router)


module = Module(
    name="backoffice",
    routers=_routers,
    install=web.install,
    template_globals={"citizen_case_actions": citizen_web.citizen_actions},
    jobs=(Job("backoffice.deadline_alerts", 3600.0, run_deadline_alerts),),
)
