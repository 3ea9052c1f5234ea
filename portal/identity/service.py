"""Citizen accounts from verified identities: sign in (find or create by PID) and link (a password
account confirms its identity at the provider). Never commits: the request is the unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.identity.models import CitizenIdentity
from portal.identity.oidc import Identity, IdentityError
from portal.models import Citizen


class IdentityService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _link_of(self, identity: Identity) -> CitizenIdentity | None:
        return self.session.scalars(
            select(CitizenIdentity).where(
                CitizenIdentity.issuer == identity.issuer, CitizenIdentity.subject == identity.subject
            )
        ).first()

    def _by_pid(self, pid: str) -> Citizen | None:
        return self.session.scalars(select(Citizen).where(Citizen.pid == pid)).first()

    def sign_in(self, identity: Identity, *, now: datetime) -> Citizen:
        """The account of this person: the one this provider account signed into before, else the
        one keyed by the PID (perhaps linked through another provider), else a new one."""
        link = self._link_of(identity)
        citizen = self.session.get(Citizen, link.citizen_id) if link is not None else None
        if citizen is not None and citizen.pid != identity.pid:
            # the provider now says another PID for the same subject: never merge two people
            raise IdentityError(
                "subject's PID changed",
                "Thông tin định danh không khớp với tài khoản đã liên kết; vui lòng liên hệ tổng đài hỗ trợ.",
            )
        if citizen is None:
            citizen = self._by_pid(identity.pid)
        if citizen is None:
            citizen = Citizen(full_name=identity.full_name, phone=None, email=None, password_hash="")
            self.session.add(citizen)
        self._apply(citizen, identity, link, now)
        return citizen

    def link(self, citizen_id: int, identity: Identity, *, now: datetime) -> Citizen:
        """A signed-in (password) account takes the identity it has just proved at the provider."""
        citizen = self.session.get(Citizen, citizen_id)
        if citizen is None:
            raise IdentityError("account gone", "Tài khoản không còn tồn tại; vui lòng đăng nhập lại.")
        other = self._by_pid(identity.pid)
        if other is not None and other.id != citizen.id:
            raise IdentityError(
                "PID belongs to another account",
                "Số định danh này đã gắn với một tài khoản khác. "
                "Hãy đăng nhập bằng VNeID để dùng tài khoản đó.",
            )
        if citizen.pid is not None and citizen.pid != identity.pid:
            raise IdentityError(
                "account linked to another PID", "Tài khoản này đã liên kết với một số định danh khác."
            )
        link = self._link_of(identity)
        if link is not None and link.citizen_id != citizen.id:
            raise IdentityError(
                "provider account linked elsewhere", "Tài khoản định danh này đã liên kết nơi khác."
            )
        self._apply(citizen, identity, link, now)
        return citizen

    def _apply(
        self, citizen: Citizen, identity: Identity, link: CitizenIdentity | None, now: datetime
    ) -> None:
        # the provider's name and birth date are the account's from now on (kept current at each sign-in)
        citizen.pid = identity.pid
        citizen.full_name = identity.full_name
        citizen.birth_date = identity.birth_date
        citizen.identity_verified_at = now
        citizen.last_login_at = now
        self.session.flush()
        if link is None:
            link = CitizenIdentity(citizen_id=citizen.id, issuer=identity.issuer, subject=identity.subject)
            self.session.add(link)
        link.last_login_at = now
        self.session.flush()
