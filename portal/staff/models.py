"""Staff identity: civil servants (cán bộ), their agency and their roles.

Every staff page of every domain (back office, payments, quality, notifications, assistant) admits
people by these rows; see :mod:`portal.staff.auth`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import AwareDateTime, Base, utcnow

# Staff roles (workflow role keys); "admin" manages staff and reads the audit log.
STAFF_ROLES = ("tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu", "ke_toan", "admin")
# Roles that work on cases (queues, case pages); the accountant and the admin do not.
CASE_ROLES = ("tiep_nhan", "chuyen_vien", "lanh_dao", "van_thu")


class StaffMember(Base):
    """A civil servant (cán bộ) of one agency, with one or more roles."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    agency_id: Mapped[str] = mapped_column(String(32), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped on password reset / deactivation: sessions holding an older value are logged out
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())

    role_rows: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", order_by="StaffRole.role", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return [r.role for r in self.role_rows]

    def has_role(self, *roles: str) -> bool:
        return any(r.role in roles for r in self.role_rows)


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
