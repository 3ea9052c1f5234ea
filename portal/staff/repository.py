"""All SQL about staff accounts and their roles."""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.staff.models import StaffMember, StaffRole


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, staff_id: int) -> StaffMember | None:
        return self.session.get(StaffMember, staff_id)

    def by_login(self, login: str) -> StaffMember | None:
        return self.session.scalars(select(StaffMember).where(StaffMember.login == login)).first()

    def add(self, member: StaffMember) -> StaffMember:
        self.session.add(member)
        self.session.flush()
        return member

    def list(self, agency_id: str | None = None) -> list[StaffMember]:
        stmt = select(StaffMember).order_by(StaffMember.agency_id, StaffMember.full_name, StaffMember.id)
        if agency_id:
            stmt = stmt.where(StaffMember.agency_id == agency_id)
        return list(self.session.scalars(stmt))

    def with_role(self, agency_id: str, role: str) -> builtins.list[StaffMember]:
        stmt = (
            select(StaffMember)
            .join(StaffRole, StaffRole.staff_id == StaffMember.id)
            .where(StaffMember.agency_id == agency_id, StaffMember.active.is_(True), StaffRole.role == role)
            .order_by(StaffMember.full_name, StaffMember.id)
        )
        return list(self.session.scalars(stmt))

    def names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        rows = self.session.execute(
            select(StaffMember.id, StaffMember.full_name).where(StaffMember.id.in_(wanted))
        )
        return {row.id: row.full_name for row in rows}

    def counts_by_agency(self) -> dict[str, int]:
        stmt = (
            select(StaffMember.agency_id, func.count())
            .where(StaffMember.active.is_(True))
            .group_by(StaffMember.agency_id)
        )
        return {agency: int(n) for agency, n in self.session.execute(stmt)}
