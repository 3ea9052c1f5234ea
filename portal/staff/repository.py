"""All SQL about staff accounts and their roles."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from portal.staff.models import StaffAdminAudit, StaffMember, StaffRecoveryCode, StaffRole, StaffSession


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

    # -- recovery codes ----------------------------------------------------------------------------

    def replace_recovery_codes(self, staff_id: int, hashes: Iterable[str]) -> None:
        self.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id))
        self.session.add_all(StaffRecoveryCode(staff_id=staff_id, code_hash=h) for h in hashes)
        self.session.flush()

    def use_recovery_code(self, staff_id: int, code_hash: str, at: datetime) -> bool:
        """Marks an unused code used; False when there is none (one UPDATE: two requests racing with
        the same code cannot both succeed)."""
        result = self.session.execute(
            update(StaffRecoveryCode)
            .where(
                StaffRecoveryCode.staff_id == staff_id,
                StaffRecoveryCode.code_hash == code_hash,
                StaffRecoveryCode.used_at.is_(None),
            )
            .values(used_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def unused_recovery_codes(self, staff_id: int) -> int:
        stmt = select(func.count()).where(
            StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None)
        )
        return int(self.session.scalar(stmt) or 0)

    def claim_totp_step(self, staff_id: int, step: int) -> bool:
        """Records ``step`` as the last accepted one if it is later than the stored one; False when
        another request got there first (a replay racing the original)."""
        result = self.session.execute(
            update(StaffMember)
            .where(
                StaffMember.id == staff_id,
                (StaffMember.totp_last_step.is_(None)) | (StaffMember.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- sessions ----------------------------------------------------------------------------------

    def add_session(self, row: StaffSession) -> StaffSession:
        self.session.add(row)
        self.session.flush()
        return row

    def session_by_token(self, token_hash: str) -> StaffSession | None:
        return self.session.scalars(select(StaffSession).where(StaffSession.token_hash == token_hash)).first()

    def get_session(self, session_id: int) -> StaffSession | None:
        return self.session.get(StaffSession, session_id)

    def open_sessions(
        self, *, seen_after: datetime, created_after: datetime, staff_id: int | None = None
    ) -> builtins.list[tuple[StaffSession, StaffMember]]:
        stmt = (
            select(StaffSession, StaffMember)
            .join(StaffMember, StaffMember.id == StaffSession.staff_id)
            .where(
                StaffSession.revoked_at.is_(None),
                StaffSession.last_seen_at > seen_after,
                StaffSession.created_at > created_after,
            )
            .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
            .limit(500)
        )
        if staff_id is not None:
            stmt = stmt.where(StaffSession.staff_id == staff_id)
        return [(row[0], row[1]) for row in self.session.execute(stmt)]

    def revoke_sessions(self, staff_id: int, at: datetime, *, by: int | None, keep: int | None = None) -> int:
        stmt = (
            update(StaffSession)
            .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
            .execution_options(synchronize_session="fetch")
        )
        if keep is not None:
            stmt = stmt.where(StaffSession.id != keep)
        return int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    # -- the admin audit ---------------------------------------------------------------------------

    def audit(self, row: StaffAdminAudit) -> None:
        self.session.add(row)

    def audit_page(
        self,
        *,
        before_id: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> builtins.list[StaffAdminAudit]:
        """Newest first, ``limit + 1`` rows (the extra one says there is a next page)."""
        stmt = select(StaffAdminAudit).order_by(StaffAdminAudit.id.desc()).limit(limit + 1)
        if before_id is not None:
            stmt = stmt.where(StaffAdminAudit.id < before_id)
        if actor:
            stmt = stmt.where(StaffAdminAudit.actor_login == actor)
        if action:
            stmt = stmt.where(StaffAdminAudit.action == action)
        if since is not None:
            stmt = stmt.where(StaffAdminAudit.at >= since)
        if until is not None:
            stmt = stmt.where(StaffAdminAudit.at < until)
        return list(self.session.scalars(stmt))
