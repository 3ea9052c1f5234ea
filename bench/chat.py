"""Chat-turn latency through the portal's relay to a real, running Rasa (and its action server).

    python bench/chat.py --rasa-url http://127.0.0.1:5005 --portal-port 8000

Starts the portal (``portal.cli serve``, one uvicorn worker, a fresh SQLite database in a temp
directory unless --database-url) on --portal-port, which must be the port the action server's
PORTAL_API_URL points to: the procedure answers call the portal's /api/v1 during the turn. Rasa
and the action server are NOT started here: ``make chatbot-run`` (or chatbot/scripts/run.sh with
CHATBOT_RASA_PORT/CHATBOT_ACTIONS_PORT/PORTAL_API_URL for other ports).

For each concurrency level (default 1 and 20) it runs that many conversations at once, each a
closed loop of --turns turns (a mix of greetings, procedure questions answered by custom actions
through the portal API, and thanks), and reports per-turn latency p50/p95/max and the CPU time
each process spent per turn:
  direct  the turns posted straight to Rasa's REST webhook (what Rasa + actions alone cost)
  relay   browser -> POST /chat (HTMX, CSRF, session) -> portal -> Rasa REST channel -> stored
  floor   the same through a second portal whose "Rasa" is an instant fake (the portal's own cost)
then one paced run: the largest level with --think seconds between a conversation's turns, as
people type. Resident memory (VmRSS) of Rasa, the action server and the portal is sampled during
the run (pids from --rasa-pidfile / --actions-pidfile). A turn answered with the "temporarily
unavailable" notice counts as an error. Only 127.0.0.1 targets are allowed.

The portal's chat limits (60 turns per conversation, 600 per client IP per 10 minutes) bound the
default sizes: 6 + 30 + 20x12 + 20x10 relay turns on the relay portal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')
UNAVAILABLE = "đang tạm thời gián đoạn"

SCRIPT = [
    "xin chào",
    "cho hỏi làm lại bằng tốt nghiệp cần giấy tờ gì",
    "thủ tục chuyển trường thcs mất bao lâu",
    "lệ phí cấp bản sao văn bằng bao nhiêu",
    "chuyen truong thcs nop o dau",
    "cảm ơn bạn",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pid_from(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


class Sampler:
    """Peak RSS of the given processes while the load runs."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.peak: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name, pid in self.pids.items():
                value = rss_mb(pid)
                if value is not None:
                    self.peak[name] = max(self.peak.get(name, 0.0), value)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


