"""Staff queues: my cases, unassigned, all open, by state, by procedure, search — deadline first.

Pages are keyset pages over ``(effective_due_date, id)`` (no OFFSET), each
served by one of the partial indexes on open cases, so the first and the
hundredth page cost the same on a million cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from portal.backoffice.deadlines import STATUS_LABELS, status_for_due
from portal.backoffice.repository import Cursor, QueueFilter, QueueRepository
from portal.staff.models import StaffMember
from portal.staff.repository import StaffRepository
from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.calendar import now as vn_now
from workflows.definitions import Registry
from workflows.engine import DeadlineStatus
from workflows.text import fold
from workflows.validators import mask_cccd

QUEUES = {
    "dang-xu-ly": "Tất cả hồ sơ đang giải quyết",
    "cua-toi": "Hồ sơ của tôi",
    "chua-phan-cong": "Chưa phân công",
}
DEADLINE_FILTERS = {
    "qua-han": DeadlineStatus.OVERDUE,
    "sap-den-han": DeadlineStatus.DUE_SOON,
    "trong-han": DeadlineStatus.ON_TIME,
}
PAGE_SIZE = 25
_CASE_CODE = re.compile(r"^[A-Z0-9.]+-\d{6}-\d{4}$")
_ID_NUMBER = re.compile(r"^\d{9}$|^\d{12}$")


@dataclass(frozen=True)
class QueueParams:
    queue: str = "dang-xu-ly"
    status: str = ""
    procedure: str = ""
    deadline: str = ""
    q: str = ""
    include_closed: bool = False
    after: str = ""

    def query(self, **changes: Any) -> dict[str, str]:
        values = {
            "hang": self.queue,
            "trang_thai": self.status,
            "thu_tuc": self.procedure,
            "han": self.deadline,
            "q": self.q,
            "ca_da_xong": "1" if self.include_closed else "",
            "sau": self.after,
        }
        values.update({k: v for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


@dataclass
class QueueItem:
    id: str
    case_code: str
    procedure_name: str
    applicant_name: str
    cccd_masked: str
    status: str
    status_label: str
    due: date
    deadline: DeadlineStatus | None  # None: clock paused (supplement) — not counted
    deadline_label: str
    assignee_name: str
    alert: str | None
    closed: bool


@dataclass
class QueuePage:
    params: QueueParams
    title: str
    items: list[QueueItem]
    next_cursor: str | None
    total: int | None = None


@dataclass
class QueueCounts:
    mine: int
    unassigned: int
    open: int
    overdue: int
    due_soon: int
    by_status: list[tuple[str, str, int | None]] = field(default_factory=list)  # key, label, count (open)
    by_procedure: list[tuple[str, str, int]] = field(default_factory=list)


class WorkflowIndex:
    """State labels, owners, paused and final states across every definition (the queues span procedures)."""

    def __init__(self, registry: Registry) -> None:
        self.labels: dict[str, str] = {}
        self.owners: dict[str, set[str]] = {}
        self.paused: set[str] = set()
        self.final: set[str] = set()
        self.order: list[str] = []
        self.procedures: dict[str, str] = {}
        for code in registry.codes():
            versions = registry.versions(code)
            self.procedures[code] = versions[-1].name.vi
            for d in versions:
                for s in d.workflow.states:
                    if s.key not in self.labels:
                        self.labels[s.key] = s.label.vi
                        self.order.append(s.key)
                    if s.owner:
                        self.owners.setdefault(s.owner, set()).add(s.key)
                    if s.clock == "paused":
                        self.paused.add(s.key)
                    if s.final:
                        self.final.add(s.key)

    @property
    def open_states(self) -> list[str]:
        return [k for k in self.order if k not in self.final]

    def owned_by(self, roles: list[str]) -> tuple[str, ...]:
        return tuple(sorted(set().union(*(self.owners.get(r, set()) for r in roles)) - self.final))


class QueueService:
    def __init__(
        self,
        repo: QueueRepository,
        staff: StaffRepository,
        index: WorkflowIndex,
        calendar: WorkingCalendar,
        clock: Callable[[], datetime] = vn_now,
    ) -> None:
        self.repo = repo
        self.staff = staff
        self.index = index
        self.calendar = calendar
        self.clock = clock

    def today(self) -> date:
        """Today in Vietnam by the service's clock (the app's: ``app.state.clock``)."""
        return self.clock().astimezone(VN_TZ).date()

    def _deadline_bounds(self, wanted: DeadlineStatus, today: date) -> tuple[date | None, date | None]:
        soon = self.calendar.next_working_day(today)
        if wanted is DeadlineStatus.OVERDUE:
            return None, today - timedelta(days=1)
        if wanted is DeadlineStatus.DUE_SOON:
            return today, soon
        return soon + timedelta(days=1), None

    def filter_for(self, staff: StaffMember, p: QueueParams, today: date) -> tuple[QueueFilter, str]:
        title = QUEUES.get(p.queue, QUEUES["dang-xu-ly"])
        kw: dict[str, Any] = {"agency_id": staff.agency_id}
        if p.queue == "cua-toi":
            kw["assignee_id"] = staff.id
        elif p.queue == "chua-phan-cong":
            kw["unassigned"] = True
            kw["statuses"] = self.index.owned_by(staff.roles)
        if p.status in self.index.labels:
            kw["statuses"] = (p.status,)
            kw["open_only"] = p.status not in self.index.final
            title = f"Trạng thái: {self.index.labels[p.status]}"
        if p.procedure in self.index.procedures:
            kw["procedure_code"] = p.procedure
            title = f"Thủ tục: {self.index.procedures[p.procedure]}"
        wanted = DEADLINE_FILTERS.get(p.deadline)
        if wanted is not None:
            kw["due_from"], kw["due_to"] = self._deadline_bounds(wanted, today)
            kw["exclude_statuses"] = tuple(sorted(self.index.paused))
            title = f"{title} — {STATUS_LABELS[wanted].lower()}"
        q = p.q.strip()
        if q:
            title = f"Kết quả tìm kiếm «{q}»"
            code = q.upper().replace(" ", "")
            if _CASE_CODE.match(code):
                kw.update(case_code=code, open_only=False)
            elif _ID_NUMBER.match(q.replace(" ", "")):
                kw.update(cccd=q.replace(" ", ""), open_only=False)
            else:
                kw.update(name_folded=fold(q)[:100], open_only=not p.include_closed)
        return QueueFilter(**kw), title

    def page(self, staff: StaffMember, p: QueueParams, *, limit: int = PAGE_SIZE) -> QueuePage:
        today = self.today()
        f, title = self.filter_for(staff, p, today)
        rows = self.repo.page(f, after=Cursor.decode(p.after), limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        names = self.staff.names(r.assignee_id for r in rows)
        alerts = self.repo.alerts_on(today, [r.id for r in rows])
        items = [self._item(r, names, alerts, today) for r in rows]
        cursor = Cursor(rows[-1].effective_due_date, rows[-1].id).encode() if more and rows else None
        return QueuePage(p, title, items, cursor)

    def _item(self, r: Any, names: dict[int, str], alerts: dict[str, str], today: date) -> QueueItem:
        closed = r.closed_at is not None
        if r.status in self.index.paused and not closed:
            deadline, label = None, "Tạm dừng (chờ bổ sung)"
        else:
            as_of = r.closed_at.astimezone(VN_TZ).date() if closed else today
            deadline = status_for_due(self.calendar, r.effective_due_date, as_of)
            label = STATUS_LABELS[deadline]
            if closed:
                label = "Đã trả đúng hạn" if deadline is not DeadlineStatus.OVERDUE else "Kết thúc quá hạn"
        return QueueItem(
            id=r.id,
            case_code=r.case_code or "",
            procedure_name=self.index.procedures.get(r.procedure_code, r.procedure_code),
            applicant_name=r.applicant_name,
            cccd_masked=mask_cccd(r.applicant_cccd or ""),
            status=r.status,
            status_label=self.index.labels.get(r.status, r.status),
            due=r.effective_due_date,
            deadline=deadline,
            deadline_label=label,
            assignee_name=names.get(r.assignee_id, "") if r.assignee_id else "",
            alert=alerts.get(r.id),
            closed=closed,
        )

    def counts(self, staff: StaffMember) -> QueueCounts:
        today = self.today()
        _, soon_until = self._deadline_bounds(DeadlineStatus.DUE_SOON, today)
        assert soon_until is not None  # "due soon" always has an end
        rows = self.repo.open_counts(
            staff.agency_id,
            staff_id=staff.id,
            owned=self.index.owned_by(staff.roles),
            paused=tuple(sorted(self.index.paused)),
            overdue_before=today,
            soon_until=soon_until,
        )
        by_status: dict[str, int] = {}
        by_procedure: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + r.n
            by_procedure[r.procedure_code] = by_procedure.get(r.procedure_code, 0) + r.n
        return QueueCounts(
            mine=sum(r.mine for r in rows),
            unassigned=sum(r.unassigned for r in rows),
            open=sum(r.n for r in rows),
            overdue=sum(r.overdue for r in rows),
            due_soon=sum(r.due_soon for r in rows),
            by_status=[(k, self.index.labels[k], by_status.get(k, 0)) for k in self.index.order],
            by_procedure=sorted(
                ((c, self.index.procedures.get(c, c), n) for c, n in by_procedure.items()), key=lambda x: x[1]
            ),
        )
