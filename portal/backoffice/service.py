"""Case processing: which actions a staff member may take, and taking them. Never commits.

Every rule about who may do what, when and with which inputs is the
engine's (:mod:`workflows.engine`); this module builds the engine's view of a
case from its history, asks :func:`~workflows.engine.plan_transition`, then
persists the :class:`~workflows.engine.Transition` with one optimistic UPDATE
(``WHERE lock_version = expected``), one immutable history row and the
transition's effects (signed result, e-mail), all in the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.backoffice.deadlines import CaseDeadline, deadline_of, effective_due_date
from portal.backoffice.effects import Effects
from portal.backoffice.models import CaseAccessLog
from portal.backoffice.repository import AuditRepository, CaseRepository
from portal.errors import Conflict, NotFound
from portal.models import Application, CaseEvent
from portal.staff.models import StaffMember
from portal.staff.repository import StaffRepository
from workflows import engine
from workflows.calendar import WorkingCalendar
from workflows.calendar import now as vn_now
from workflows.definitions import Action, Definition, Registry, State
from workflows.engine import (
    ROLE_LABELS,
    ActionInputs,
    Actor,
    CaseSnapshot,
    HistoryFacts,
    Transition,
    WorkflowError,
)

# What the applicant reads in the tracking timeline for each action (the action's own label otherwise).
CITIZEN_LABELS: dict[str, tuple[str, str]] = {
    "accept": (
        "Hồ sơ đã được tiếp nhận và chuyển bộ phận chuyên môn giải quyết.",
        "The dossier was accepted and passed on for processing.",
    ),
    "request_supplement": (
        "Cơ quan yêu cầu bổ sung, hoàn thiện hồ sơ: {items}.",
        "Please supplement your dossier: {items}.",
    ),
    "submit_supplement": (
        "Người nộp đã bổ sung hồ sơ; hồ sơ được tiếp tục giải quyết.",
        "You supplemented the dossier; processing continues.",
    ),
    "refuse": (
        "Cơ quan từ chối tiếp nhận giải quyết hồ sơ. Lý do: {reason}.",
        "The dossier was refused. Reason: {reason}.",
    ),
    "forward": ("Hồ sơ được chuyển xử lý trong cơ quan.", "The dossier was passed to another officer."),
    "appraise": (
        "Chuyên viên đã thẩm định hồ sơ, trình lãnh đạo phê duyệt.",
        "The dossier was appraised and submitted for approval.",
    ),
    "approve": ("Lãnh đạo đã phê duyệt và ký kết quả.", "The result was approved and signed."),
    "return_for_rework": (
        "Hồ sơ được chuyên viên xử lý lại theo ý kiến của lãnh đạo.",
        "The dossier is being reworked.",
    ),
    "reject": (
        "Cơ quan không phê duyệt, từ chối giải quyết hồ sơ. Lý do: {reason}.",
        "The application was rejected. Reason: {reason}.",
    ),
    "issue": (
        "Kết quả đã được vào sổ, đóng dấu và ban hành; sẵn sàng trả cho người nộp.",
        "The result was issued and is ready.",
    ),
    "return_result": ("Đã trả kết quả giải quyết hồ sơ.", "The result was returned."),
    "apologise": (
        "Cơ quan xin lỗi vì chưa trả kết quả đúng hẹn; ngày hẹn trả kết quả mới là {new_date}.",
        "We apologise for the delay; the new date for your result is {new_date}.",
    ),
    "withdraw": ("Người nộp đã rút hồ sơ.", "You withdrew the application."),
}

# E-mails to the applicant (templates of portal.notifications), chosen by what the action does.
EMAIL_BY_EFFECT = (
    ("issue_receipt", "case_received"),
    ("issue_supplement_request", "supplement_requested"),
    ("issue_refusal", "case_refused"),
    ("issue_apology", "apology"),
)
RESULT_READY = "result_ready"
# Effects whose comment is addressed to the applicant (other staff comments stay internal).
PUBLIC_COMMENT_EFFECTS = {"issue_supplement_request", "issue_refusal", "issue_apology"}


@dataclass(frozen=True)
class OfferedAction:
    action: Action
    role: str  # the staff member's role the action is taken as
    assignees: list[StaffMember]  # who may receive the case (forward / optional hand-over)
    assignee_role: str | None


def facts_of(events: list[CaseEvent]) -> HistoryFacts:
    used = frozenset(e.kind for e in events if e.details and e.details.get("once"))
    supplements = sum(1 for e in events if e.details and e.details.get("supplement_request"))
    return HistoryFacts(used, supplements)


def conflict_message(app: Application, state_label: str) -> str:
    return (
        f"Hồ sơ {app.case_code} vừa được người khác xử lý trước bạn (trạng thái hiện tại: «{state_label}»). "
        "Thao tác của bạn chưa được thực hiện; vui lòng xem lại hồ sơ rồi thao tác lại nếu cần."
    )


class CaseService:
    def __init__(
        self, session: Session, registry: Registry, calendar: WorkingCalendar, effects: Effects, base_url: str
    ) -> None:
        self.session = session
        self.registry = registry
        self.calendar = calendar
        self.effects = effects
        self.base_url = base_url.rstrip("/")
        self.cases = CaseRepository(session)
        self.staff = StaffRepository(session)
        self.audit = AuditRepository(session)

    # -- reading -------------------------------------------------------------------------------

    def definition_of(self, app: Application) -> Definition:
        return self.registry.get(app.procedure_code, app.definition_version)

    def case_for_staff(self, staff: StaffMember, application_id: str) -> Application:
        """A submitted case of the staff member's agency (404 otherwise: other agencies' cases are hidden)."""
        app = self.cases.get(application_id)
        if app is None or app.is_draft or app.agency_id != staff.agency_id:
            raise NotFound("Không tìm thấy hồ sơ trong cơ quan của bạn.")
        return app

    def events(self, app: Application) -> list[CaseEvent]:
        return self.cases.events(app.id)

    def state_of(self, app: Application) -> State:
        return self.definition_of(app).workflow.state(app.status)

    def deadline(self, app: Application, events: list[CaseEvent], at: datetime | None = None) -> CaseDeadline:
        return deadline_of(app, self.definition_of(app), self.calendar, events, at or vn_now())

    def log_view(self, staff: StaffMember, app: Application, what: str, client_ip: str | None) -> None:
        self.audit.log(
            CaseAccessLog(
                staff_id=staff.id,
                staff_login=staff.login,
                application_id=app.id,
                case_code=app.case_code,
                what=what[:60],
                client_ip=client_ip,
            )
        )

    def snapshot(
        self, app: Application, events: list[CaseEvent], *, version: int | None = None
    ) -> CaseSnapshot:
        facts = facts_of(events)
        return CaseSnapshot(
            state=app.status,
            version=app.lock_version if version is None else version,
            supplement_count=facts.supplement_count,
            used_once_actions=facts.used_once_actions,
            agency=app.agency_id,
            applicant_id=None,
            due_date=app.effective_due_date,
        )

    def offered_actions(
        self, staff: StaffMember, app: Application, events: list[CaseEvent]
    ) -> list[OfferedAction]:
        """The engine's available actions for each of the staff member's roles, in workflow order."""
        definition = self.definition_of(app)
        workflow = definition.workflow
        if app.agency_id != staff.agency_id:
            return []
        facts = facts_of(events)
        chosen: dict[str, str] = {}
        for role in staff.roles:
            for action in engine.available_actions(workflow, app.status, role, facts):
                chosen.setdefault(action.key, role)
        offered = []
        for action in workflow.actions:
            if action.key not in chosen:
                continue
            target = workflow.state(action.target(app.status))
            owner = target.owner if target.owner not in (None, "citizen") and not target.final else None
            people = (
                [m for m in self.staff.with_role(staff.agency_id, owner) if m.id != staff.id] if owner else []
            )
            offered.append(OfferedAction(action, chosen[action.key], people, owner))
        return offered

    def role_for(self, staff: StaffMember, definition: Definition, action_key: str) -> str:
        """The staff member's role allowed to take the action, or any role (the engine then refuses)."""
        try:
            allowed = definition.workflow.action(action_key).roles
        except KeyError:
            allowed = ()
        return next((r for r in staff.roles if r in allowed), staff.roles[0] if staff.roles else "citizen")

    # -- acting --------------------------------------------------------------------------------

    def act(
        self,
        staff: StaffMember,
        app: Application,
        action_key: str,
        inputs: ActionInputs,
        expected_version: int,
        *,
        at: datetime | None = None,
    ) -> Transition:
        definition = self.definition_of(app)
        if not staff.active:
            raise engine.ForbiddenAction("Tài khoản cán bộ đã bị khoá.")
        actor = Actor(
            role=self.role_for(staff, definition, action_key), id=str(staff.id), agency=staff.agency_id
        )
        return self._take(
            app,
            definition,
            action_key,
            actor,
            inputs,
            expected_version,
            at=at,
            actor_kind="staff",
            actor_name=staff.full_name,
            signer=staff,
        )

    def act_as_citizen(
        self,
        app: Application,
        action_key: str,
        inputs: ActionInputs,
        expected_version: int,
        *,
        actor_id: str,
        actor_name: str,
        at: datetime | None = None,
    ) -> Transition:
        """An action of the applicant, whose access the caller has verified (owner, link or code + phone)."""
        definition = self.definition_of(app)
        actor = Actor(role="citizen", id=actor_id)
        return self._take(
            app,
            definition,
            action_key,
            actor,
            inputs,
            expected_version,
            at=at,
            actor_kind="citizen",
            actor_name=actor_name,
            signer=None,
        )

    def _take(
        self,
        app: Application,
        definition: Definition,
        action_key: str,
        actor: Actor,
        inputs: ActionInputs,
        expected_version: int,
        *,
        at: datetime | None,
        actor_kind: str,
        actor_name: str,
        signer: StaffMember | None,
    ) -> Transition:
        workflow = definition.workflow
        events = self.cases.events(app.id)
        stale = app.lock_version != expected_version
        try:
            transition = engine.plan_transition(
                definition,
                self.snapshot(app, events),
                action_key,
                actor,
                inputs,
                at=at or vn_now(),
                calendar=self.calendar,
            )
        except (engine.ForbiddenAction, engine.UnknownAction):
            raise  # who may do what does not depend on the version the page showed
        except WorkflowError:
            if stale:
                raise Conflict(conflict_message(app, workflow.state(app.status).label.vi)) from None
            raise
        if stale:  # the page was rendered before someone else's action: show what changed first
            raise Conflict(conflict_message(app, workflow.state(app.status).label.vi))
        assignee = self._next_assignee(app, definition, events, transition)
        values: dict[str, Any] = {
            "status": transition.to_state,
            "assignee_id": assignee.id if assignee else None,
            "effective_due_date": effective_due_date(
                app,
                definition,
                self.calendar,
                events,
                transition.clock_event,
                transition.new_date,
                transition.at,
            ),
        }
        if transition.final:
            values["closed_at"] = transition.at
        previous_due = app.effective_due_date
        if not self.cases.apply(app.id, transition.expected_version, values):
            self.session.refresh(app)
            raise Conflict(conflict_message(app, workflow.state(app.status).label.vi))
        email = self._email_for(app, events, transition)
        self.cases.add_event(self._event(app, transition, actor_kind, actor_name, assignee, values, email))
        self._effects(app, definition, transition, email, signer, previous_due)
        return transition

    def _next_assignee(
        self, app: Application, definition: Definition, events: list[CaseEvent], t: Transition
    ) -> StaffMember | None:
        """Who holds the case after ``t``: the one named, else whoever last worked on the target state."""
        target = definition.workflow.state(t.to_state)
        owner = target.owner if target.owner not in (None, "citizen") and not target.final else None
        if t.assignee is not None:
            member = self.staff.get(int(t.assignee)) if t.assignee.isdigit() else None
            if (
                owner is None
                or member is None
                or not member.active
                or member.agency_id != app.agency_id
                or owner not in member.roles
            ):
                who = ROLE_LABELS.get(owner or "", "cán bộ xử lý")
                raise engine.InvalidInput(
                    "assignee",
                    f"Người nhận không hợp lệ: phải là {who.lower()} đang "
                    "làm việc tại cơ quan tiếp nhận hồ sơ.",
                )
            return member
        if owner is None:
            return None
        if t.stays:
            return self.staff.get(app.assignee_id) if app.assignee_id else None
        for event in reversed(events):
            if (
                event.from_state == target.key
                and event.actor_kind == "staff"
                and (event.actor_id or "").isdigit()
            ):
                member = self.staff.get(int(event.actor_id or 0))
                if member is not None and member.active and owner in member.roles:
                    return member
                break
        return None

    def _event(
        self,
        app: Application,
        t: Transition,
        actor_kind: str,
        actor_name: str,
        assignee: StaffMember | None,
        values: dict[str, Any],
        email: str | None,
    ) -> CaseEvent:
        new_date = f"{t.new_date:%d/%m/%Y}" if t.new_date else ""
        vi, en = CITIZEN_LABELS.get(t.action, (t.action_label, t.action_label))
        fill = {"items": "; ".join(t.items), "reason": t.reason_label or "", "new_date": new_date}
        public_comment = actor_kind == "citizen" or bool(PUBLIC_COMMENT_EFFECTS & set(t.effects))
        details: dict[str, Any] = {
            "action": t.action,
            "action_label": t.action_label,
            "role": t.actor_role,
            "label": vi.format(**fill),
            "label_en": en.format(**fill),
            "effects": list(t.effects),
            "version": t.new_version,
            "effective_due_date": values["effective_due_date"].isoformat(),
        }
        if not public_comment:
            details["internal_comment"] = True
        if t.reason:
            details.update(reason=t.reason, reason_label=t.reason_label)
        if t.items:
            details["items"] = list(t.items)
        if t.new_date:
            details["new_date"] = t.new_date.isoformat()
        if t.documents:
            details["documents"] = list(t.documents)
        if assignee is not None:
            details.update(assignee_id=assignee.id, assignee_name=assignee.full_name)
        if t.clock_event is not None:
            details["clock"] = t.clock_event.kind
        if t.once:
            details["once"] = True
        if t.supplement_request:
            details["supplement_request"] = True
        if email is not None:
            details["email"] = email
        return CaseEvent(
            application_id=app.id,
            kind=t.action,
            at=t.at,
            actor_kind=actor_kind,
            actor_id=t.actor_id,
            actor_name=actor_name[:100],
            from_state=t.from_state,
            to_state=t.to_state,
            comment=t.comment or None,
            details=details,
            public=True,
        )

    def _email_for(self, app: Application, events: list[CaseEvent], t: Transition) -> str | None:
        """The applicant's e-mail template for ``t``, if any (recorded in the history row as ``email``)."""
        if "notify_applicant" not in t.effects or not app.applicant_email:
            return None
        template = next((name for effect, name in EMAIL_BY_EFFECT if effect in t.effects), None)
        if template is not None:
            return template
        signed = any("issue_result" in (e.details or {}).get("effects", ()) for e in events)
        told = any((e.details or {}).get("email") == RESULT_READY for e in events)
        return RESULT_READY if signed and not told else None  # issued, then returned: one mail

    def _effects(
        self,
        app: Application,
        definition: Definition,
        t: Transition,
        email: str | None,
        signer: StaffMember | None,
        previous_due: date | None,
    ) -> None:
        if "issue_result" in t.effects:
            self.effects.issue_result(self.session, app, definition, signer)
        if email is not None:
            self.effects.enqueue_email(
                self.session,
                to=app.applicant_email,
                template=email,
                context=self.email_context(app, definition, t, previous_due),
                case_id=app.id,
                dedupe_key=f"case:{app.id}:{t.action}:v{t.new_version}",
            )

    def email_context(
        self, app: Application, definition: Definition, t: Transition, previous_due: date | None = None
    ) -> dict[str, Any]:
        """The keys of portal.notifications' templates (dates as dates; the link opens tracking).

        ``due_date`` is the appointment before an apology moved it (the letter names both)."""
        agency = self.registry.agencies.get(app.agency_id or "")
        state = definition.workflow.state(t.to_state)
        return {
            "case_code": app.case_code,
            "applicant_name": app.applicant_name,
            "procedure_name": definition.name.vi,
            "status": state.public_label("vi"),
            "comment": t.comment if PUBLIC_COMMENT_EFFECTS & set(t.effects) else "",
            "items": list(t.items),
            "reason": t.reason_label or "",
            "new_date": t.new_date,
            "due_date": previous_due if t.new_date and previous_due else app.effective_due_date,
            "link": f"{self.base_url}/tra-cuu?ma={app.case_code}",
            "agency_name": agency.name.vi if agency else "",
            "action_label": t.action_label,
        }
