"""One-stop documents built from a case's history: a page (HTML) and the same page as a PDF.

- ``tiep-nhan``: Giấy tiếp nhận hồ sơ và hẹn trả kết quả (the citizen side's receipt, reused)
- ``yeu-cau-bo-sung``: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
- ``tu-choi``: Phiếu từ chối tiếp nhận giải quyết hồ sơ
- ``xin-loi``: Phiếu xin lỗi và hẹn lại ngày trả kết quả
- ``kiem-soat``: Phiếu kiểm soát quá trình giải quyết hồ sơ (one row per hand-over)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from portal.applications.documents import qr_svg, render_pdf
from portal.errors import NotFound
from portal.models import Application, Attachment, CaseEvent
from portal.templating import env
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import Definition, Registry
from workflows.engine import ROLE_LABELS, step_due_date


@dataclass(frozen=True)
class DocumentKind:
    slug: str
    title: str
    template: str
    effect: str | None  # the action effect that produces it (None: always available)
    citizen: bool  # addressed to the applicant (downloadable from the citizen side)


KINDS = {
    k.slug: k
    for k in (
        DocumentKind(
            "tiep-nhan", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "documents/receipt.html", None, True
        ),
        DocumentKind(
            "yeu-cau-bo-sung",
            "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            "documents/supplement_request.html",
            "issue_supplement_request",
            True,
        ),
        DocumentKind(
            "tu-choi",
            "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
            "documents/refusal.html",
            "issue_refusal",
            True,
        ),
        DocumentKind(
            "xin-loi",
            "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
            "documents/apology.html",
            "issue_apology",
            True,
        ),
        DocumentKind(
            "kiem-soat",
            "Phiếu kiểm soát quá trình giải quyết hồ sơ",
            "documents/process_control.html",
            None,
            False,
        ),
    )
}


@dataclass(frozen=True)
class HandOver:
    """One row of the process-control slip."""

    giver: str
    receiver: str
    at: datetime
    due: date | None
    on_time: bool | None  # None: not a timed step (submission, the applicant's supplement time)
    note: str


def _source_event(kind: DocumentKind, events: list[CaseEvent]) -> CaseEvent | None:
    if kind.effect is None:
        return None
    found = [e for e in events if kind.effect in ((e.details or {}).get("effects") or ())]
    return found[-1] if found else None


def available(app: Application, events: list[CaseEvent]) -> list[DocumentKind]:
    return [k for k in KINDS.values() if k.effect is None or _source_event(k, events) is not None]


def _owner_label(owner: str | None) -> str:
    if owner == "citizen":
        return "Người nộp hồ sơ"
    return ROLE_LABELS.get(owner or "", "Bộ phận xử lý")


def process_control_rows(
    app: Application, definition: Definition, events: list[CaseEvent], calendar: WorkingCalendar
) -> list[HandOver]:
    workflow = definition.workflow
    actions = {a.key for a in workflow.actions}
    rows: list[HandOver] = []
    entered_at = app.submitted_at
    if app.submitted_at is not None:
        rows.append(
            HandOver(
                "Người nộp hồ sơ (nộp trực tuyến)",
                "Bộ phận tiếp nhận và trả kết quả",
                app.submitted_at,
                None,
                None,
                f"Cấp mã hồ sơ {app.case_code}",
            )
        )
    for e in events:
        if e.kind not in actions or not e.from_state or not e.to_state:
            continue
        details = e.details or {}
        moved = e.from_state != e.to_state
        if not moved and "assignee_id" not in details:
            continue  # an apology letter is not a hand-over
        source = workflow.state(e.from_state)
        target = workflow.state(e.to_state)
        due = on_time = None
        if source.clock == "running" and entered_at is not None:
            due = step_due_date(calendar, entered_at, source.budget_days)
            on_time = e.at.astimezone(VN_TZ).date() <= due
        giver = _owner_label("citizen" if e.actor_kind == "citizen" else source.owner)
        if e.actor_name:
            giver = f"{giver}: {e.actor_name}"
        if target.final:
            receiver = f"Kết thúc — {target.label.vi}"
        else:
            receiver = _owner_label(target.owner)
            if details.get("assignee_name"):
                receiver = f"{receiver}: {details['assignee_name']}"
        note = details.get("action_label") or e.kind
        if e.comment:
            note = f"{note}. {e.comment}"
        rows.append(HandOver(giver, receiver, e.at, due, on_time, note))
        if moved:
            entered_at = e.at
    return rows


def document_context(
    kind: DocumentKind,
    app: Application,
    definition: Definition,
    events: list[CaseEvent],
    attachments: list[Attachment],
    registry: Registry,
    calendar: WorkingCalendar,
    base_url: str,
) -> dict[str, Any]:
    source = _source_event(kind, events)
    if kind.effect is not None and source is None:
        raise NotFound(f"Hồ sơ này chưa có «{kind.title}».")
    tracking_url = f"{base_url.rstrip('/')}/tra-cuu?ma={app.case_code}"
    ctx: dict[str, Any] = {
        "kind": kind,
        "app": app,
        "d": definition,
        "agency": registry.agencies.get(app.agency_id or ""),
        "attachments": attachments,
        "event": source,
        "details": (source.details or {}) if source else {},
        "tracking_url": tracking_url,
        "base_url": base_url,
        "received_at": app.submitted_at,
        "status_label": definition.workflow.state(app.status).public_label("vi"),
        "qr": qr_svg(tracking_url),
        "issued_at": source.at if source else datetime.now(VN_TZ),
    }
    if kind.slug == "kiem-soat":
        ctx["rows"] = process_control_rows(app, definition, events, calendar)
    return ctx


def render_html(kind: DocumentKind, context: dict[str, Any]) -> str:
    return env.get_template(kind.template).render(context)


def render_document_pdf(kind: DocumentKind, context: dict[str, Any]) -> bytes:
    return render_pdf(kind.template, context)
