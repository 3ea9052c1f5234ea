"""Text messages (SMS): the senders behind ``portal.services.SmsSender``.

- ``DevSmsSink`` (development and test, ``PORTAL_SMS_URL`` empty): the message is a row of
  ``dev_sms_messages`` written in the caller's transaction, shown at ``/dev/sms`` (a page that does
  not exist in production).
- ``HttpSmsSender`` (``PORTAL_SMS_URL`` set): one HTTPS POST per message to the operator's SMS
  gateway. This is the adapter seam, not a vendor's API: the portal sends
  ``{"to": "0912345678", "text": "..."}`` as JSON with ``Authorization: Bearer <PORTAL_SMS_API_KEY>``
  and takes any 2xx answer as accepted. A Vietnamese brandname-SMS vendor is reached through a small
  gateway (or a subclass overriding ``payload``/``headers``) that speaks this — we do not guess
  a vendor's API here.
- ``NoSmsProvider`` (production without ``PORTAL_SMS_URL``): every send fails with ``SmsUnavailable``
  (the page says so); codes are never written into a development sink in production.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.db import utcnow
from portal.notifications.models import DevSms

log = logging.getLogger("portal.sms")


class SmsUnavailable(Exception):
    """The message could not be handed to the provider (nothing to retry automatically)."""


class DevSmsSink:
    """Development/test: the message is stored with the caller's transaction (rolled back with it)."""

    def __call__(self, session: Session, *, to: str, text: str) -> None:
        session.add(DevSms(to_phone=to, body=text, created_at=utcnow()))


class HttpSmsSender:
    """POSTs each message to ``url`` (see the module's docstring for the contract)."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def payload(self, to: str, text: str) -> dict[str, Any]:
        return {"to": to, "text": text}

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def __call__(self, session: Session, *, to: str, text: str) -> None:
        # bounded: the handler runs on a thread-pool thread, and the user is waiting for the answer
        try:
            response = httpx.post(
                self.url, json=self.payload(to, text), headers=self.headers(), timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            log.warning("SMS provider did not answer: %s", type(exc).__name__)
            raise SmsUnavailable() from exc
        if not response.is_success:
            log.warning("SMS provider refused a message: HTTP %s", response.status_code)
            raise SmsUnavailable()


class NoSmsProvider:
    """Production without ``PORTAL_SMS_URL``: refuse, loudly, rather than send nowhere."""

    def __call__(self, session: Session, *, to: str, text: str) -> None:
        log.error("no SMS provider configured (PORTAL_SMS_URL): a one-time code could not be sent")
        raise SmsUnavailable()


def sms_sender(settings: Settings) -> DevSmsSink | HttpSmsSender | NoSmsProvider:
    """The sender a process uses, from its settings."""
    if settings.sms_url:
        return HttpSmsSender(settings.sms_url, settings.sms_api_key, timeout=settings.sms_timeout_seconds)
    if settings.environment == "production":
        return NoSmsProvider()
    return DevSmsSink()
