"""Async client for the portal's JSON API (/api/v1).

Error handling contract used by every action:
- ``PortalRejected`` (4xx): the portal's Vietnamese ``error.message`` (and
  per-field messages) are shown to the user as they are.
- ``PortalUnavailable`` (5xx, timeout, connection error): the action
  apologises and keeps the slots so the user can retry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TIMEOUT = httpx.Timeout(8.0, connect=3.0)


class PortalError(Exception):
    pass


class PortalRejected(PortalError):
    """The portal refused the request (4xx) and said why, in Vietnamese."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


class PortalUnavailable(PortalError):
    """5xx, timeout or network error: nothing the user did wrong."""


def base_url() -> str:
    return os.environ.get("PORTAL_API_URL", DEFAULT_BASE_URL).rstrip("/")


class PortalClient:
    """One instance per action run; ``transport`` lets tests mock the portal."""

    def __init__(
        self,
        base: str | None = None,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        end_user: str | None = None,
    ) -> None:
        self.base = (base or base_url()).rstrip("/")
        token = token if token is not None else os.environ.get("PORTAL_SERVICE_TOKEN", "")
        headers = {"Accept": "application/json", "User-Agent": "eservices-chatbot/1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if end_user:
            headers["X-Portal-End-User"] = end_user
        self._client = httpx.AsyncClient(
            base_url=self.base + "/api/v1", headers=headers, timeout=TIMEOUT, transport=transport
        )

    async def __aenter__(self) -> PortalClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retries: int = 0,
    ) -> Any:
        last: Exception | None = None
        for _ in range(retries + 1):
            try:
                response = await self._client.request(method, path, params=params, json=json, headers=headers)
            except httpx.HTTPError as exc:  # timeout, connection refused, ...
                last = exc
                continue
            if response.status_code >= 500:
                last = PortalUnavailable(f"{method} {path}: HTTP {response.status_code}")
                continue
            if response.status_code >= 400:
                raise _rejected(response)
            try:
                return response.json()
            except ValueError as exc:
                raise PortalUnavailable(f"{method} {path}: invalid JSON") from exc
        raise PortalUnavailable(str(last)) from last

    # -- procedures ------------------------------------------------------
    async def search_procedures(self, query: str, limit: int = 5) -> list[dict]:
        data = await self._request("GET", "/procedures", params={"q": query, "limit": limit})
        return list(data.get("items") or [])

    async def get_procedure(self, code: str) -> dict:
        return await self._request("GET", f"/procedures/{code}")

    # -- applications ----------------------------------------------------
    async def create_application(self, payload: dict, idempotency_key: str) -> dict:
        # Same key on every attempt, so a retry after a lost response cannot
        # create a second draft.
        return await self._request(
            "POST",
            "/applications",
            json=payload,
            headers={"Idempotency-Key": idempotency_key},
            retries=1,
        )

    async def get_application(self, case_code: str, phone: str) -> dict:
        return await self._request("GET", f"/applications/{case_code}", params={"phone": phone})

    # -- other -----------------------------------------------------------
    async def list_agencies(self) -> list[dict]:
        data = await self._request("GET", "/agencies")
        return list(data.get("items") or [])

    async def get_invoices(self, student_code: str, link_code: str) -> dict:
        return await self._request(
            "GET", "/fees/invoices", params={"student_code": student_code, "link_code": link_code}
        )

    async def request_callback(self, payload: dict, idempotency_key: str) -> dict:
        return await self._request(
            "POST", "/callbacks", json=payload, headers={"Idempotency-Key": idempotency_key}, retries=1
        )


def _rejected(response: httpx.Response) -> PortalRejected:
    code, message, fields = f"http_{response.status_code}", "", {}
    try:
        error = response.json().get("error") or {}
        code = error.get("code") or code
        message = error.get("message") or ""
        fields = error.get("fields") or {}
    except (ValueError, AttributeError):
        pass
    if not message:
        message = "Yêu cầu không hợp lệ." if response.status_code != 404 else "Không tìm thấy thông tin."
    return PortalRejected(response.status_code, code, message, fields)
