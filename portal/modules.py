"""What a domain module declares: its routers, app-scoped services, template helpers, jobs, and what it
does when a case changes. ``portal/composition.py`` lists the modules; ``create_app`` and ``portal
worker`` read that one list. Nothing registers itself by being imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI

from portal.cases.changes import Consumer
from portal.config import Settings
from portal.services import Services


@dataclass(frozen=True)
class Job:
    """A periodic job of ``portal worker``: ``run(services)`` every ``every`` seconds (never two at once)."""

    name: str
    every: float
    run: Callable[[Services], None]


def _no_routers(_settings: Settings) -> Sequence[APIRouter]:
    return ()


def _no_consumers(_services: Services) -> Sequence[Consumer]:
    return ()


@dataclass(frozen=True)
class Module:
    name: str
    # the routers to include; a function of the settings (some pages exist only outside production)
    routers: Callable[[Settings], Sequence[APIRouter]] = _no_routers
    # builds what the module's pages need on the app (``app.state``, mounts); runs before the routers
    install: Callable[[FastAPI, Services], None] | None = None
    template_globals: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    template_filters: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    jobs: Sequence[Job] = ()
    # what the module derives from cases, consumed after commit (see portal/cases/changes.py)
    on_case_changed: Callable[[Services], Sequence[Consumer]] = _no_consumers
