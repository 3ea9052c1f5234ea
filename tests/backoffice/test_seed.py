"""`make run`'s demo staff: one account per role at H29.41.04 plus an admin, created once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.staff.models import STAFF_ROLES, StaffMember
from portal.staff.seed import DEMO_AGENCY, seed_staff


def test_demo_staff_cover_every_role_and_are_seeded_once(db_session: Session) -> None:
    assert seed_staff(db_session)
    db_session.commit()
    assert seed_staff(db_session) == []
    members = db_session.scalars(select(StaffMember)).all()
    assert {m.agency_id for m in members} == {DEMO_AGENCY}
    assert {r for m in members for r in m.roles} == set(STAFF_ROLES)
    assert db_session.scalar(select(func.count()).select_from(StaffMember)) == len(members) == 7
    db_session.rollback()
