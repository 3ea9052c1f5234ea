"""The rule of docs/architecture.md "When is a handler async": no database work and no password
hashing on the event loop, and every request body received before any dependency runs.

Security review findings #3 and #8 were ``async def`` handlers that queried the database (and ran
argon2) on the event loop: one slow request stalled every other one. These checks read the
routing table, so a new handler that breaks the rule fails here before it is ever served; the
attack tests in tests/security/test_uploads_and_event_loop.py exercise the served portal.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from portal.accounts.web import get_phone_service
from portal.deps import get_account_service, get_application_service, get_db
from portal.identity.web import get_identity_service
from portal.routing import UnitOfWorkRoute

# async handlers that get the request's session, each with the reason it may: they await network
# I/O other than the database, and run every database call through run_in_threadpool.
ASYNC_WITH_DATABASE = {
    "portal.assistant.web.chat_turn": "awaits Rasa's answer (up to 8 s) without holding a thread",
    "portal.payments_app.staff_web.refund": "awaits VNPay's refund API without holding a thread",
    "portal.identity.web.callback": "awaits the identity provider's token endpoint and JWKS",
}

# async dependencies that take the session only to build a service object (no I/O)
ASYNC_DEPENDENCIES_WITH_DATABASE: set[Callable[..., Any]] = {
    get_application_service,
    get_account_service,
    get_identity_service,
    get_phone_service,
}


def _name(call: Callable[..., Any]) -> str:
    call = inspect.unwrap(call)
    return f"{call.__module__}.{call.__qualname__}"


def _is_async(call: Callable[..., Any]) -> bool:
    call = inspect.unwrap(call)
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _walk(sub)


def _uses_database(dependant: Dependant) -> bool:
    return any(sub.call is get_db for sub in _walk(dependant))


def _routes(app: FastAPI) -> Iterator[Any]:
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            yield route


def test_async_handlers_do_not_get_the_database_session(app: FastAPI) -> None:
    offenders, allowed_seen = [], set()
    for route in _routes(app):
        if not (_is_async(route.endpoint) and _uses_database(route.dependant)):
            continue
        name = _name(route.endpoint)
        if name in ASYNC_WITH_DATABASE:
            allowed_seen.add(name)
        else:
            offenders.append(f"{sorted(route.methods)} {route.path} ({name})")
    assert offenders == [], "make these plain `def` handlers (see docs/architecture.md)"
    assert allowed_seen == set(ASYNC_WITH_DATABASE), "stale entries in the allow-list"


def test_async_dependencies_do_no_database_work(app: FastAPI) -> None:
    offenders = set()
    for route in _routes(app):
        for sub in _walk(route.dependant):
            if (
                sub.call is not None
                and sub.call is not get_db
                and _is_async(sub.call)
                and _uses_database(sub)
                and sub.call not in ASYNC_DEPENDENCIES_WITH_DATABASE
            ):
                offenders.add(_name(sub.call))
    assert offenders == set()


def test_every_route_with_a_body_receives_it_before_its_dependencies(app: FastAPI) -> None:
    """UnitOfWorkRoute reads the body first (and commits on the handler's thread); a plain APIRoute
    would run the dependencies first. (GET-only /healthz is a plain APIRoute: no body, no session.)"""
    others = [
        f"{sorted(route.methods)} {route.path} ({type(route.original_route).__name__})"
        for route in _routes(app)
        if set(route.methods) - {"GET", "HEAD", "OPTIONS"}
        and not isinstance(route.original_route, UnitOfWorkRoute)
    ]
    assert others == []


def test_every_route_that_gets_the_session_commits_it_on_its_own_thread(app: FastAPI) -> None:
    """One place commits: the route (``portal/routing.py``). ``get_db`` only rolls back and closes, so a
    handler on a plain APIRoute would lose its work — none may take the session."""
    others = [
        f"{sorted(route.methods)} {route.path}"
        for route in _routes(app)
        if _uses_database(route.dependant) and not isinstance(route.original_route, UnitOfWorkRoute)
    ]
    assert others == []
