"""Routes whose unit of work commits on the handler's own thread.

FastAPI runs a sync handler on the shared threadpool and then needs *another*
threadpool slot to validate the response and run dependency teardown. If the
handler holds a row lock (the case-number counter, a case being processed),
and every slot is taken by requests waiting for that lock, nothing can ever
commit. Committing right where the handler finishes — same thread, before
returning — makes that impossible. Every portal router uses this class.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from portal import ratelimit

current_session: ContextVar[Session | None] = ContextVar("current_session", default=None)


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
            _commit()
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


def Router(**kwargs: Any) -> APIRouter:  # noqa: N802 - reads like the class it builds
    """An APIRouter whose routes commit on the handler's thread (see module docstring)."""
    return APIRouter(route_class=UnitOfWorkRoute, **kwargs)
