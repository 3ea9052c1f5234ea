"""Helpers shared by the actions: portal client factory, links, metadata."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.portal import PortalClient, base_url

# Tests replace this with a factory that injects an httpx.MockTransport.
_transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None


def portal_client(tracker: Tracker | None = None) -> PortalClient:
    """A client acting for the person in this conversation: the relay's opaque ``end_user`` goes
    along, so the portal counts this person's lookups against their own limits."""
    transport = _transport_factory() if _transport_factory else None
    end_user = metadata(tracker).get("end_user") if tracker is not None else None
    return PortalClient(transport=transport, end_user=str(end_user) if end_user else None)


def metadata(tracker: Tracker) -> dict[str, Any]:
    """Metadata the portal's relay adds: user_id, lang, portal_base_url, end_user."""
    return (tracker.latest_message or {}).get("metadata") or {}


def absolute_url(url: str | None, tracker: Tracker) -> str | None:
    """The portal may send paths ("/thu-tuc/..."); make them clickable."""
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    base = metadata(tracker).get("portal_base_url") or os.environ.get("PORTAL_PUBLIC_URL") or base_url()
    return str(base).rstrip("/") + "/" + url.lstrip("/")


def apologise_unavailable(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        text=(
            "Xin lỗi, hệ thống cổng dịch vụ công đang bận hoặc gián đoạn nên mình chưa lấy được "
            "thông tin. Thông tin bạn đã nhập vẫn được giữ lại, bạn vui lòng thử lại sau ít phút."
        )
    )


# Vietnam keeps UTC+7 all year (no daylight saving since 1975): the portal's API gives moments in UTC.
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
INVOICE_STATUS = {"unpaid": "Chưa nộp", "paid": "Đã nộp", "cancelled": "Đã hủy"}


def local_time(value: str | None) -> str:
    """An ISO moment from the API as people in Vietnam read it: 09:39 02/12/2026 (never raw UTC)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(VN_TZ):%H:%M %d/%m/%Y}"


def local_date(value: str | None) -> str:
    """An ISO date (2027-02-10) as 10/02/2027."""
    if not value:
        return ""
    try:
        return f"{date.fromisoformat(value[:10]):%d/%m/%Y}"
    except ValueError:
        return ""
