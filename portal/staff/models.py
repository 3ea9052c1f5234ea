"""Staff identity: civil servants (cán bộ), their agency and their roles.

Every staff page of every domain (back office, payments, quality, notifications, assistant) admits
people by these rows; see :mod:`portal.staff.auth`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
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
    # two-factor sign-in (TOTP, RFC 6238): the secret encrypted with a key derived from the app's
    # secret (portal.staff.totp), never in clear; set but not yet enabled while the member enrols
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # the last 30-s time step a code was accepted for: a code of that step or an earlier one is a replay
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger())

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


class StaffRecoveryCode(Base):
    """A single-use recovery code (shown once at enrolment), stored as a SHA-256 digest."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class StaffSession(Base):
    """A signed-in staff session. The cookie carries a random token; this row holds its SHA-256
    digest (a copy of the table signs nobody in), so the admin can list and revoke sessions."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(AwareDateTime())
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    two_factor: Mapped[bool] = mapped_column(Boolean, default=False)  # signed in with a second factor
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_by: Mapped[int | None] = mapped_column(Integer)  # the staff member who ended it

    __table_args__ = (Index("ix_staff_sessions_staff", "staff_id", "revoked_at"),)


class StaffAdminAudit(Base):
    """Append-only (DB triggers refuse changes): who did which administrative action, to whom,
    when, from which address."""

    __tablename__ = "staff_admin_audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime())
    actor_id: Mapped[int] = mapped_column(Integer)
    actor_login: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_staff_admin_audit_at", "at"),
        Index("ix_staff_admin_audit_actor", "actor_login", "id"),
    )
