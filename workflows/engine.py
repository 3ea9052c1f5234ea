"""Workflow engine: runs a definition's :class:`~workflows.definitions.Workflow`.

A pure library (no web framework, no database). The portal loads a case,
asks :func:`plan_transition` what taking an action would do, and persists the
returned :class:`Transition` (new state, history row, effects to enqueue)
atomically with ``WHERE version = transition.expected_version``.

Every rule about *who may do what, when, with which inputs* is checked here,
in one place, and refused with a typed error whose ``message`` is Vietnamese
and ready to show. Deadlines are computed by :class:`DeadlineClock` on top of
the working-day calendar: time the citizen spends supplementing is excluded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from workflows.calendar import VN_TZ, WorkingCalendar, now
from workflows.definitions import ROLES, Action, Definition, TimeLimit, Workflow

ROLE_LABELS: dict[str, str] = {
    "citizen": "Công dân",
    "tiep_nhan": "Cán bộ tiếp nhận",  # reception officer at the one-stop desk
    "chuyen_vien": "Chuyên viên",  # specialist who appraises
    "lanh_dao": "Lãnh đạo",  # head who approves and signs
    "van_thu": "Văn thư",  # records office: number, stamp, issue
    "ke_toan": "Kế toán",
    "admin": "Quản trị hệ thống",
    "system": "Hệ thống",
}

COMMENT_MAX = 2000
ITEM_MAX = 500

# -- errors ------------------------------------------------------------------


class WorkflowError(Exception):
    """An action was refused; ``message`` is Vietnamese, ``status_code`` a hint for HTTP adapters."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownAction(WorkflowError):
    status_code = 404


class ForbiddenAction(WorkflowError):
    status_code = 403


class InvalidState(WorkflowError):
    status_code = 409


class AlreadyUsed(WorkflowError):
    status_code = 409


class InvalidInput(WorkflowError):
    """An input is present but not acceptable; ``field`` names the form field."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MissingInput(InvalidInput):
    """A required input (comment, reason, items, new_date, assignee, documents) is missing."""


# -- inputs and outputs ------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    role: str
    id: str
    agency: str | None = None  # staff's agency; None for citizens and system jobs


@dataclass(frozen=True)
class ActionInputs:
    comment: str = ""
    reason: str | None = None
    items: tuple[str, ...] = ()  # what the citizen must supplement
    new_date: date | None = None  # new appointment date (apology letter)
    assignee: str | None = None
    documents: tuple[str, ...] = ()  # keys of files attached to this action


@dataclass(frozen=True)
class HistoryFacts:
    """What the case's history says about once-only actions."""

    used_once_actions: frozenset[str] = frozenset()
    supplement_count: int = 0


@dataclass(frozen=True)
class CaseSnapshot:
    state: str
    version: int  # optimistic-concurrency version as read by the caller
    supplement_count: int = 0
    used_once_actions: frozenset[str] = frozenset()
    agency: str | None = None  # receiving agency; checked against staff actors when both are known
    applicant_id: str | None = None  # checked against citizen actors when known
    due_date: date | None = None  # current appointment date; a new date must be later

    @property
    def facts(self) -> HistoryFacts:
        return HistoryFacts(frozenset(self.used_once_actions), self.supplement_count)


ClockKind = Literal["pause", "resume", "stop"]


@dataclass(frozen=True)
class ClockEvent:
    kind: ClockKind
    at: datetime


@dataclass(frozen=True)
class Transition:
    """The outcome of an accepted action: what to persist and what to do after commit."""

    action: str
    action_label: str
    from_state: str
    to_state: str
    effects: tuple[str, ...]
    actor_role: str
    actor_id: str
    at: datetime
    expected_version: int
    comment: str = ""
    reason: str | None = None
    reason_label: str | None = None
    items: tuple[str, ...] = ()
    new_date: date | None = None
    assignee: str | None = None
    documents: tuple[str, ...] = ()
    final: bool = False
    outcome: str | None = None
    clock: Literal["running", "paused", "stopped"] = "running"  # clock of the state entered
    clock_event: ClockEvent | None = None
    once: bool = False  # the caller adds ``action`` to the case's used once-actions
    supplement_request: bool = False  # the caller increments the case's supplement count

    @property
    def new_version(self) -> int:
        return self.expected_version + 1

    @property
    def stays(self) -> bool:
        return self.from_state == self.to_state


