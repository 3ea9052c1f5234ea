"""Payments: VNPay (and its local sandbox), school fees, VietQR statements; reconciliation jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI

from portal.config import Settings
from portal.modules import Job, Module
from portal.payments_app import api, staff_web, web
from portal.payments_app.flows import reconcile_due, write_daily_report
from portal.payments_app.gateway import install_gateway, job_gateway
from portal.payments_app.ipn import IpnEndpoint
from portal.services import Services


def _install(app: FastAPI, services: Services) -> None:
    install_gateway(app)  # mounts the VNPay sandbox at /dev/vnpay when enabled (never in production)
    # the providers' IPN, answered in front of the session, CSRF, language and routing layers
    app.add_middleware(
        IpnEndpoint, portal=app, threads=services.settings.db_pool_size, headers=app.state.fixed_headers
    )


def _routers(_settings: Settings) -> Sequence[APIRouter]:
    return (web.router, staff_web.router, api.router)


def reconcile(services: Services) -> None:
    """querydr for VNPay attempts still pending after the configured delay."""
    asyncio.run(reconcile_due(services.db, job_gateway(services.settings), services.settings))


def daily_report(services: Services) -> None:
    write_daily_report(services.db, services.settings)


module = Module(
    name="payments",
    routers=_routers,
    install=_install,
    template_globals={"case_fee": web.case_fee},
    jobs=(
        Job("payments.reconcile", 60.0, reconcile),
        Job("payments.daily_report", 3600.0, daily_report),
    ),
)
