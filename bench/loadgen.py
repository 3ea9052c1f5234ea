"""Closed-loop HTTP/1.1 load generator for the benchmark (runs in its own process).

Each simulated client owns one keep-alive connection and a cookie jar, like a
browser tab, and sends its next request as soon as the previous answer arrived.
Built on asyncio (uvloop when installed) and httptools' C response parser, with
pre-built request bytes: a few tens of microseconds of CPU per request, so on a
2-core machine the generator takes a small, reported share of the CPU (compare
with wrk on the floor in the results).

Scenarios:
  get     GET <path>, expects 200.
  track   one GET /tra-cuu per client for its session + CSRF token (not measured), then
          POST /tra-cuu (case_code, phone, csrf_token) in a loop; expects 200 + the case code.
  submit  one GET of the form per client for its session + CSRF token (not measured), then a
          loop of transactions: POST /thu-tuc/<slug>/nop-ho-so (multipart: applicant, fields,
          3 documents, one of them --attachment-kb, intent=review) → 303 to the review page,
          then POST /ho-so/{id}/nop?t=… (csrf_token) → 303 to the receipt. One transaction =
          one submission; its latency is both requests together. Redirects are not followed.

Timing: every client runs from T0 to T0 + warmup + duration. Only requests/transactions that
complete inside the window [T0 + warmup, end] count in throughput, latency and errors; every
accepted submission (also in warm-up or finishing after the window) is written to the output
so the caller can verify them in the database. WINDOW_START / WINDOW_END lines on stdout let
the caller sample server CPU over the same window. Only 127.0.0.1 is allowed as a target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httptools

CSRF_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')
ALLOWED_HOSTS = ("127.0.0.1",)


class HttpError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


class Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = True
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.closed = False

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpError(f"bad response: {exc}"))
            if self.transport:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError(f"connection lost: {exc}"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._headers = []
        self._body = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        response = Response(
            self.parser.get_status_code(),
            self._headers,
            b"".join(self._body),
            self.parser.should_keep_alive(),
        )
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)


class Client:
    """A browser-like client: one connection, a cookie jar, its own (forwarded) address."""

    def __init__(self, host: str, port: int, index: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.loop = asyncio.get_running_loop()
        self.conn: Connection | None = None
        self.cookies: dict[str, str] = {}
        # Behind the production reverse proxy every citizen has their own address; the server
        # trusts X-Forwarded-For from 127.0.0.1 (uvicorn/gunicorn default), so per-IP rate-limit
        # rows are per client here too instead of one hot row for everybody.
        self.forwarded_for = f"10.77.{index // 250}.{index % 250 + 1}"
        self.host_header = f"{host}:{port}"
        self.window = (float("inf"), float("inf"))  # set by the driver once the run starts
        self.answered_in_window = 0  # responses received inside the window (0: the client stalled)

    async def _connect(self) -> Connection:
        _, conn = await self.loop.create_connection(Connection, self.host, self.port)
        return conn

    async def request(
        self, method: str, target: str, body: bytes = b"", content_type: str | None = None
    ) -> Response:
        conn = self.conn
        if conn is None or conn.closed:
            conn = self.conn = await self._connect()
        head = [
            f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\nUser-Agent: portal-bench\r\n"
            f"Accept: text/html\r\nX-Forwarded-For: {self.forwarded_for}\r\n"
        ]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n")
        if body or method == "POST":
            if content_type:
                head.append(f"Content-Type: {content_type}\r\n")
            head.append(f"Content-Length: {len(body)}\r\n")
        head.append("\r\n")
        waiter = conn.waiter = self.loop.create_future()
        timer = self.loop.call_later(self.timeout, _expire, waiter, self.timeout)
        assert conn.transport is not None
        raw = "".join(head).encode("latin-1")
        if len(body) < 65536:
            conn.transport.write(raw + body)
        else:
            conn.transport.writelines((raw, body))
        try:
            response = await waiter
        except BaseException:
            if conn.transport is not None:
                conn.transport.close()
            self.conn = None
            raise
        finally:
            timer.cancel()
            conn.waiter = None
        for name, value in response.headers:
            if name == b"set-cookie":
                pair = value.split(b";", 1)[0].decode("latin-1")
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
        if not response.keep_alive:
            if conn.transport is not None:
                conn.transport.close()
            self.conn = None
        if self.window[0] <= time.perf_counter() <= self.window[1]:
            self.answered_in_window += 1
        return response

    def close(self) -> None:
        if self.conn is not None and self.conn.transport is not None:
            self.conn.transport.close()


def _expire(waiter: asyncio.Future[Response], seconds: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no response within {seconds:g} s"))


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.main = Stats()
        self.steps: dict[str, Stats] = {}
        self.accepted: list[str] = []  # application ids of every accepted submission
        self.total_ok = 0
        self.total_errors = 0
        self.any_error_samples: list[str] = []
        self.t_window = 0.0
        self.t_end = 0.0
        self.cpu: tuple[float, float] = (0.0, 0.0)

    def in_window(self, t: float) -> bool:
        return self.t_window <= t <= self.t_end

    def record(self, stats: Stats, started: float, done: float, ok: bool, err: str = "") -> None:
        if stats is self.main:
            if ok:
                self.total_ok += 1
            else:
                self.total_errors += 1
                if len(self.any_error_samples) < 5:
                    self.any_error_samples.append(f"t={done - self.t_window:+.2f}s {err[:300]}")
        if not self.in_window(done):
            return
        if ok:
            stats.latencies.append(done - started)
        else:
            stats.error(err)

    def step(self, name: str) -> Stats:
        return self.steps.setdefault(name, Stats())


def _describe(response: Response) -> str:
    snippet = re.sub(rb"\s+", b" ", response.body[:2000]).decode("utf-8", "replace")
    title = re.search(r"<title>(.*?)</title>", snippet)
    return f"HTTP {response.status} {title.group(1) if title else snippet[:200]}"


# -- scenarios: setup(client) (not measured) returns the client's loop coroutine ---------------------


async def _csrf(client: Client, path: str) -> str:
    r = await client.request("GET", path)
    match = CSRF_RE.search(r.body)
    if r.status != 200 or not match:
        raise RuntimeError(f"no CSRF token on {path}: {_describe(r)}")
    return match.group(1).decode()


async def setup_get(run: Run, client: Client, index: int) -> Any:
    path = run.args.path
    await client.request("GET", path)  # connect, and take the session cookie like a browser would

    async def loop() -> None:
        now = time.perf_counter
        while now() < run.t_end:
            t0 = now()
            try:
                r = await client.request("GET", path)
                ok = r.status == 200
                err = "" if ok else _describe(r)
            except Exception as exc:
                ok, err = False, f"{type(exc).__name__}: {exc}"
            run.record(run.main, t0, now(), ok, err)

    return loop()


async def setup_track(run: Run, client: Client, index: int) -> Any:
    token = await _csrf(client, "/tra-cuu")
    cases: list[str] = run.args.params["cases"]
    phone = run.args.params["phone"]
    bodies = [
        (urlencode({"csrf_token": token, "case_code": c, "phone": phone}).encode(), c.encode()) for c in cases
    ]

    async def loop() -> None:
        i = index
        now = time.perf_counter
        while now() < run.t_end:
            body, code = bodies[i % len(bodies)]
            i += 1
            t0 = now()
            try:
                r = await client.request("POST", "/tra-cuu", body, "application/x-www-form-urlencoded")
                ok = r.status == 200 and code in r.body
                err = "" if ok else _describe(r)
            except Exception as exc:
                ok, err = False, f"{type(exc).__name__}: {exc}"
            run.record(run.main, t0, now(), ok, err)

    return loop()


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]], boundary: str) -> bytes:
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
        out += value.encode() + b"\r\n"
    for name, filename, ctype, content in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        ).encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def pdf_of_size(size: int) -> bytes:
    """A PDF of about ``size`` bytes (a minimal PDF padded with comment lines)."""
    head = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    head += b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    tail = b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    filler = max(size - len(head) - len(tail), 0)
    line = b"% " + b"benchmark-padding " * 4 + b"\n"
    return head + (line * (filler // len(line) + 1))[:filler] + tail


REVIEW_RE = re.compile(rb"^/ho-so/([0-9a-f-]{36})/xem-lai(\?t=[^&]+)?$")


async def setup_submit(run: Run, client: Client, index: int) -> Any:
    params = run.args.params
    form_path = f"/thu-tuc/{params['slug']}/nop-ho-so"
    token = await _csrf(client, form_path)
    boundary = f"----portalbench{index:04d}"
    docs = params["documents"]
    files = [
        (f"doc_{docs[0]}", "don.pdf", "application/pdf", pdf_of_size(1200)),
        (f"doc_{docs[1]}", "hoc-ba.pdf", "application/pdf", pdf_of_size(run.args.attachment_kb * 1024)),
        (f"doc_{docs[2]}", "gioi-thieu.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    ]
    body1 = multipart({**params["fields"], "csrf_token": token, "intent": "review"}, files, boundary)
    ctype1 = f"multipart/form-data; boundary={boundary}"
    body2 = urlencode({"csrf_token": token}).encode()
    s1, s2 = run.step("1 POST nop-ho-so (multipart)"), run.step("2 POST /ho-so/{id}/nop")

    async def loop() -> None:
        now = time.perf_counter
        while now() < run.t_end:
            t0 = now()
            try:
                r1 = await client.request("POST", form_path, body1, ctype1)
                t1 = now()
                match = REVIEW_RE.match(r1.header(b"location") or b"") if r1.status == 303 else None
                if match is None:
                    err = "step 1: " + _describe(r1)
                    run.record(s1, t0, t1, False, err)
                    run.record(run.main, t0, t1, False, err)
                    continue
                run.record(s1, t0, t1, True)
                app_id = match.group(1).decode()
                query = (match.group(2) or b"").decode()
                r2 = await client.request(
                    "POST", f"/ho-so/{app_id}/nop{query}", body2, "application/x-www-form-urlencoded"
                )
                t2 = now()
                location = r2.header(b"location") or b""
                ok = r2.status == 303 and location.startswith(f"/ho-so/{app_id}/bien-nhan".encode())
                err = "" if ok else "step 2: " + _describe(r2)
                run.record(s2, t1, t2, ok, err)
                run.record(run.main, t0, t2, ok, err)
                if ok:
                    run.accepted.append(app_id)
            except Exception as exc:
                run.record(run.main, t0, now(), False, f"{type(exc).__name__}: {exc}")

    return loop()


SETUPS = {"get": setup_get, "track": setup_track, "submit": setup_submit}


# -- driver ----------------------------------------------------------------------------------------


def summarise(stats: Stats, seconds: float) -> dict[str, Any]:
    lat = sorted(stats.latencies)

    def pct(p: float) -> float | None:  # nearest rank
        if not lat:
            return None
        k = min(len(lat) - 1, max(0, -(-len(lat) * p // 100) - 1))
        return round(lat[int(k)] * 1000, 2)

    return {
        "completed": len(lat),
        "rps": round(len(lat) / seconds, 1) if seconds else 0.0,
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(lat[-1] * 1000, 2) if lat else None,
        "mean_ms": round(sum(lat) / len(lat) * 1000, 2) if lat else None,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    run = Run(args)
    host, _, port = args.target.partition(":")
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"refusing to load {host}: only {ALLOWED_HOSTS} are allowed")
    loop = asyncio.get_running_loop()
    clients = [Client(host, int(port), i, args.timeout) for i in range(args.clients)]
    setup = SETUPS[args.scenario]
    run.t_window = run.t_end = float("inf")
    bodies = await asyncio.gather(*(setup(run, c, i) for i, c in enumerate(clients)))

    cpu: dict[str, tuple[float, float]] = {}

    def mark(name: str) -> None:
        cpu[name] = os.times()[:2]
        print(f"WINDOW_{name.upper()}", flush=True)

    t0 = time.perf_counter()
    run.t_window = t0 + args.warmup
    run.t_end = run.t_window + args.duration
    for c in clients:
        c.window = (run.t_window, run.t_end)
    loop.call_later(args.warmup, mark, "start")
    loop.call_later(args.warmup + args.duration, mark, "end")
    await asyncio.gather(*bodies)
    for c in clients:
        c.close()
    seconds = run.t_end - run.t_window
    gen_cpu = sum(cpu["end"]) - sum(cpu["start"]) if "end" in cpu and "start" in cpu else 0.0
    return {
        "scenario": args.scenario,
        "target": args.target,
        "path": args.path,
        "clients": args.clients,
        "warmup_s": args.warmup,
        "window_s": round(seconds, 3),
        **summarise(run.main, seconds),
        "steps": {name: summarise(s, seconds) for name, s in run.steps.items()},
        "generator_cpu_pct": round(100 * gen_cpu / seconds, 1) if seconds else None,
        "total_ok": run.total_ok,
        "total_errors": run.total_errors,
        "any_error_samples": run.any_error_samples,
        "accepted_ids": run.accepted,
        "stalled_clients": sum(1 for c in clients if c.answered_in_window == 0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--scenario", choices=["get", "track", "submit"], default="get")
    parser.add_argument("--path", default="/")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--attachment-kb", type=int, default=100)
    parser.add_argument(
        "--params", default="{}", help="JSON: cases/phone (track), slug/fields/documents (submit)"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    args.params = json.loads(args.params)
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - plain asyncio works, a bit slower
        pass
    result = asyncio.run(main_async(args))
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
