"""Registers the quality domain with the app: routers, template helpers, its context for the listeners."""

from __future__ import annotations

from typing import Any

from portal import extensions


def hook(app: Any) -> None:
    from portal.quality.staff_web import router as staff_router
    from portal.quality.tracking import register
    from portal.quality.web import rating_link
    from portal.quality.web import router as citizen_router
    from portal.templating import env

    register(app)
    env.globals["rating_link"] = rating_link
    app.include_router(citizen_router)
    app.include_router(staff_router)


extensions.HOOKS.append(hook)
