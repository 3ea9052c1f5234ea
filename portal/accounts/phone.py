"""Verified phones: a phone stands for a citizen only after they typed the one-time code sent to it.

Rules (``docs/phone-verification.md``):

- A code is 6 digits from ``secrets``, sent by SMS (``Services.sms``), good for
  ``PORTAL_PHONE_CODE_TTL_SECONDS`` (5 minutes), for ``PORTAL_PHONE_CODE_MAX_ATTEMPTS`` (5) wrong entries
  and for one use: a code typed again after it worked is refused (``consumed_at``), and sending a new
  code ends the one before (``superseded_at``).
- Only an HMAC-SHA256 of the code is stored, keyed with ``PORTAL_SECRET_KEY`` and bound to the
  citizen and the phone. Not argon2: a 6-digit code has 10⁶ values, so a slow hash would not stop
  anyone holding the database *and* the key (10⁶ argon2 runs are minutes on a GPU), while it would
  cost ~0.1 s of CPU on every send and every check (a lever for overloading the server). Without
  the key, which is not in the database, the stored hashes say nothing; and a code lives 5 minutes.
- Sending is limited per number, per account and per address (per hour, shared fixed windows of
  ``portal.ratelimit``), with a pause between two codes for one account.
- Changing the phone: a code is sent to the *new* number; the account's phone changes only when that
  code is entered (until then the old phone, verified or not, stays). Any other change of
  ``Citizen.phone`` clears the verification (``portal.models.Citizen``).
- A number another account already has is refused, verified or not: ``citizens.phone`` is the
  unique sign-in name, so it cannot be moved away from an account that still signs in with it. A
  recycled number still held by its former owner's account is a matter for the hotline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal import i18n
from portal.accounts.models import PhoneVerification
from portal.config import Settings
from portal.errors import PortalError, RateLimited, ValidationFailed
from portal.models import Citizen
from portal.notifications.sms import SmsUnavailable
from portal.ratelimit import RateLimiter
from portal.services import SmsSender
from workflows import validators

CODE_DIGITS = 6
KEEP_EXPIRED = timedelta(days=1)  # then ``accounts.phone_codes`` deletes a code's row
HOUR = 3600
DAY = 24 * HOUR  # fixed windows from the epoch: a UTC day


class SmsNotSent(PortalError):
    status = 503
    code = "sms_unavailable"
    message = "Chưa gửi được tin nhắn; vui lòng thử lại sau ít phút."


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret: str, citizen_id: int, phone: str, code: str) -> str:
    message = f"phone-code:{citizen_id}:{phone}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """0912345678 → 0912***678 (what the page says the code went to)."""
    return phone[:4] + "***" + phone[-3:] if len(phone) >= 8 else phone


@dataclass(frozen=True)
class Sent:
    phone: str
    expires_at: datetime


class PhoneVerificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def latest(self, citizen_id: int, *, for_update: bool = False) -> PhoneVerification | None:
        stmt = (
            select(PhoneVerification)
            .where(PhoneVerification.citizen_id == citizen_id)
            .order_by(PhoneVerification.id.desc())
            .limit(1)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def supersede_open(self, citizen_id: int, now: datetime, *, keep: int) -> None:
        self.session.execute(
            update(PhoneVerification)
            .where(
                PhoneVerification.citizen_id == citizen_id,
                PhoneVerification.id != keep,
                PhoneVerification.consumed_at.is_(None),
                PhoneVerification.superseded_at.is_(None),
            )
            .values(superseded_at=now)
        )

    def delete_expired_before(self, moment: datetime) -> int:
        result = self.session.execute(delete(PhoneVerification).where(PhoneVerification.expires_at < moment))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def holder_of(self, phone: str) -> Citizen | None:
        return self.session.scalars(select(Citizen).where(Citizen.phone == phone)).first()


class PhoneVerificationService:
    def __init__(
        self, session: Session, settings: Settings, *, sms: SmsSender, clock: Callable[[], datetime]
    ) -> None:
        self.session = session
        self.settings = settings
        self.sms = sms
        self.clock = clock
        self.repo = PhoneVerificationRepository(session)
        self.limiter = RateLimiter(session, clock=lambda: self.clock().timestamp())

    # -- what the page shows ---------------------------------------------------------------------

    def pending(self, citizen: Citizen) -> PhoneVerification | None:
        """The code the citizen may still enter (sent, not used, not replaced, not expired, not locked)."""
        latest = self.repo.latest(citizen.id)
        if latest is None or not self._open(latest, self.clock()):
            return None
        return latest

    def _open(self, v: PhoneVerification, now: datetime) -> bool:
        return (
            v.consumed_at is None
            and v.superseded_at is None
            and now < v.expires_at
            and v.attempts < self.settings.phone_code_max_attempts
        )

    # -- sending ----------------------------------------------------------------------------------

    def send_code(self, citizen: Citizen, raw_phone: str, *, client: str) -> Sent | None:
        """Send a code to ``raw_phone`` (the citizen's phone, or the one they want instead). None when
        there is nothing to prove (that phone is the citizen's and verified already).

        Raises ``ValidationFailed`` (field ``phone``), ``RateLimited`` or ``SmsNotSent``; nothing is
        sent then. Every send counts against the hourly limits, also if the request fails later."""
        now = self.clock()
        try:
            phone = validators.phone(raw_phone)
        except validators.InvalidValue as exc:
            raise ValidationFailed(fields={"phone": i18n.gettext(exc.message)}) from None
        if len(phone) != 10:  # a landline: validators.phone accepts it, but it cannot receive an SMS
            message = "Chỉ số điện thoại di động nhận được tin nhắn; vui lòng nhập số di động."
            raise ValidationFailed(fields={"phone": i18n.gettext(message)})
        if phone == citizen.phone and citizen.phone_verified:
            return None
        if phone != citizen.phone and self.repo.holder_of(phone) is not None:
            raise ValidationFailed(fields={"phone": _taken()})
        latest = self.repo.latest(citizen.id)
        if latest is not None:
            wait = self.settings.phone_code_resend_seconds - int((now - latest.created_at).total_seconds())
            if wait > 0:
                raise RateLimited(i18n.gettext("Vui lòng chờ {n} giây rồi gửi lại mã.").format(n=wait))
        limits = (
            (f"sms:phone:{phone}", HOUR, self.settings.phone_codes_per_phone),
            (f"sms:account:{citizen.id}", HOUR, self.settings.phone_codes_per_account),
            (f"sms:client:{client}", HOUR, self.settings.phone_codes_per_ip),
            # a day's codes to one number bound the guesses at it: 10 codes x 5 tries = 50 in 10^6
            (f"sms-day:phone:{phone}", DAY, self.settings.phone_codes_per_phone_per_day),
        )
        at = now.timestamp()
        over = [
            window
            for key, window, limit in limits
            if self.limiter.count(key, window_seconds=window, now=at) >= limit
        ]
        if DAY in over:
            raise RateLimited(
                i18n.gettext("Số điện thoại này đã nhận quá nhiều mã trong ngày; vui lòng thử lại sau.")
            )
        if over:
            raise RateLimited(
                i18n.gettext("Bạn đã yêu cầu quá nhiều mã xác minh; vui lòng thử lại sau một giờ.")
            )
        for key, window, _ in limits:
            self.limiter.hit(key, window_seconds=window, now=at)
        code = new_code()
        expires_at = now + timedelta(seconds=self.settings.phone_code_ttl_seconds)
        verification = PhoneVerification(
            citizen_id=citizen.id,
            phone=phone,
            code_hash=code_hash(self.settings.secret_key, citizen.id, phone, code),
            created_at=now,
            expires_at=expires_at,
            attempts=0,
        )
        self.session.add(verification)
        self.session.flush()
        minutes = max(1, self.settings.phone_code_ttl_seconds // 60)
        # unaccented on purpose: GSM-7, one SMS (accented Vietnamese needs UCS-2, 70 characters a part)
        text = (
            f"Dich vu cong Giao duc: ma xac minh so dien thoai cua ban la {code}. "
            f"Ma het han sau {minutes} phut. Khong dua ma nay cho bat ky ai."
        )
        try:
            self.sms(self.session, to=phone, text=text)
        except SmsUnavailable:
            # not sent: no code waits, the one before (if any) still does; the send stays counted
            self.session.delete(verification)
            self.session.flush()
            raise SmsNotSent(i18n.gettext("Chưa gửi được tin nhắn; vui lòng thử lại sau ít phút.")) from None
        self.repo.supersede_open(citizen.id, now, keep=verification.id)
        return Sent(phone=phone, expires_at=expires_at)

    # -- checking ---------------------------------------------------------------------------------

    def confirm(self, citizen: Citizen, raw_code: str) -> str:
        """Check the code the citizen typed against their latest one; on success the phone it was sent
        to becomes the citizen's, verified, and the code is spent. Returns that phone.

        Raises ``ValidationFailed`` (field ``code``) otherwise: a wrong code counts an attempt, which
        is flushed before raising — the page *answers* the error, so it is committed."""
        now = self.clock()
        code = "".join((raw_code or "").split())
        if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
            raise ValidationFailed(
                fields={"code": i18n.gettext("Mã xác minh gồm 6 chữ số trong tin nhắn chúng tôi vừa gửi.")}
            )
        v = self.repo.latest(citizen.id, for_update=True)  # two tabs entering one code: one wins
        if v is None or v.superseded_at is not None:
            raise ValidationFailed(
                fields={"code": i18n.gettext("Chưa có mã nào đang chờ xác minh; vui lòng bấm «Gửi mã».")}
            )
        if v.consumed_at is not None:
            raise ValidationFailed(
                fields={"code": i18n.gettext("Mã này đã được dùng; mỗi mã chỉ dùng được một lần.")}
            )
        if now >= v.expires_at:
            raise ValidationFailed(fields={"code": i18n.gettext("Mã đã hết hạn; vui lòng gửi mã mới.")})
        limit = self.settings.phone_code_max_attempts
        if v.attempts >= limit:
            raise ValidationFailed(fields={"code": _locked(limit)})
        expected = v.code_hash
        if not hmac.compare_digest(expected, code_hash(self.settings.secret_key, citizen.id, v.phone, code)):
            v.attempts += 1
            self.session.flush()
            left = limit - v.attempts
            if left <= 0:
                raise ValidationFailed(fields={"code": _locked(limit)})
            raise ValidationFailed(
                fields={"code": i18n.gettext("Mã xác minh không đúng; bạn còn {n} lần thử.").format(n=left)}
            )
        if v.phone != citizen.phone:
            holder = self.repo.holder_of(v.phone)
            if holder is not None and holder.id != citizen.id:  # taken while the code was on its way
                v.consumed_at = now
                raise ValidationFailed(fields={"code": _taken()})
            citizen.phone = v.phone  # clears the old phone's verification (Citizen._phone_changed)
        v.consumed_at = now
        citizen.phone_verified_at = now
        self.session.flush()
        return v.phone


def _taken() -> str:
    return i18n.gettext(
        "Số điện thoại này đã thuộc một tài khoản khác. "
        "Nếu đó là số của bạn, vui lòng gọi tổng đài để được hỗ trợ."
    )


def _locked(limit: int) -> str:
    return i18n.gettext("Bạn đã nhập sai {n} lần; vui lòng gửi mã mới.").format(n=limit)


def prune_codes(session: Session, now: datetime) -> int:
    """Delete the codes that expired more than ``KEEP_EXPIRED`` ago (the ``accounts.phone_codes`` job):
    none of them can be used, and the sending limits no longer look at them."""
    return PhoneVerificationRepository(session).delete_expired_before(now - KEEP_EXPIRED)
