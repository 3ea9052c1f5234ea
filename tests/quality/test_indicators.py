"""Each Decision 766 indicator against hand-computed numbers (see the scenario in conftest.py)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from portal.quality.indicators import Counts, Indicators
from portal.quality.models import CaseFacts, MonthlyQuality
from portal.quality.repository import Filters, QualityRepository
from portal.quality.service import DashboardService
from portal.quality.tracking import FactsRefresher
from tests.builders import settle
from tests.quality.conftest import TODAY, Scenario

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


def board(app: FastAPI, **filters: str) -> object:
    settle(app)
    with app.state.db.sessions() as session:
        service = DashboardService(QualityRepository(session), app.state.registry)
        return service.build(Filters(NOV, DEC, **filters), TODAY, detail=True)


def facts(app: FastAPI, scenario: Scenario) -> dict[str, CaseFacts]:
    settle(app)
    with app.state.db.sessions() as session:
        rows = {f.application_id: f for f in session.scalars(select(CaseFacts))}
        session.expunge_all()
    return {k: rows[v] for k, v in scenario.ids.items()}


def test_case_facts_follow_the_deadline_clock(app: FastAPI, scenario: Scenario) -> None:
    f = facts(app, scenario)
    # A: on time; B: one supplement (5 paused working days move the due date to 16 Nov)
    assert (f["A"].outcome, f["A"].late, f["A"].processing_days) == ("result", False, 3)
    assert (f["B"].due_date, f["B"].supplement_requests, f["B"].late, f["B"].processing_days) == (
        date(2026, 11, 16),
        1,
        False,
        4,
    )
    # C: finished before its due date, but a supplement was requested twice → late
    assert (f["C"].supplement_requests, f["C"].due_date, f["C"].late, f["C"].processing_days) == (
        2,
        date(2026, 11, 11),
        True,
        3,
    )
    assert (f["D"].late, f["D"].processing_days, f["D"].complaint) == (True, 8, True)
    assert (f["E"].outcome, f["E"].late, f["E"].processing_days, f["E"].rating) == (
        "refused",
        False,
        1,
        "hai_long",
    )
    assert (f["F"].outcome, f["F"].late, f["F"].processing_days) == ("withdrawn", None, None)
    assert f["G"].closed_at is None and f["G"].due_date == date(2026, 11, 9)
    # I: paused since 4 Nov, which was before its due date: it stays on time while it waits
    assert (f["I"].paused_since, f["I"].due_date) == (date(2026, 11, 4), date(2026, 11, 9))
    assert f["J"].month == DEC and f["B"].channel == "desk"


def test_november_indicators(app: FastAPI, scenario: Scenario) -> None:
    nov = next(r for r in board(app).by_month if r.key == NOV).indicators
    c = nov.counts
    assert (c.received, c.online, nov.desk, c.withdrawn, nov.base) == (9, 8, 1, 1, 8)
    assert (c.decided, c.decided_late, c.open, c.open_late, c.overdue) == (5, 2, 3, 1, 1)
    assert (nov.late, nov.on_time) == (3, 5)
    assert nov.on_time_rate == pytest.approx(5 / 8)
    assert nov.online_rate == pytest.approx(8 / 9)
    assert nov.avg_processing_days == pytest.approx(19 / 5)
    assert (c.results, c.with_attachments) == (4, 7)
    assert c.complaint_or_unsatisfied == 2  # B unsatisfied, D complaint
    assert nov.satisfaction == pytest.approx(1 - 3 / 8 - 2 / 8)
    assert (c.ratings, c.rated_very_satisfied, c.rated_satisfied, c.rated_unsatisfied) == (3, 1, 1, 1)
    assert nov.rated_satisfied_rate == pytest.approx(2 / 3)
    assert c.fee_bearing == 2


def test_digitisation_and_online_payment(app: FastAPI, scenario: Scenario) -> None:
    if not (scenario.signed and scenario.paid):
        pytest.skip("needs the signing and payments domains")
    nov = next(r for r in board(app).by_month if r.key == NOV).indicators
    assert (nov.counts.results_digitised, nov.digitisation_rate) == (3, pytest.approx(0.75))  # B: no e-result
    assert (nov.counts.paid_online, nov.online_payment_rate) == (1, pytest.approx(0.5))
    score = nov.score
    assert score.points == {
        "progress": pytest.approx(20 * 5 / 8),
        "online": pytest.approx(22 * (1.0 + 0.5) / 2),  # online rate ≥ 50 % scores in full
        "digitisation": pytest.approx(22 * 0.75 / 0.8),
        "satisfaction": pytest.approx(18 * 0.375 / 0.9),
    }
    assert score.measured_max == 82
    assert score.out_of_100 == pytest.approx((12.5 + 16.5 + 20.625 + 7.5) / 82 * 100)


def test_totals_groups_and_filters(app: FastAPI, scenario: Scenario) -> None:
    whole = board(app)
    total = whole.total
    assert (total.counts.received, total.base, total.late, total.on_time) == (10, 9, 3, 6)
    assert total.satisfaction == pytest.approx(1 - 3 / 9 - 2 / 9)
    assert total.avg_processing_days == pytest.approx(20 / 6)
    assert {r.key: r.indicators.counts.received for r in whole.by_agency} == {"H29.41.01": 1, "H29.41.04": 9}
    assert {r.key: r.indicators.counts.received for r in whole.by_procedure} == {"2.001914": 9, "2.002481": 1}
    only = board(app, agency_id="H29.41.01")
    assert (only.total.counts.received, only.total.on_time_rate) == (1, 1.0)
    assert board(app, procedure_code="2.001914").total.counts.received == 9
    assert [r.key for r in whole.by_month] == [NOV, DEC]


def test_open_cases_are_judged_on_the_day_asked(app: FastAPI, scenario: Scenario) -> None:
    settle(app)
    with app.state.db.sessions() as session:
        service = DashboardService(QualityRepository(session), app.state.registry)
        early = service.build(Filters(NOV, NOV), date(2026, 11, 9)).total.counts
        later = service.build(Filters(NOV, NOV), date(2026, 11, 16)).total.counts
    assert (early.open, early.overdue) == (3, 0)
    assert (later.open, later.overdue) == (3, 2)  # G and H; I keeps waiting for its supplement


def test_incremental_counters_equal_a_rebuild(app: FastAPI, scenario: Scenario) -> None:
    def months(session: object) -> list[tuple[object, ...]]:
        rows = session.scalars(select(MonthlyQuality).order_by(MonthlyQuality.month))  # type: ignore[attr-defined]
        return [tuple(getattr(r, c.name) for c in MonthlyQuality.__table__.columns) for r in rows]

    with app.state.db.sessions() as session:
        incremental = months(session)
        assert QualityRepository(session).rebuild_months() == 2
        session.flush()
        assert months(session) == incremental
        # recomputing a case that did not change moves nothing
        FactsRefresher(session, app.state.quality).refresh(scenario.ids["B"], invite=False)
        assert months(session) == incremental
        session.rollback()


def test_empty_indicators_are_not_applicable() -> None:
    empty = Indicators(Counts())
    assert empty.on_time_rate is None and empty.satisfaction is None and empty.online_payment_rate is None
    assert empty.score.out_of_100 is None and empty.score.measured_max == 0


def test_rebuild_restores_facts_lost_to_a_bulk_load(app: FastAPI, scenario: Scenario) -> None:
    from sqlalchemy import delete

    from portal.quality.__main__ import rebuild

    before = board(app).total.counts
    with app.state.db.sessions() as session:  # as if cases had been imported with plain SQL
        session.execute(delete(MonthlyQuality))
        session.execute(delete(CaseFacts))
        session.commit()
    assert board(app).total.counts.received == 0
    assert rebuild(app.state.settings) == (10, 2)
    assert board(app).total.counts == before
