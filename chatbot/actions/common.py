"""Helpers shared by the actions: portal client factory, links, metadata."""

from __future__ import annotations

import os
from collections.abc import Callable
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
