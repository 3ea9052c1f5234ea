"""Staff pages of the assistant under /can-bo: masked chat transcripts, call-back requests.

Uses the back office's staff session and role dependency; open to ``tiep_nhan`` (the one-stop
desk, who phones citizens back) and ``admin``. A ``tiep_nhan`` sees only what was routed to their
agency (a call-back about one of its cases, or addressed to it, and the conversation it came from);
``admin`` is the central desk: everything, including what nobody routed. Anything else is a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from portal import i18n
from portal.assistant.repository import CallbackRepository, ConversationRepository
from portal.assistant.service import CallbackService, TranscriptService
from portal.deps import DbSession, Form
from portal.errors import Conflict, ValidationFailed
from portal.routing import Router
from portal.staff.auth import require_role
from portal.staff.layout import page
from portal.staff.models import StaffMember
from portal.web import security
from portal.web.render import flash, redirect

ASSISTANT_ROLES = ("tiep_nhan", "admin")

router = Router(prefix="/can-bo", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)

Reviewer = Annotated[StaffMember, Depends(require_role(*ASSISTANT_ROLES))]


def transcript_service(session: DbSession) -> TranscriptService:
    return TranscriptService(ConversationRepository(session))


def callback_service(session: DbSession) -> CallbackService:
    return CallbackService(CallbackRepository(session), ConversationRepository(session))


Transcripts = Annotated[TranscriptService, Depends(transcript_service)]
Callbacks = Annotated[CallbackService, Depends(callback_service)]

PAGE = 50


def _scope(staff: StaffMember) -> str | None:
    """The agency whose call-backs and transcripts this staff member reads; None: all (central desk)."""
    return None if staff.has_role("admin") else staff.agency_id


def _cursor(value: str) -> tuple[datetime, str] | None:
    at, _, cid = value.partition("|")
    try:
        return datetime.fromisoformat(at), cid
    except ValueError:
        return None


@router.get("/tro-ly-ao")
def conversations(
    request: Request, staff: Reviewer, transcripts: Transcripts, truoc: str = "", chua_co_ich: str = ""
) -> Response:
    rows = transcripts.recent(
        before=_cursor(truoc) if truoc else None,
        only_unhelpful=chua_co_ich == "1",
        limit=PAGE + 1,
        agency_id=_scope(staff),
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    last = rows[-1].conversation if rows else None
    next_cursor = f"{last.last_message_at.isoformat()}|{last.id}" if more and last else ""
    return page(
        request,
        "assistant/staff_conversations.html",
        staff,
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "only_unhelpful": chua_co_ich == "1",
            "first_page": not truoc,
        },
    )


@router.get("/tro-ly-ao/{conversation_id}")
def transcript(request: Request, conversation_id: str, staff: Reviewer, transcripts: Transcripts) -> Response:
    conversation, messages = transcripts.transcript(conversation_id, agency_id=_scope(staff))
    return page(
        request,
        "assistant/staff_transcript.html",
        staff,
        {"conversation": conversation, "messages": messages},
    )


@router.get("/goi-lai")
def callbacks_page(request: Request, staff: Reviewer, session: DbSession) -> Response:
    context = _callbacks_context(CallbackRepository(session), _scope(staff))
    return page(request, "assistant/staff_callbacks.html", staff, context)


def _callbacks_context(
    repo: CallbackRepository,
    scope: str | None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The call-back list of one agency (None: the central desk, which sees every request)."""
    return {
        "open": repo.open(agency_id=scope),
        "done": repo.done(agency_id=scope),
        "errors": errors or {},
        "values": values or {},
        "central": scope is None,
    }


@router.post("/goi-lai/{callback_id}/xong")
def callback_done(
    request: Request, callback_id: str, staff: Reviewer, callbacks: Callbacks, form: Form
) -> Response:
    return _callback_done(request, callback_id, staff, callbacks, str(form.get("note") or ""))


def _callback_done(
    request: Request, callback_id: str, staff: StaffMember, callbacks: CallbackService, note: str
) -> Response:
    scope = _scope(staff)
    try:
        callbacks.mark_done(
            callback_id, staff_id=staff.id, staff_name=staff.full_name, note=note, agency_id=scope
        )
    except ValidationFailed as exc:
        repo = callbacks.repo
        return page(
            request,
            "assistant/staff_callbacks.html",
            staff,
            _callbacks_context(
                repo,
                scope,
                errors={f"note-{callback_id}": exc.fields.get("note", exc.message)},
                values={f"note-{callback_id}": note},
            ),
            status=422,
        )
    except Conflict as exc:
        flash(request, i18n.gettext(exc.message))
        return redirect(request, "/can-bo/goi-lai")
    flash(request, i18n.gettext("Đã đánh dấu yêu cầu gọi lại là đã xử lý."))
    return redirect(request, "/can-bo/goi-lai")
