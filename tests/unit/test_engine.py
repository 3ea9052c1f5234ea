"""Workflow engine: every transition of every shipped definition, refusals, and the deadline clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from workflows.calendar import VN_TZ, WorkingCalendar
from workflows.definitions import ROLES, Action, Definition, load_registry
from workflows.engine import (
    ActionInputs,
    Actor,
    AlreadyUsed,
    CaseSnapshot,
    ClockEvent,
    DeadlineClock,
    DeadlineStatus,
    ForbiddenAction,
    HistoryFacts,
    InvalidInput,
    InvalidState,
    MissingInput,
    Transition,
    UnknownAction,
    WorkflowError,
    available_actions,
    plan_transition,
    step_due_date,
)

REGISTRY = load_registry()
DEFINITIONS = [d for code in REGISTRY.codes() for d in REGISTRY.versions(code)]
CAL = WorkingCalendar()
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)  # a Monday
AGENCY = "H29.41.01"
APPLICANT = "citizen-1"


def vn(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def actor(role: str) -> Actor:
    if role == "citizen":
        return Actor(role, APPLICANT)
    return Actor(role, f"{role}-1", AGENCY)


def full_inputs(action: Action) -> ActionInputs:
    """Inputs that satisfy everything ``action`` requires."""
    need = action.requires
    return ActionInputs(
        comment="Đã kiểm tra." if need.comment else "",
        reason=action.reasons[0].key if need.reason else None,
        items=("Bản sao giấy khai sinh",) if need.items else (),
        new_date=date(2026, 3, 20) if need.new_date else None,
        assignee="chuyen_vien-2" if need.assignee else None,
        documents=tuple(need.documents),
    )


def case_in(state: str, **changes: object) -> CaseSnapshot:
    case = CaseSnapshot(state=state, version=7, agency=AGENCY, applicant_id=APPLICANT)
    return replace(case, **changes)  # type: ignore[arg-type]


def all_moves() -> list[tuple[Definition, Action, str, str]]:
    return [
        (d, a, source, role)
        for d in DEFINITIONS
        for a in d.workflow.actions
        for source in a.from_
        for role in a.roles
    ]


def move_id(move: tuple[Definition, Action, str, str]) -> str:
    d, a, source, role = move
    return f"{d.slug}.v{d.version}:{source}-{a.key}-{role}"


# -- every allowed transition ----------------------------------------------------


@pytest.mark.parametrize("move", all_moves(), ids=move_id)
def test_every_allowed_transition_lands_in_its_target(move: tuple[Definition, Action, str, str]) -> None:
    definition, action, source, role = move
    t = plan_transition(definition, case_in(source), action.key, actor(role), full_inputs(action), at=NOW)
    assert t.from_state == source
    assert t.to_state == (source if action.stays else action.to)
    assert t.action == action.key and t.effects == action.effects
    assert t.actor_role == role and t.actor_id == actor(role).id and t.at == NOW
    assert t.expected_version == 7 and t.new_version == 8
    assert t.final == definition.workflow.state(t.to_state).final
    assert action in available_actions(definition.workflow, source, role)


def test_the_shipped_workflows_have_moves_to_test() -> None:
    assert len(all_moves()) >= 20 * len(DEFINITIONS)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: f"{d.slug}.v{d.version}")
def test_happy_path_reaches_the_result(definition: Definition) -> None:
    case = case_in(definition.workflow.initial, version=1)
    path = [
        ("accept", "tiep_nhan"),
        ("appraise", "chuyen_vien"),
        ("approve", "lanh_dao"),
        ("issue", "van_thu"),
        ("return_result", "tiep_nhan"),
    ]
    for key, role in path:
        t = plan_transition(
            definition, case, key, actor(role), full_inputs(definition.workflow.action(key)), at=NOW
        )
        case = replace(case, state=t.to_state, version=t.new_version)
    assert case.state == "da_tra_ket_qua" and case.version == 6
    assert t.final and t.outcome == "result" and t.clock_event == ClockEvent("stop", NOW)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: f"{d.slug}.v{d.version}")
def test_clock_effects_agree_with_the_state_clocks(definition: Definition) -> None:
    effect_kind = {"pause_clock": "pause", "resume_clock": "resume", "stop_clock": "stop"}
    for action in definition.workflow.actions:
        for source in action.from_:
            t = plan_transition(
                definition, case_in(source), action.key, actor(action.roles[0]), full_inputs(action), at=NOW
            )
            declared = [effect_kind[e] for e in action.effects if e in effect_kind]
            assert declared == ([t.clock_event.kind] if t.clock_event else []), (action.key, source)


# -- refusals --------------------------------------------------------------------


def forbidden_moves() -> list[tuple[Definition, Action, str]]:
    return [
        (d, a, role) for d in DEFINITIONS for a in d.workflow.actions for role in ROLES if role not in a.roles
    ]


@pytest.mark.parametrize(
    "move", forbidden_moves(), ids=lambda m: f"{m[0].slug}.v{m[0].version}:{m[1].key}-{m[2]}"
)
def test_roles_not_listed_are_forbidden(move: tuple[Definition, Action, str]) -> None:
    definition, action, role = move
    with pytest.raises(ForbiddenAction) as caught:
        plan_transition(
            definition, case_in(action.from_[0]), action.key, actor(role), full_inputs(action), at=NOW
        )
    assert action.label.vi in caught.value.message
    assert caught.value.status_code == 403
    assert action not in available_actions(definition.workflow, action.from_[0], role)


def wrong_state_moves() -> list[tuple[Definition, Action, str]]:
    return [
        (d, a, s.key)
        for d in DEFINITIONS
        for a in d.workflow.actions
        for s in d.workflow.states
        if s.key not in a.from_ and not s.final
    ]


@pytest.mark.parametrize(
    "move", wrong_state_moves(), ids=lambda m: f"{m[0].slug}.v{m[0].version}:{m[2]}-{m[1].key}"
)
def test_actions_from_other_states_are_refused(move: tuple[Definition, Action, str]) -> None:
    definition, action, state = move
    with pytest.raises(InvalidState) as caught:
        plan_transition(
            definition, case_in(state), action.key, actor(action.roles[0]), full_inputs(action), at=NOW
        )
    assert definition.workflow.state(state).label.vi in caught.value.message


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: f"{d.slug}.v{d.version}")
def test_final_states_refuse_everything(definition: Definition) -> None:
    finals = [s.key for s in definition.workflow.states if s.final]
    assert set(finals) == {"da_tra_ket_qua", "tu_choi", "da_rut"}
    for state in finals:
        for action in definition.workflow.actions:
            for role in action.roles:
                with pytest.raises(InvalidState, match="đã kết thúc"):
                    plan_transition(
                        definition, case_in(state), action.key, actor(role), full_inputs(action), at=NOW
                    )
        assert available_actions(definition.workflow, state, "tiep_nhan") == []


def required_inputs() -> list[tuple[Definition, Action, str]]:
    moves = []
    for d in DEFINITIONS:
        for a in d.workflow.actions:
            need = a.requires
            for name in ("comment", "reason", "items", "new_date", "assignee"):
                if getattr(need, name):
                    moves.append((d, a, name))
            if need.documents:
                moves.append((d, a, "documents"))
    return moves


@pytest.mark.parametrize(
    "move", required_inputs(), ids=lambda m: f"{m[0].slug}.v{m[0].version}:{m[1].key}-{m[2]}"
)
def test_missing_required_input_is_refused(move: tuple[Definition, Action, str]) -> None:
    definition, action, name = move
    empty = {
        "comment": "   ",
        "reason": None,
        "items": ("", " "),
        "new_date": None,
        "assignee": None,
        "documents": (),
    }
    inputs = replace(full_inputs(action), **{name: empty[name]})
    with pytest.raises(MissingInput) as caught:
        plan_transition(
            definition, case_in(action.from_[0]), action.key, actor(action.roles[0]), inputs, at=NOW
        )
    assert caught.value.field == name
    assert caught.value.message


def test_the_template_requires_what_one_stop_rules_require() -> None:
    names = {name for _, a, name in required_inputs() if a.key == "request_supplement"}
    assert names == {"items", "comment"}
    assert {a.key for _, a, name in required_inputs() if name == "reason"} == {"refuse", "reject"}
    assert {a.key for _, a, name in required_inputs() if name == "new_date"} == {"apologise"}


DEFINITION = REGISTRY.get("2.002481", 2)


def plan(state: str, key: str, role: str, inputs: ActionInputs | None = None, **case: object) -> Transition:
    action = DEFINITION.workflow.action(key)
    return plan_transition(
        DEFINITION, case_in(state, **case), key, actor(role), inputs or full_inputs(action), at=NOW
    )


def test_reason_must_come_from_the_action_list() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan("cho_tiep_nhan", "refuse", "tiep_nhan", ActionInputs(comment="x", reason="khong_thich"))
    assert not isinstance(caught.value, MissingInput)
    assert caught.value.field == "reason" and "khong_thich" in caught.value.message
    t = plan(
        "cho_tiep_nhan", "refuse", "tiep_nhan", ActionInputs(comment="x", reason="khong_thuoc_tham_quyen")
    )
    assert t.reason_label == "Không thuộc thẩm quyền giải quyết"


def test_a_second_supplement_request_is_refused() -> None:
    first = plan("dang_tham_dinh", "request_supplement", "chuyen_vien")
    assert first.once and first.supplement_request
    with pytest.raises(AlreadyUsed, match="một lần"):
        plan(
            "dang_tham_dinh",
            "request_supplement",
            "chuyen_vien",
            used_once_actions=frozenset({"request_supplement"}),
        )
    with pytest.raises(AlreadyUsed, match="một lần"):
        plan("cho_tiep_nhan", "request_supplement", "tiep_nhan", supplement_count=1)
    used = HistoryFacts(used_once_actions=frozenset({"request_supplement"}))
    keys = {a.key for a in available_actions(DEFINITION.workflow, "cho_tiep_nhan", "tiep_nhan", used)}
    assert keys == {"accept", "refuse"}
    fresh = {a.key for a in available_actions(DEFINITION.workflow, "cho_tiep_nhan", "tiep_nhan")}
    assert fresh == {"accept", "refuse", "request_supplement"}


def test_supplement_items_are_cleaned() -> None:
    inputs = ActionInputs(comment="Thiếu giấy tờ", items=(" Học bạ ", "", "Học bạ", "Giấy giới thiệu"))
    t = plan("cho_tiep_nhan", "request_supplement", "tiep_nhan", inputs)
    assert t.items == ("Học bạ", "Giấy giới thiệu")
    assert t.clock_event == ClockEvent("pause", NOW)


@pytest.mark.parametrize(
    ("new_date", "due", "calendar", "fragment"),
    [
        (date(2026, 3, 2), None, None, "sau ngày hôm nay"),  # today
        (date(2026, 2, 27), None, None, "sau ngày hôm nay"),  # past
        (date(2026, 3, 5), date(2026, 3, 6), None, "sau ngày hẹn trả hiện tại (06/03/2026)"),
        (date(2026, 3, 7), None, CAL, "không phải ngày làm việc"),  # a Saturday
    ],
)
def test_new_appointment_date_must_be_later_and_a_working_day(
    new_date: date, due: date | None, calendar: WorkingCalendar | None, fragment: str
) -> None:
    case = case_in("dang_tham_dinh", due_date=due)
    inputs = ActionInputs(comment="Cần xác minh thêm", new_date=new_date)
    with pytest.raises(InvalidInput) as caught:
        plan_transition(
            DEFINITION, case, "apologise", actor("chuyen_vien"), inputs, at=NOW, calendar=calendar
        )
    assert caught.value.field == "new_date" and fragment in caught.value.message


def test_apology_keeps_the_state_and_carries_the_new_date() -> None:
    inputs = ActionInputs(comment="Cần xác minh thêm", new_date=date(2026, 3, 10))
    case = case_in("cho_phe_duyet", due_date=date(2026, 3, 5))
    t = plan_transition(DEFINITION, case, "apologise", actor("lanh_dao"), inputs, at=NOW, calendar=CAL)
    assert t.stays and t.to_state == "cho_phe_duyet" and t.new_date == date(2026, 3, 10)
    assert "issue_apology" in t.effects and t.clock_event is None


def test_forward_cannot_go_to_oneself() -> None:
    inputs = ActionInputs(comment="Nhờ anh xử lý", assignee="chuyen_vien-1")
    with pytest.raises(InvalidInput, match="chính mình"):
        plan("dang_tham_dinh", "forward", "chuyen_vien", inputs)


def test_staff_of_another_agency_are_forbidden() -> None:
    stranger = Actor("tiep_nhan", "tn-9", "H29.41.05")
    with pytest.raises(ForbiddenAction, match="cơ quan khác"):
        plan_transition(DEFINITION, case_in("cho_tiep_nhan"), "accept", stranger, at=NOW)
    unknown_case_agency = case_in("cho_tiep_nhan", agency=None)
    assert (
        plan_transition(DEFINITION, unknown_case_agency, "accept", stranger, at=NOW).to_state
        == "dang_tham_dinh"
    )


def test_only_the_applicant_may_act_as_citizen() -> None:
    with pytest.raises(ForbiddenAction, match="người đã nộp"):
        plan_transition(
            DEFINITION, case_in("cho_bo_sung"), "submit_supplement", Actor("citizen", "other"), at=NOW
        )
    t = plan_transition(DEFINITION, case_in("cho_bo_sung"), "submit_supplement", actor("citizen"), at=NOW)
    assert t.to_state == "cho_tiep_nhan" and t.clock_event == ClockEvent("resume", NOW)


def test_unknown_action_role_and_state() -> None:
    with pytest.raises(UnknownAction):
        plan_transition(DEFINITION, case_in("cho_tiep_nhan"), "sign", actor("lanh_dao"), at=NOW)
    with pytest.raises(ForbiddenAction, match="không được hệ thống công nhận"):
        plan_transition(DEFINITION, case_in("cho_tiep_nhan"), "accept", Actor("hacker", "x"), at=NOW)
    with pytest.raises(InvalidState, match="không có trong quy trình"):
        plan_transition(DEFINITION, case_in("dang_xu_ly"), "accept", actor("tiep_nhan"), at=NOW)


def test_errors_share_a_base_with_vietnamese_messages() -> None:
    for error in (UnknownAction, ForbiddenAction, InvalidState, AlreadyUsed, InvalidInput, MissingInput):
        assert issubclass(error, WorkflowError)
    with pytest.raises(WorkflowError) as caught:
        plan("cho_tiep_nhan", "approve", "lanh_dao")
    assert "Không thể «Phê duyệt và ký số kết quả»" in caught.value.message


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_transition(
            DEFINITION, case_in("cho_tiep_nhan"), "accept", actor("tiep_nhan"), at=datetime(2026, 3, 2)
        )


# -- deadline clock ------------------------------------------------------------------


def clock(
    received: datetime, working_days: int | None, *events: ClockEvent, same_day: bool = False
) -> DeadlineClock:
    return DeadlineClock(CAL, received, working_days, same_day, tuple(events))


def test_no_pause_is_the_calendar_due_date() -> None:
    c = clock(vn(2026, 3, 2), 5)
    assert c.due_date(vn(2026, 3, 3)) == c.base_due_date() == date(2026, 3, 9)
    assert c.paused_working_days(vn(2026, 3, 20)) == 0


def test_supplement_pause_across_a_weekend_is_not_counted() -> None:
    # paused Thursday 5/3, resumed Monday 9/3: Friday and Monday (the resume day) are excluded
    c = clock(
        vn(2026, 3, 2), 5, ClockEvent("pause", vn(2026, 3, 5, 10)), ClockEvent("resume", vn(2026, 3, 9, 9))
    )
    assert c.paused_working_days(vn(2026, 3, 10)) == 2
    assert c.due_date(vn(2026, 3, 10)) == date(2026, 3, 11)


def test_supplement_pause_across_tet_adds_only_working_days() -> None:
    # received Wed 11/2/2026: 5 working days end 25/2 (Tết 16–20/2 excluded); paused Fri 13/2 → Mon 23/2
    c = clock(
        vn(2026, 2, 11), 5, ClockEvent("pause", vn(2026, 2, 13, 10)), ClockEvent("resume", vn(2026, 2, 23, 9))
    )
    assert c.base_due_date() == date(2026, 2, 25)
    assert c.paused_working_days(vn(2026, 2, 24)) == 1
    assert c.due_date(vn(2026, 2, 24)) == date(2026, 2, 26)


def test_resume_after_hours_or_on_a_sunday_counts_from_the_next_working_day() -> None:
    sunday = clock(
        vn(2026, 3, 2), 5, ClockEvent("pause", vn(2026, 3, 4)), ClockEvent("resume", vn(2026, 3, 8, 20))
    )
    assert sunday.paused_working_days(vn(2026, 3, 10)) == 3  # Thu, Fri, Mon
    evening = clock(
        vn(2026, 3, 2), 5, ClockEvent("pause", vn(2026, 3, 4)), ClockEvent("resume", vn(2026, 3, 4, 18))
    )
    assert evening.paused_working_days(vn(2026, 3, 10)) == 1
    same_day = clock(
        vn(2026, 3, 2), 5, ClockEvent("pause", vn(2026, 3, 4)), ClockEvent("resume", vn(2026, 3, 4, 16))
    )
    assert same_day.paused_working_days(vn(2026, 3, 10)) == 0


def test_a_pause_before_receipt_is_ignored() -> None:
    # supplement asked for at the desk, dossier accepted (received) only after it came back
    c = clock(vn(2026, 3, 5), 3, ClockEvent("pause", vn(2026, 3, 2)), ClockEvent("resume", vn(2026, 3, 4)))
    assert c.due_date(vn(2026, 3, 6)) == CAL.due_date(vn(2026, 3, 5), working_days=3) == date(2026, 3, 10)
    # a pause that began before receipt only counts from the receipt day: (5/3, 9/3] = Fri, Mon
    straddling = clock(
        vn(2026, 3, 5), 3, ClockEvent("pause", vn(2026, 3, 2)), ClockEvent("resume", vn(2026, 3, 9))
    )
    assert straddling.paused_working_days(vn(2026, 3, 10)) == 2


def test_an_open_pause_keeps_the_status_it_had() -> None:
    c = clock(vn(2026, 3, 2), 5, ClockEvent("pause", vn(2026, 3, 5, 10)))
    assert c.is_paused(vn(2026, 3, 20))
    assert not c.is_paused(vn(2026, 3, 4))
    assert c.paused_working_days(vn(2026, 3, 20)) == 11  # the working days in (5/3, 20/3]
    assert c.due_date(vn(2026, 3, 20)) == date(2026, 3, 24)  # 9/3 moved by those 11 days
    assert c.status(vn(2026, 3, 20)) is DeadlineStatus.ON_TIME
    assert c.remaining_working_days(vn(2026, 3, 20)) == 2


def test_same_day_procedure_with_a_pause() -> None:
    pause, resume = ClockEvent("pause", vn(2026, 3, 4, 11)), ClockEvent("resume", vn(2026, 3, 6, 9))
    c = clock(vn(2026, 3, 4, 10), None, pause, resume, same_day=True)
    assert c.base_due_date() == date(2026, 3, 4)
    assert c.due_date(vn(2026, 3, 6, 10)) == date(2026, 3, 6)


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (vn(2026, 3, 5, 9), DeadlineStatus.ON_TIME),  # Thu, 2 working days before Mon 9/3
        (vn(2026, 3, 6, 9), DeadlineStatus.DUE_SOON),  # Fri: due on the next working day
        (vn(2026, 3, 7, 9), DeadlineStatus.DUE_SOON),  # Sat: still one working day left
        (vn(2026, 3, 9, 16, 59), DeadlineStatus.DUE_SOON),  # due today
        (vn(2026, 3, 9, 23, 59), DeadlineStatus.DUE_SOON),
        (vn(2026, 3, 10, 0, 1), DeadlineStatus.OVERDUE),
    ],
)
def test_status_thresholds(at: datetime, status: DeadlineStatus) -> None:
    c = clock(vn(2026, 3, 2), 5)
    assert c.due_date(at) == date(2026, 3, 9)
    assert c.status(at) is status
    assert c.status(at).value in {"on_time", "due_soon", "overdue"}


def test_a_stopped_clock_freezes_the_status() -> None:
    on_time = clock(vn(2026, 3, 2), 5, ClockEvent("stop", vn(2026, 3, 6, 10)))
    assert on_time.status(vn(2026, 3, 6, 9)) is DeadlineStatus.DUE_SOON  # before it stopped
    assert on_time.status(vn(2026, 4, 1)) is DeadlineStatus.ON_TIME  # finished in time
    assert not on_time.counted_late(vn(2026, 4, 1))
    late = clock(vn(2026, 3, 2), 5, ClockEvent("stop", vn(2026, 3, 10, 10)))
    assert late.status(vn(2026, 4, 1)) is DeadlineStatus.OVERDUE
    assert late.counted_late(vn(2026, 4, 1))


def test_two_supplement_requests_count_as_late() -> None:
    events = (
        ClockEvent("pause", vn(2026, 3, 3)),
        ClockEvent("resume", vn(2026, 3, 3, 14)),
        ClockEvent("pause", vn(2026, 3, 3, 15)),
        ClockEvent("resume", vn(2026, 3, 3, 16)),
        ClockEvent("stop", vn(2026, 3, 4)),
    )
    c = clock(vn(2026, 3, 2), 5, *events)
    assert c.status(vn(2026, 3, 4)) is DeadlineStatus.ON_TIME
    assert c.supplement_requests == 2 and c.counted_late(vn(2026, 3, 4))


def test_clock_from_a_definition_and_its_transitions() -> None:
    definition = REGISTRY.get("1.008950", 1)  # 7 working days
    request = ActionInputs(comment="Thiếu", items=("Giấy chứng nhận hộ nghèo",))
    case = case_in("dang_tham_dinh")
    pause = plan_transition(
        definition, case, "request_supplement", actor("chuyen_vien"), request, at=vn(2026, 3, 3, 10)
    )
    resume = plan_transition(
        definition, case_in("cho_bo_sung"), "submit_supplement", actor("citizen"), at=vn(2026, 3, 5, 10)
    )
    assert pause.clock_event and resume.clock_event
    c = DeadlineClock.for_time_limit(
        definition.time_limit, CAL, vn(2026, 3, 2), [pause.clock_event, resume.clock_event]
    )
    assert c.base_due_date() == date(2026, 3, 11)
    assert c.due_date(vn(2026, 3, 6)) == date(2026, 3, 13)


def test_step_due_date_for_the_process_control_slip() -> None:
    assert step_due_date(CAL, vn(2026, 3, 6, 10), 1) == date(2026, 3, 9)
    assert step_due_date(CAL, vn(2026, 3, 6, 10), 0) == date(2026, 3, 6)
    assert step_due_date(CAL, vn(2026, 3, 6, 18), 0) == date(2026, 3, 9)