# -- authorisation -------------------------------------------------------------


def available_actions(
    workflow: Workflow, state: str, role: str, history_facts: HistoryFacts | None = None
) -> list[Action]:
    """Actions ``role`` may take from ``state`` now (once-only actions already used are left out)."""
    facts = history_facts or HistoryFacts()
    return [a for a in workflow.actions_from(state) if role in a.roles and _used_message(a, facts) is None]


def _used_message(action: Action, facts: HistoryFacts) -> str | None:
    if "issue_supplement_request" in action.effects and facts.supplement_count > 0:
        return (
            "Hồ sơ đã được yêu cầu bổ sung một lần. Theo quy định, việc yêu cầu bổ sung chỉ thực hiện "
            "một lần, bằng văn bản, nêu đầy đủ các nội dung cần bổ sung."
        )
    if action.once and action.key in facts.used_once_actions:
        return f"Thao tác «{action.label.vi}» chỉ được thực hiện một lần cho mỗi hồ sơ và đã được thực hiện."
    return None


def _authorise(workflow: Workflow, case: CaseSnapshot, action_key: str, actor: Actor) -> Action:
    try:
        action = workflow.action(action_key)
    except KeyError:
        raise UnknownAction(f"Thao tác «{action_key}» không có trong quy trình của thủ tục này.") from None
    try:
        state = workflow.state(case.state)
    except KeyError:
        raise InvalidState(f"Trạng thái «{case.state}» không có trong quy trình của thủ tục này.") from None
    if state.final:
        raise InvalidState(f"Hồ sơ đã kết thúc («{state.label.vi}»), không thể thực hiện thêm thao tác.")
    if actor.role not in ROLES:
        raise ForbiddenAction(f"Vai trò «{actor.role}» không được hệ thống công nhận.")
    if actor.role not in action.roles:
        allowed = ", ".join(ROLE_LABELS.get(r, r) for r in action.roles)
        raise ForbiddenAction(
            f"{ROLE_LABELS.get(actor.role, actor.role)} không được thực hiện thao tác «{action.label.vi}» "
            f"(chỉ dành cho: {allowed})."
        )
    if case.state not in action.from_:
        raise InvalidState(f"Không thể «{action.label.vi}» khi hồ sơ đang ở trạng thái «{state.label.vi}».")
    if actor.role == "citizen":
        if case.applicant_id is not None and actor.id != case.applicant_id:
            raise ForbiddenAction("Chỉ người đã nộp hồ sơ mới được thực hiện thao tác này.")
    elif actor.role != "system" and case.agency and actor.agency and actor.agency != case.agency:
        raise ForbiddenAction("Hồ sơ thuộc cơ quan khác; bạn không có quyền xử lý hồ sơ này.")
    used = _used_message(action, case.facts)
    if used:
        raise AlreadyUsed(used)
    return action


# -- planning ----------------------------------------------------------------


