"""Profile the portal under the benchmark's load with py-spy (not a project dependency).

Install py-spy outside the project, e.g. ``python3 -m pip install --target /tmp/pyspy py-spy``, then:

    uv run python bench/profile.py --py-spy /tmp/pyspy/bin/py-spy --scenario submit

Same database reset/seed and server settings as bench/run.py; py-spy samples every worker
(``--subprocesses``) while bench/loadgen.py runs, and the collapsed stacks are summarised as the
functions with the most samples, on their own (self) and with what they call (inclusive).
Raw stacks are kept in bench/results/profile-<scenario>.txt (flamegraph.pl / speedscope input).
"""

from __future__ import annotations

import argparse
import collections
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run, seed  # noqa: E402
from portal.config import Settings  # noqa: E402

# leaf frames of a thread or event loop with nothing to do (py-spy cannot always tell)
IDLE = (
    "Condition.wait (threading.py",
    "Runner.run (asyncio/runners.py",
    "Arbiter.sleep (gunicorn",
    "Arbiter.wait_for_signals (gunicorn",
    "select (selectors.py",
    "WorkerThread.run (anyio",
)
PATHS = {"catalogue": "/thu-tuc", "procedure": "/thu-tuc/chuyen-truong-thcs"}


# Where a sample's time goes: the first marker found walking from the leaf towards the root decides.
AREAS = [
    ("_before_commit (portal/quality", "quality facts refresh (before_commit)"),
    ("run_asgi", "middleware + FastAPI plumbing"),
    ("Template.render", "Jinja rendering"),
    ("render_block", "Jinja rendering"),
    ("portal/quality/", "quality (rating link in the page)"),
    ("sqlalchemy/", "SQLAlchemy + psycopg"),
    ("psycopg/", "SQLAlchemy + psycopg"),
    ("python_multipart", "multipart parsing"),
    ("FileStore.save", "attachment files"),
    ("run_in_threadpool", "thread-pool dispatch"),
    ("run_sync_in_worker_thread", "thread-pool dispatch"),
    ("Condition.notify", "thread-pool dispatch"),
    ("to_thread.py", "thread-pool dispatch"),
    ("itsdangerous", "session cookie"),
    ("_match (fastapi/routing", "route matching"),
    ("matches (fastapi/routing", "route matching"),
    ("solve_dependencies", "dependency solving"),
    ("httptools_impl", "HTTP protocol (uvicorn)"),
]


def _area(frames: list[str]) -> str:
    if any(f.startswith("_before_commit (portal/quality") for f in frames):
        return AREAS[0][1]
    for frame in reversed(frames):
        for marker, area in AREAS[1:]:
            if marker in frame:
                return area
    return "other"


def _function(frame: str) -> str:
    """'f (path.py:12)' -> 'f (path.py)': inclusive counts per function, not per line."""
    head, sep, tail = frame.rpartition(":")
    return f"{head})" if sep and tail.rstrip(")").isdigit() else frame


def summarise(raw: Path, top: int, prefix: str = "") -> list[str]:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1].startswith(IDLE):
            continue
        total += n
        areas[_area(frames)] += n
        own[frames[-1]] += n
        for frame in {_function(f) for f in frames}:
            inclusive[frame] += n
    out = [f"{total} samples", "-- by area"]
    out += [f"{100 * n / max(total, 1):5.1f}%  {area}" for area, n in areas.most_common()]
    out.append(f"-- top {top} by self samples")
    out += [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out.append(f"-- top {top} by inclusive samples (frames containing {prefix!r})")
    ranked = [(frame, n) for frame, n in inclusive.most_common() if prefix in frame][:top]
    out += [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in ranked]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")  # noqa: S108
    parser.add_argument(
        "--scenario", choices=["catalogue", "procedure", "tracking", "submit"], default="submit"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--gil",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="only sample threads holding the GIL (Python CPU, not waits); --no-gil to include waits",
    )
    parser.add_argument("--filter", default="", help="inclusive list: only frames whose text contains this")
    parser.add_argument("--database", default="bench_portal", help="dropped and created again")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/0", help="PORTAL_REDIS_URL when it answers ('' = none)"
    )
    args = parser.parse_args(argv)
    if not Path(args.py_spy).exists():
        raise SystemExit(f"py-spy not found at {args.py_spy}; see the module docstring")

    import os

    workers = args.workers or 2 * (os.cpu_count() or 1)
    upload_dir = Path(tempfile.mkdtemp(prefix="portal-profile-uploads-"))
    secret = secrets.token_urlsafe(32)
    db = args.database
    db_url = f"postgresql+psycopg://postgres@{run.PG_HOST}/{db}"
    settings = Settings(
        environment="production", database_url=db_url, secret_key=secret, upload_dir=upload_dir
    )
    lock = run.exclusive()  # noqa: F841 (held until the process exits)
    seed.reset_database(f"postgresql://postgres@{run.PG_HOST}/postgres", db)
    codes = seed.seed(settings, 20)
    port = run._free_port()
    env = {
        "PORTAL_ENVIRONMENT": "production",
        "PORTAL_SECRET_KEY": secret,
        "PORTAL_DATABASE_URL": db_url,
        "PORTAL_UPLOAD_DIR": str(upload_dir),
        "PORTAL_BASE_URL": f"http://{run.HOST}:{port}",
        "PORTAL_TRACKING_MAX_LOOKUPS": "1000000000",
    }
    if args.redis_url and run._redis_answers(args.redis_url):
        env["PORTAL_REDIS_URL"] = args.redis_url
    server = run.Server("portal", "portal.asgi:app", port, env, workers, run.RESULTS / "profile-server.log")
    raw = run.RESULTS / f"profile-{args.scenario}.txt"
    out = Path(tempfile.mkstemp(prefix="profile-", suffix=".json")[1])
    try:
        server.start()
        server.wait_ready("/healthz")
        assert server.proc is not None
        scenario, path, params = "get", PATHS.get(args.scenario, "/"), {}
        if args.scenario == "tracking":
            scenario, params = "track", {"cases": codes, "phone": seed.TRACK_PHONE}
        elif args.scenario == "submit":
            scenario = "submit"
            params = {
                "slug": seed.TRANSFER_SLUG,
                "fields": seed.form_fields(),
                "documents": seed.required_documents(settings),
            }
        load = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "loadgen.py"),
                "--target",
                f"{run.HOST}:{port}",
                "--scenario",
                scenario,
                "--path",
                path,
                "--clients",
                str(args.clients),
                "--warmup",
                "3",
                "--duration",
                str(args.duration + 2),
                "--params",
                json.dumps(params),
                "--out",
                str(out),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(4)
        spy = subprocess.run(
            [
                args.py_spy,
                "record",
                "--pid",
                str(server.proc.pid),
                "--subprocesses",
                *(["--gil"] if args.gil else []),
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.duration)),
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            capture_output=True,
            text=True,
        )
        load.wait(timeout=args.duration + 120)
        if spy.returncode != 0:
            print(spy.stderr[-2000:])
        result = json.loads(out.read_text())
        print(
            f"{args.scenario}: {result['rps']}/s p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms "
            f"errors {result['errors']} (under py-spy)"
        )
    finally:
        server.stop()
        shutil.rmtree(upload_dir, ignore_errors=True)
        out.unlink(missing_ok=True)
    print("\n".join(summarise(raw, args.top, args.filter)))
    print(f"raw stacks: {raw}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
