"""FastAPI dependencies: the request's unit of work and the services built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from portal.accounts.service import AccountService
from portal.applications.repository import ApplicationRepository
from portal.applications.service import ApplicationService
from portal.catalogue import Catalogue
from portal.config import Settings


def get_db(request: Request) -> Iterator[Session]:
    yield from request.app.state.db.session()


DbSession = Annotated[Session, Depends(get_db)]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue  # type: ignore[no-any-return]


def get_application_service(request: Request, session: DbSession) -> ApplicationService:
    state = request.app.state
    return ApplicationService(ApplicationRepository(session), state.catalogue, state.calendar, state.files,
                              state.settings.secret_key)


def get_account_service(request: Request, session: DbSession) -> AccountService:
    return AccountService(session, request.app.state.settings)


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Applications = Annotated[ApplicationService, Depends(get_application_service)]
Accounts = Annotated[AccountService, Depends(get_account_service)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
