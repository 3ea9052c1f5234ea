"""Routes whose unit of work commits on the handler's own thread.

FastAPI runs a sync handler on the shared threadpool and then needs *another*
threadpool slot to validate the response and run dependency teardown. If the
handler holds a row lock (the case-number counter, a case being processed),
and every slot is taken by requests waiting for that lock, nothing can ever
commit. Committing right where the handler finishes — same thread, before
returning — makes that impossible. Every portal router uses this class.

The route also receives the whole request body before FastAPI resolves any dependency (see
``portal/web/bodies.py``): nothing can open a transaction — on SQLite, take the write lock — and
then wait for a slow client. A state-changing request to a CSRF-protected route from a session
that holds no CSRF token is refused before its body is read: it could never pass ``verify_csrf``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from portal import ratelimit
from portal.web import bodies, security

current_session: ContextVar[Session | None] = ContextVar("current_session", default=None)

# Commits and rollbacks run on their own threads: if they shared the request threadpool, a
# burst of requests waiting for a pooled connection could take every thread while the request
# holding the connection (and perhaps a row lock) waits for a thread to commit — a deadlock.
_FINISHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def finishers() -> anyio.CapacityLimiter:
    """A limiter per event loop (anyio primitives must not cross loops)."""
    loop = asyncio.get_running_loop()
    limiter = _FINISHERS.get(loop)
    if limiter is None:
        limiter = _FINISHERS[loop] = anyio.CapacityLimiter(32)
    return limiter


def commit(session: Session) -> None:
    """End the unit of work. A handler may have caught a failed flush (e.g. the optimistic lock of
    a double-clicked submit) and answered on purpose: then nothing of it can be committed, so it is
    rolled back instead of raising ``PendingRollbackError`` as a 500."""
    if session.in_transaction() and not session.is_active:
        roll_back(session)
        return
    session.commit()
    ratelimit.forget_pending(session)


def roll_back(session: Session) -> None:
    """Undo the unit of work, keeping its rate-limit hits (a failed attempt must still count)."""
    session.rollback()
    ratelimit.persist_after_rollback(session)


def _commit() -> None:
    session = current_session.get()
    if session is not None:
        commit(session)


def commit_after(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await endpoint(*args, **kwargs)
            session = current_session.get()
            if session is not None:  # never on the event loop: a commit is blocking I/O
                await anyio.to_thread.run_sync(commit, session, limiter=finishers())
            return result

        return async_wrapper

    @functools.wraps(endpoint)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        _commit()
        return result

    return wrapper


class UnitOfWorkRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, commit_after(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        csrf_protected = any(d.dependency is security.verify_csrf for d in self.dependencies)

        async def body_first(request: Request) -> Response:
            if request.method not in bodies.SAFE_METHODS:
                if csrf_protected:
                    security.require_session_token(request)
                await bodies.read_body(request)
            return await handle(request)

        return body_first


def Router(**kwargs: Any) -> APIRouter:  # noqa: N802 - reads like the class it builds
    """An APIRouter whose routes commit on the handler's thread (see module docstring)."""
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)
