"""Registers the back office with the app (routers, template helpers) and the worker (deadline job)."""

from __future__ import annotations

from typing import Any

from portal import extensions, worker


def hook(app: Any) -> None:
    from portal.backoffice.citizen_web import citizen_actions
    from portal.backoffice.web import install
    from portal.templating import env

    env.globals["citizen_case_actions"] = citizen_actions
    install(app)


def _deadline_job() -> None:
    from portal.backoffice.jobs import run_deadline_alerts

    run_deadline_alerts()


extensions.HOOKS.append(hook)
worker.JOBS.append(("backoffice.deadline_alerts", 3600.0, _deadline_job))
