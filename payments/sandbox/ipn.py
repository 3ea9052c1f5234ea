"""Delivers IPNs like VNPay: GET to the terminal's IPN URL, retried until RspCode 00/02.

Deliveries run as tasks independent of the request that caused them (a retry
chain lasts up to 10 x 5 minutes), so the browser's redirect never waits on
the merchant's server. `retry_now()` cuts the waits short for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlencode

import httpx

from payments.ipn import IPN_FINAL_CODES
from payments.sandbox.config import SandboxConfig
from payments.sandbox.state import IpnAttempt, IpnDelivery, SandboxState
from payments.vnpay_codec import format_date


class IpnDispatcher:
    def __init__(self, config: SandboxConfig, state: SandboxState) -> None:
        self._config = config
        self._state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: dict[int, asyncio.Event] = {}

    def spawn(self, delivery: IpnDelivery, *, delay_s: float = 0.0, skip_first: bool = False) -> None:
        """Run `delivery` in the background (its first attempt already made if skip_first)."""
        task = asyncio.get_running_loop().create_task(self._run(delivery, delay_s, skip_first))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def attempt(self, delivery: IpnDelivery) -> bool:
        """One GET. True when the merchant has answered RspCode 00 or 02."""
        url = self._config.ipn_url or ""
        full_url = f"{url}{'&' if '?' in url else '?'}{urlencode(delivery.params)}"
        with self._state.lock:
            delivery.state = "sending"
            record = IpnAttempt(len(delivery.attempts) + 1, format_date(self._config.clock()), full_url)
            delivery.attempts.append(record)
        timeout = httpx.Timeout(self._config.ipn_timeout_s)
        status: int | None = None
        rsp_code: str | None = None
        error: str | None = None
        try:
            # Also bounded here: transports such as httpx.ASGITransport ignore httpx timeouts.
            async with asyncio.timeout(self._config.ipn_timeout_s):
                if self._config.ipn_client is not None:
                    response = await self._config.ipn_client.get(full_url, timeout=timeout)
                else:
                    async with httpx.AsyncClient(timeout=timeout) as client:
                        response = await client.get(full_url)
            status = response.status_code
            body = response.json()
            if isinstance(body, dict) and body.get("RspCode") is not None:
                rsp_code = str(body["RspCode"])
            else:
                error = "reply has no RspCode"
        except (httpx.TimeoutException, TimeoutError):
            error = "timeout"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except ValueError:
            error = "reply is not JSON"
        final = rsp_code in IPN_FINAL_CODES
        with self._state.lock:
            record.http_status, record.rsp_code, record.error = status, rsp_code, error
            if final:
                delivery.state = "done"
            elif len(delivery.attempts) >= self._config.ipn_max_attempts:
                delivery.state = "gave_up"
            else:
                delivery.state = "waiting_retry"
        return final

    async def _run(self, delivery: IpnDelivery, delay_s: float, skip_first: bool) -> None:
        wake = self._wake.setdefault(delivery.id, asyncio.Event())
        try:
            if not skip_first:
                if delay_s:
                    await asyncio.sleep(delay_s)
                await self.attempt(delivery)
            while delivery.state == "waiting_retry":
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self._config.ipn_retry_interval_s)
                await self.attempt(delivery)
        except asyncio.CancelledError:
            with self._state.lock:
                delivery.state = "cancelled"
            raise
        finally:
            self._wake.pop(delivery.id, None)

    def retry_now(self) -> int:
        """Wake every delivery waiting for its next retry; returns how many were woken."""
        woken = 0
        with self._state.lock:
            waiting = [d.id for d in self._state.deliveries if d.state == "waiting_retry"]
        for delivery_id in waiting:
            event = self._wake.get(delivery_id)
            if event is not None:
                event.set()
                woken += 1
        return woken

    async def wait_idle(self, timeout_s: float = 5.0) -> None:
        """Until no delivery is scheduled or being sent (waiting for a retry counts as idle)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._state.lock:
                busy = [d.id for d in self._state.deliveries if d.state in ("scheduled", "sending")]
            woken = any(e.is_set() for e in self._wake.values())
            if not busy and not woken:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"IPN deliveries still busy: {busy}")
            await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
