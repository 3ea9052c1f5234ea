"""Registers payments with the app (gateway, sandbox, routers, template helper) and the worker (jobs)."""

from __future__ import annotations

import asyncio
from typing import Any

from portal import extensions, worker


def hook(app: Any) -> None:
    from portal.payments_app import api, staff_web, web
    from portal.payments_app.gateway import install_gateway
    from portal.templating import env

    install_gateway(app)  # mounts the VNPay sandbox at /dev/vnpay when enabled (never in production)
    app.include_router(web.ipn_router)
    app.include_router(web.router)
    app.include_router(staff_web.router)
    app.include_router(api.router)
    env.globals["case_fee"] = web.case_fee


_job_state: dict[str, Any] = {}


def _context() -> tuple[Any, Any, Any]:
    if not _job_state:
        from portal.config import get_settings
        from portal.db import Database
        from portal.payments_app.gateway import job_gateway

        settings = get_settings()
        _job_state.update(
            settings=settings, db=Database.for_settings(settings, pool_size=2), gateway=job_gateway(settings)
        )
    return _job_state["db"], _job_state["gateway"], _job_state["settings"]


def reconcile_job() -> None:
    """`portal worker`: querydr for VNPay attempts still pending after the configured delay."""
    from portal.payments_app.flows import reconcile_due

    db, gateway, settings = _context()
    asyncio.run(reconcile_due(db, gateway, settings))


def daily_report_job() -> None:
    from portal.payments_app.flows import write_daily_report

    db, _, settings = _context()
    write_daily_report(db, settings)


extensions.HOOKS.append(hook)
worker.JOBS.append(("payments.reconcile", 60.0, reconcile_job))
worker.JOBS.append(("payments.daily_report", 3600.0, daily_report_job))
