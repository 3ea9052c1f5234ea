"""The providers' IPN (`GET /thanh-toan/{provider}/ipn`), answered in front of the portal's middleware.

VNPay's server calls it with no cookie, no form and no body; the answer is always HTTP 200 with a
RspCode (97 bad checksum, 01 unknown, 04 amount, 02 done before, 00 recorded), committed before it
is sent (VNPay retries on anything else). None of the portal's per-request machinery applies to
it — session cookie, CSRF, language, body parsing, the routing of ~70 routes, dependency
solving — and on the busiest payment days (tuition deadlines) it was most of an IPN's CPU cost
(issue #10), so this ASGI app sits outside them and passes every other request through.

- Only a GET to a registered provider's name is answered here; anything else (an unknown name,
  another method) goes on to the portal, which answers 404/405 as for any unknown page.
- The transaction runs on this process's own IPN threads (at most a pool's worth at once: more
  would only queue on the same connections and row locks), never on the event loop. It is one
  unit of work: `PaymentService.handle_ipn` then one commit; any failure rolls back and answers
  99 (VNPay delivers again).
- The answer carries the headers `SecurityHeaders` puts on every non-static answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from portal.payments_app.gateway import IPN_ROUTE
from portal.payments_app.service import PaymentService

log = logging.getLogger("portal.payments")

_PREFIX, _, _SUFFIX = IPN_ROUTE.partition("{provider}")
FAILED = {"RspCode": "99", "Message": "Unknown error"}


def provider_of(path: str) -> str | None:
    """The `{provider}` of an IPN path (one path segment, like the router's `{provider}`)."""
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    name = path[len(_PREFIX) : len(path) - len(_SUFFIX)]
    return name if name and "/" not in name else None


def answer_ipn(app: Any, params: dict[str, str], provider: str) -> dict[str, str]:
    """One IPN, one transaction, committed before the answer (on an IPN thread)."""
    with app.state.db.sessions() as session:
        try:
            body = PaymentService(session, app.state.payments_gateway).handle_ipn(params, provider)
            session.commit()
        except Exception:
            log.exception("IPN failed")
            session.rollback()
            body = FAILED
    return body


class IpnEndpoint:
    """ASGI middleware, outermost but for `LoopbackOnly` (development answers only this machine)."""

    def __init__(
        self, app: ASGIApp, *, portal: Any, threads: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.app = app
        self.portal = portal
        self.threads = max(threads, 1)
        self.headers = headers
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # made on first use, in the serving process (gunicorn forks workers after importing the app)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="ipn")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            provider = provider_of(scope["path"])
            if provider is not None and provider in self.portal.state.payments_gateway.registry:
                await self._answer(scope, provider, send)
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, provider: str, send: Send) -> None:
        # the last value of a repeated name, like dict(request.query_params)
        params = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        loop = asyncio.get_running_loop()
        try:
            body = await loop.run_in_executor(self._pool(), answer_ipn, self.portal, params, provider)
        except RuntimeError:  # the pool was shut down (the process is stopping): VNPay retries
            body = FAILED
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    *self.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


__all__ = ["IpnEndpoint", "answer_ipn", "provider_of"]
