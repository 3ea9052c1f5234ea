"""FastAPI dependencies: the request's unit of work and the services built on it."""

from __future__ import annotations

import hmac
import re
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from portal.accounts.service import AccountService
from portal.applications.repository import ApplicationRepository
from portal.applications.service import ApplicationService
from portal.catalogue import Catalogue
from portal.config import Settings
from portal.ratelimit import client_key
from portal.routing import current_session, roll_back
from portal.routing import finishers as _finishers
from portal.web.bodies import read_form


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request. It is committed in one place only: by the route, on the thread that
    ran the handler, right after it returned (``portal/routing.py``). Here it is rolled back if the
    handler raised, and closed."""
    session: Session = request.app.state.db.sessions()
    token = current_session.set(session)
    try:
        yield session
    except BaseException:
        await anyio.to_thread.run_sync(roll_back, session, limiter=_finishers())
        raise
    finally:
        current_session.reset(token)
        if session.in_transaction():  # only a route that is not a UnitOfWorkRoute leaves one open
            await anyio.to_thread.run_sync(session.close, limiter=_finishers())
        else:
            session.close()  # nothing to release: no I/O, no thread hop


# scope="function": roll back (or close) right after the handler returns, BEFORE the response is
# sent; the route has committed by then, so a client's next request always sees this one's work.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


# The dependencies below only read app state and build objects (no I/O): ``async def`` runs them
# on the event loop. A plain ``def`` would cost each request one thread-pool round trip per
# dependency (the dispatch alone was ~10% of a catalogue page's CPU).
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue  # type: ignore[no-any-return]


async def get_application_service(request: Request, session: DbSession) -> ApplicationService:
    state = request.app.state
    return ApplicationService(
        ApplicationRepository(session),
        state.catalogue,
        state.calendar,
        state.files,
        state.settings.secret_key,
    )


async def get_account_service(request: Request, session: DbSession) -> AccountService:
    return AccountService(session, request.app.state.settings)


async def get_form(request: Request) -> FormData:
    """The request's form: already received and parsed by the route (portal/routing.py), so a plain
    ``def`` handler gets it without awaiting anything."""
    return await read_form(request)


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Applications = Annotated[ApplicationService, Depends(get_application_service)]
Accounts = Annotated[AccountService, Depends(get_account_service)]
Form = Annotated[FormData, Depends(get_form)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


END_USER_HEADER = "X-Portal-End-User"
_END_USER = re.compile(r"[0-9a-f]{32}")


def is_service(request: Request) -> bool:
    """The request carries the assistant's service token."""
    token = request.app.state.settings.service_token
    auth = request.headers.get("Authorization", "")
    return bool(token) and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:], token)


def lookup_client(request: Request) -> str:
    """Whom a code + phone lookup is counted against: the person's address — or, when the
    assistant asks with the service token, the person it acts for (the opaque key the portal's
    relay gave it, ``X-Portal-End-User``). Both spell the same key, so a person has one budget
    whether they ask the page or the assistant. The assistant's calls that name nobody share one."""
    if is_service(request):
        forwarded = request.headers.get(END_USER_HEADER, "")
        return forwarded if _END_USER.fullmatch(forwarded) else "assistant"
    return client_key(request.app.state.settings.secret_key, client_ip(request))
