"""The back office's request dependencies: its services, built from the app's state and the session.

Shared by the staff pages (``web.py``) and the applicant's pages (``citizen_web.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from portal.backoffice.queues import QueueService, WorkflowIndex
from portal.backoffice.repository import QueueRepository
from portal.backoffice.service import CaseService
from portal.deps import DbSession
from portal.staff.repository import StaffRepository


def case_service(request: Request, session: DbSession) -> CaseService:
    state = request.app.state
    return CaseService(
        session, state.registry, state.calendar, state.backoffice_effects, str(state.settings.base_url)
    )


def queue_service(request: Request, session: DbSession) -> QueueService:
    state = request.app.state
    index: WorkflowIndex = state.backoffice_index
    repos = QueueRepository(session), StaffRepository(session)
    return QueueService(*repos, index, state.calendar, state.clock)


Cases = Annotated[CaseService, Depends(case_service)]
Queues = Annotated[QueueService, Depends(queue_service)]