async def relay_conversation(
    base: str, turns: int, offset: int, think: float, out: list[float], errors: list[str]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/chat")
        token = CSRF.search(page.text)
        assert token, "no CSRF token on /chat"
        headers = {"HX-Request": "true", "HX-Target": "assistant-log", "X-CSRF-Token": token.group(1)}
        await asyncio.sleep(think * (offset % 10) / 10)  # spread the first turns over one think time
        for i in range(turns):
            text = SCRIPT[(offset + i) % len(SCRIPT)]
            if i:
                await asyncio.sleep(think)
            start = time.perf_counter()
            response = await client.post("/chat", data={"message": text}, headers=headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or UNAVAILABLE in response.text:
                errors.append(f"{response.status_code} {text}")
            else:
                out.append(elapsed)


async def direct_conversation(
    rasa: str, turns: int, offset: int, think: float, portal: str, out: list[float], errors: list[str]
) -> None:
    sender = str(uuid.uuid4())
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.sleep(think * (offset % 10) / 10)
        for i in range(turns):
            text = SCRIPT[(offset + i) % len(SCRIPT)]
            if i:
                await asyncio.sleep(think)
            body = {
                "sender": sender,
                "message": text,
                "metadata": {"user_id": None, "lang": "vi", "portal_base_url": portal},
            }
            start = time.perf_counter()
            response = await client.post(f"{rasa}/webhooks/rest/webhook", json=body)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                errors.append(f"{response.status_code} {text}")
            else:
                out.append(elapsed)


async def run_level(
    kind: str, concurrency: int, turns: int, think: float, rasa: str, portal: str, sampler: Sampler
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    cpu_before = {name: cpu_seconds(pid) for name, pid in sampler.pids.items()}
    start = time.perf_counter()
    if kind == "direct":
        jobs = [
            direct_conversation(rasa, turns, n, think, portal, latencies, errors) for n in range(concurrency)
        ]
    else:
        jobs = [relay_conversation(portal, turns, n, think, latencies, errors) for n in range(concurrency)]
    await asyncio.gather(*jobs)
    wall = time.perf_counter() - start
    done = max(len(latencies), 1)
    cpu_ms = {name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / done for name, pid in sampler.pids.items()}
    stop.set()
    await sampling
    return {
        "kind": kind,
        "concurrency": concurrency,
        "think": think,
        "turns": len(latencies),
        "errors": len(errors),
        "cpu_ms": cpu_ms,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "max": max(latencies, default=float("nan")) * 1000,
        "mean": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
        "throughput": len(latencies) / wall if wall else 0.0,
        "error_samples": errors[:3],
    }


FAKE_ANSWER = json.dumps(
    [
        {
            "recipient_id": "x",
            "text": "Hồ sơ gồm:\n• Đơn đề nghị",
            "buttons": [{"title": "Phí, lệ phí", "payload": '/ask_fee{"procedure": "1.005092"}'}],
        }
    ]
).encode()


async def fake_rasa(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An instant Rasa (for the floor: what the portal's side of a turn costs)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": FAKE_ANSWER})


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"{url} did not start; see {log}")


CREATED_DATABASES: list[str] = []


def database_for(server_url: str, name: str) -> str:
    """A fresh PostgreSQL database per portal (their rate-limit counters must not mix), dropped at the end."""
    if not server_url.startswith("postgresql"):
        return server_url
    from sqlalchemy import create_engine, make_url, text

    url = make_url(server_url)
    database = f"{url.database}_{name}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    CREATED_DATABASES.append(database)
    return url.set(database=database).render_as_string(hide_password=False)


def drop_databases(server_url: str) -> None:
    if not CREATED_DATABASES:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for database in CREATED_DATABASES:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def start_portal(
    args: argparse.Namespace, workdir: Path, port: int, rasa_url: str
) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PORTAL_ENVIRONMENT": "development",
        "PORTAL_DATABASE_URL": database_for(args.database_url, workdir.name)
        or f"sqlite:///{workdir / 'bench.db'}",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "PORTAL_RASA_URL": rasa_url,
        "PORTAL_UPLOAD_DIR": str(workdir / "uploads"),
    }
    subprocess.run(
        [sys.executable, "-m", "portal.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log = workdir / "portal.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
    return proc


def start_fake_rasa(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    log = workdir / "fake-rasa.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.chat:fake_rasa",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_http(f"http://127.0.0.1:{port}/", proc, log)
    return proc


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    parser.add_argument("--portal-port", type=int, default=8000)
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server URL (fresh databases are created on it); default SQLite",
    )
    parser.add_argument("--concurrency", default="1,20")
    parser.add_argument("--turns", default="30,12", help="turns per conversation, per concurrency level")
    parser.add_argument(
        "--think",
        type=float,
        default=4.0,
        help="seconds between a conversation's turns in the 'paced' run (0: skip it)",
    )
    parser.add_argument("--think-turns", type=int, default=10)
    parser.add_argument("--rasa-pidfile", default=str(ROOT / "var" / "chatbot" / "rasa.pid"))
    parser.add_argument("--actions-pidfile", default=str(ROOT / "var" / "chatbot" / "actions.pid"))
    args = parser.parse_args()
    if not args.rasa_url.startswith("http://127.0.0.1:"):
        raise SystemExit("only 127.0.0.1 targets are allowed")
    try:
        hello = httpx.get(args.rasa_url + "/", timeout=3).text
    except httpx.HTTPError as exc:
        raise SystemExit(
            f"Rasa is not answering at {args.rasa_url} ({exc}); start it with `make chatbot-run`"
        ) from None
    levels = [int(x) for x in args.concurrency.split(",")]
    turns = [int(x) for x in args.turns.split(",")]
    turns += [turns[-1]] * (len(levels) - len(turns))

    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        work = Path(tmp)
        portal = start_portal(args, work / "portal", args.portal_port, args.rasa_url)
        fake_port, floor_port = free_port(), free_port()
        fake = start_fake_rasa(work, fake_port)
        floor = start_portal(args, work / "floor", floor_port, f"http://127.0.0.1:{fake_port}")
        base, floor_base = f"http://127.0.0.1:{args.portal_port}", f"http://127.0.0.1:{floor_port}"
        pids = {
            "rasa": pid_from(args.rasa_pidfile),
            "actions": pid_from(args.actions_pidfile),
            "portal": portal.pid,
        }
        sampler = Sampler(pids)
        floor_sampler = Sampler({"portal": floor.pid})
        print(
            f"{hello.strip()} at {args.rasa_url}; portal pid {portal.pid} at {base}; "
            f"{os.cpu_count()} CPUs; load average before {os.getloadavg()[0]:.2f}"
        )
        print("RSS before:", {k: f"{rss_mb(p) or 0:.0f} MB" for k, p in pids.items()})
        results = []
        try:
            # warm-up: model caches, the action server's first portal calls, the portal's imports
            asyncio.run(run_level("relay", 1, len(SCRIPT), 0, args.rasa_url, base, sampler))
            asyncio.run(run_level("floor", 1, len(SCRIPT), 0, args.rasa_url, floor_base, floor_sampler))
            for level, n in zip(levels, turns, strict=True):
                results.append(asyncio.run(run_level("direct", level, n, 0, args.rasa_url, base, sampler)))
                results.append(asyncio.run(run_level("relay", level, n, 0, args.rasa_url, base, sampler)))
                results.append(
                    asyncio.run(run_level("floor", level, n, 0, args.rasa_url, floor_base, floor_sampler))
                )
            if args.think > 0:
                results.append(
                    asyncio.run(
                        run_level(
                            "relay", max(levels), args.think_turns, args.think, args.rasa_url, base, sampler
                        )
                    )
                )
        finally:
            for proc in (portal, floor, fake):
                proc.terminate()
                proc.wait(timeout=20)
            drop_databases(args.database_url)
    print(
        "relay: browser -> portal -> Rasa -> actions -> portal API; direct: straight to Rasa; "
        "floor: the portal with an instant fake Rasa"
    )
    print(
        f"{'path':7} {'conv':>4} {'think':>5} {'turns':>5} {'err':>3} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'max ms':>7} {'turns/s':>7}  CPU ms/turn"
    )
    for r in results:
        cpu = " ".join(f"{k} {v:.0f}" for k, v in r["cpu_ms"].items())
        print(
            f"{r['kind']:7} {r['concurrency']:>4} {r['think']:>5.1f} {r['turns']:>5} {r['errors']:>3} "
            f"{r['p50']:>7.0f} {r['p95']:>7.0f} {r['max']:>7.0f} {r['throughput']:>7.1f}  {cpu}"
            + (f"  e.g. {r['error_samples']}" if r["errors"] else "")
        )
    print(
        "peak RSS during the run:",
        {k: f"{v:.0f} MB" for k, v in sampler.peak.items()},
        f"; load average after {os.getloadavg()[0]:.2f}",
    )
    for r in results:
        if r["kind"] == "relay" and r["concurrency"] == max(levels):
            verdict = "meets" if r["p95"] < 300 else "misses"
            print(
                f"target p95 < 300 ms, {r['concurrency']} conversations, think {r['think']:.0f} s: "
                f"{verdict} ({r['p95']:.0f} ms)"
            )


if __name__ == "__main__":
    main()
