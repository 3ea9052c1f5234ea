"""Registers the assistant with the app: the Rasa relay, template filter, citizen/staff/API routers."""

from __future__ import annotations

from typing import Any

from portal import extensions


def hook(app: Any) -> None:
    from portal.assistant import api, staff_web, web
    from portal.assistant.relay import RasaRelay
    from portal.templating import env

    settings = app.state.settings
    if not hasattr(app.state, "assistant_relay"):  # tests and benchmarks may install their own
        app.state.assistant_relay = RasaRelay(
            settings.rasa_url, timeout_seconds=settings.rasa_timeout_seconds
        )
    if not hasattr(app.state, "assistant_limits"):
        app.state.assistant_limits = web.ChatLimits()
    env.filters["assistant_text"] = web.bot_text
    app.include_router(web.router)
    app.include_router(staff_web.router)
    app.include_router(api.router)


extensions.HOOKS.append(hook)