def plan_transition(
    definition: Definition,
    case: CaseSnapshot,
    action_key: str,
    actor: Actor,
    inputs: ActionInputs | None = None,
    *,
    at: datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> Transition:
    """Validate taking ``action_key`` on ``case`` and describe the result; raise a WorkflowError if refused.

    ``at`` defaults to now (must be timezone-aware). With a ``calendar``, a new
    appointment date must also be a working day.
    """
    moment = at or now()
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware")
    workflow = definition.workflow
    action = _authorise(workflow, case, action_key, actor)
    given = inputs or ActionInputs()
    comment = _comment(action, given)
    reason, reason_label = _reason(action, given)
    items = _items(action, given)
    new_date = _new_date(action, given, case, moment, calendar)
    assignee = _assignee(action, given, actor)
    documents = _documents(action, given)
    source = workflow.state(case.state)
    target = workflow.state(action.target(case.state))
    return Transition(
        action=action.key,
        action_label=action.label.vi,
        from_state=source.key,
        to_state=target.key,
        effects=tuple(action.effects),
        actor_role=actor.role,
        actor_id=actor.id,
        at=moment,
        expected_version=case.version,
        comment=comment,
        reason=reason,
        reason_label=reason_label,
        items=items,
        new_date=new_date,
        assignee=assignee,
        documents=documents,
        final=target.final,
        outcome=target.outcome,
        clock=target.clock,
        clock_event=_clock_event(source.clock, target.clock, moment),
        once=action.once,
        supplement_request="issue_supplement_request" in action.effects,
    )


def _clock_event(before: str, after: str, moment: datetime) -> ClockEvent | None:
    if before == after:
        return None
    if after == "stopped":
        return ClockEvent("stop", moment)
    if after == "paused":
        return ClockEvent("pause", moment)
    return ClockEvent("resume", moment) if before == "paused" else None


def _comment(action: Action, given: ActionInputs) -> str:
    comment = (given.comment or "").strip()
    if action.requires.comment and not comment:
        raise MissingInput("comment", "Vui lòng nhập ý kiến xử lý.")
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("comment", f"Ý kiến xử lý dài quá {COMMENT_MAX} ký tự.")
    return comment


def _reason(action: Action, given: ActionInputs) -> tuple[str | None, str | None]:
    key = (given.reason or "").strip()
    if not key:
        if action.requires.reason:
            raise MissingInput("reason", "Vui lòng chọn lý do.")
        return None, None
    for reason in action.reasons:
        if reason.key == key:
            return reason.key, reason.label.vi
    if not action.reasons:
        return None, None  # this action takes no reason; ignore a stray one
    raise InvalidInput("reason", f"Lý do «{key}» không có trong danh sách lý do của thao tác này.")


def _items(action: Action, given: ActionInputs) -> tuple[str, ...]:
    if not action.requires.items:
        return ()
    items = tuple(dict.fromkeys(i.strip() for i in given.items if i and i.strip()))
    if not items:
        raise MissingInput(
            "items",
            "Vui lòng liệt kê đầy đủ các giấy tờ, nội dung cần bổ sung (chỉ được yêu cầu bổ sung một lần).",
        )
    too_long = [i for i in items if len(i) > ITEM_MAX]
    if too_long:
        raise InvalidInput("items", f"Mỗi nội dung cần bổ sung không quá {ITEM_MAX} ký tự.")
    return items


def _new_date(
    action: Action,
    given: ActionInputs,
    case: CaseSnapshot,
    moment: datetime,
    calendar: WorkingCalendar | None,
) -> date | None:
    if not action.requires.new_date:
        return None
    new_date = given.new_date
    if new_date is None:
        raise MissingInput("new_date", "Vui lòng chọn ngày hẹn trả kết quả mới.")
    today = moment.astimezone(VN_TZ).date()
    if new_date <= today:
        raise InvalidInput("new_date", "Ngày hẹn trả kết quả mới phải sau ngày hôm nay.")
    if case.due_date is not None and new_date <= case.due_date:
        raise InvalidInput(
            "new_date", f"Ngày hẹn mới phải sau ngày hẹn trả hiện tại ({case.due_date:%d/%m/%Y})."
        )
    if calendar is not None and not calendar.is_working_day(new_date):
        raise InvalidInput("new_date", f"Ngày {new_date:%d/%m/%Y} không phải ngày làm việc.")
    return new_date


def _assignee(action: Action, given: ActionInputs, actor: Actor) -> str | None:
    assignee = (given.assignee or "").strip() or None
    if action.requires.assignee:
        if assignee is None:
            raise MissingInput("assignee", "Vui lòng chọn người nhận xử lý.")
        if assignee == actor.id:
            raise InvalidInput("assignee", "Không thể chuyển hồ sơ cho chính mình.")
    return assignee


def _documents(action: Action, given: ActionInputs) -> tuple[str, ...]:
    documents = tuple(dict.fromkeys(d for d in given.documents if d))
    missing = [d for d in action.requires.documents if d not in documents]
    if missing:
        raise MissingInput("documents", f"Thiếu tệp đính kèm bắt buộc: {', '.join(missing)}.")
    return documents


# -- deadlines ---------------------------------------------------------------


class DeadlineStatus(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"  # due today or on the next working day
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DeadlineClock:
    """Appointment date of a case, with supplement pauses excluded.

    The limit runs in working days from the (effective) receipt day, as in
    :meth:`WorkingCalendar.due_date`. A pause from day P to a resume
    effective on day R excludes the working days in (P, R] — the resume day
    is treated like a new receipt day. Pauses before ``received_at`` (a
    supplement asked for before the dossier was accepted) are ignored. An
    open pause counts up to the moment asked about, so a paused case keeps
    the status it had when it was paused.
    """

    calendar: WorkingCalendar
    received_at: datetime
    working_days: int | None = None
    same_day: bool = False
    events: tuple[ClockEvent, ...] = field(default=())

    @classmethod
    def for_time_limit(
        cls,
        time_limit: TimeLimit,
        calendar: WorkingCalendar,
        received_at: datetime,
        events: Iterable[ClockEvent] = (),
    ) -> DeadlineClock:
        return cls(calendar, received_at, time_limit.working_days, time_limit.same_day, tuple(events))

    def base_due_date(self) -> date:
        """The due date ignoring pauses."""
        return self.calendar.due_date(
            self.received_at, working_days=self.working_days, same_day=self.same_day
        )

    def _sorted(self) -> list[ClockEvent]:
        return sorted(self.events, key=lambda e: e.at)

    def stopped_at(self) -> datetime | None:
        return next((e.at for e in self._sorted() if e.kind == "stop"), None)

    def _pauses(self, until: datetime) -> list[tuple[datetime, datetime | None]]:
        """(pause, resume or None if still open at ``until``) intervals, clipped to [received_at, until]."""
        spans: list[tuple[datetime, datetime | None]] = []
        start: datetime | None = None
        for event in self._sorted():
            if event.at > until or event.kind == "stop":
                break
            if event.kind == "pause" and start is None:
                start = event.at
            elif event.kind == "resume" and start is not None:
                spans.append((start, event.at))
                start = None
        if start is not None:
            spans.append((start, None))
        clipped: list[tuple[datetime, datetime | None]] = []
        for begin, end in spans:
            if end is not None and end <= self.received_at:
                continue
            clipped.append((max(begin, self.received_at), end))
        return clipped

    def paused_working_days(self, as_of: datetime | None = None) -> int:
        until = self._until(as_of)
        total = 0
        for begin, end in self._pauses(until):
            first = begin.astimezone(VN_TZ).date()
            last = self.calendar.effective_receipt_day(end) if end else until.astimezone(VN_TZ).date()
            total += max(self.calendar.working_days_between(first, last), 0)
        return total

    def due_date(self, as_of: datetime | None = None) -> date:
        return self.calendar.add_working_days(self.base_due_date(), self.paused_working_days(as_of))

    def is_paused(self, at: datetime) -> bool:
        pauses = self._pauses(self._until(at))
        return bool(pauses) and pauses[-1][1] is None and self.stopped_at() is None

    def status(self, at: datetime | None = None) -> DeadlineStatus:
        """On time, due soon (due within 1 working day) or overdue at ``at``.

        Once the clock has stopped the answer is final: on time or overdue.
        """
        asked = at or now()
        moment = self._until(asked)
        due = self.due_date(moment)
        today = moment.astimezone(VN_TZ).date()
        if today > due:
            return DeadlineStatus.OVERDUE
        if moment < asked:
            return DeadlineStatus.ON_TIME  # the clock stopped (case finished) by the due date
        if self.calendar.working_days_between(today, due) <= 1:
            return DeadlineStatus.DUE_SOON
        return DeadlineStatus.ON_TIME

    def remaining_working_days(self, at: datetime | None = None) -> int:
        """Working days left until the due date (negative when overdue)."""
        moment = self._until(at)
        return self.calendar.working_days_between(moment.astimezone(VN_TZ).date(), self.due_date(moment))

    @property
    def supplement_requests(self) -> int:
        return sum(1 for e in self.events if e.kind == "pause")

    def counted_late(self, at: datetime | None = None) -> bool:
        """Decision 766: late if past the due date, or if a supplement was requested more than once."""
        return self.supplement_requests > 1 or self.status(at) is DeadlineStatus.OVERDUE

    def _until(self, at: datetime | None) -> datetime:
        moment = at or now()
        if moment.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        stop = self.stopped_at()
        return min(moment, stop) if stop is not None else moment


def step_due_date(calendar: WorkingCalendar, entered_at: datetime, budget_days: int) -> date:
    """When a step entered at ``entered_at`` must hand over, for the process-control slip."""
    return calendar.due_date(entered_at, working_days=budget_days)
