"""The portal's own CPU per VNPay IPN, without HTTP, load generator or neighbours: a steadier number
than bench/ipn.py's on a shared machine (it moves with the code, not with the other jobs).

    uv run python bench/ipn_cpu.py [--payments 2000] [--database bench_ipn_cpu]

Seeds PostgreSQL like bench/ipn.py, builds the production app in this process and calls its ASGI
entry point directly, one IPN at a time: every payment once (00), then 30% of them again (02).
Prints CPU milliseconds of this process (the app, its IPN thread, psycopg's client side) per
delivery of each kind, and wall milliseconds (which include PostgreSQL's work and the round trips).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ipn import TMN, ipn_target, seed  # noqa: E402
from bench.seed import reset_database  # noqa: E402


async def call(app: Any, target: str) -> bytes:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"VNPAY")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def run(app: Any, targets: list[str], expect: str) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for target in targets:
        body = await call(app, target)
        assert f'"RspCode":"{expect}"'.encode() in body, body
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--database", default="bench_ipn_cpu")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    reset_database(args.pg_admin_url, args.database)
    db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    seed(db_url, args.payments + 200)
    secret = secrets.token_urlsafe(32)
    os.environ.update(
        {
            "PORTAL_ENVIRONMENT": "production",
            "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
            "PORTAL_DATABASE_URL": db_url,
            "PORTAL_BASE_URL": "https://portal.example.vn",
            "PORTAL_UPLOAD_DIR": str(ROOT / "var" / "bench-uploads"),
            "PORTAL_VNPAY_TMN_CODE": TMN,
            "PORTAL_VNPAY_HASH_SECRET": secret,
            "PORTAL_VNPAY_PAY_URL": "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
            "PORTAL_VNPAY_API_URL": "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction",
        }
    )
    from portal.app import create_app

    app = create_app()
    n = args.payments
    warm = [ipn_target(n + 1 + i, secret) for i in range(200)]
    first = [ipn_target(i + 1, secret) for i in range(n)]
    again = first[: round(0.3 * n)]

    async def all_runs() -> list[tuple[str, int, float, float]]:
        await run(app, warm, "00")
        paid = await run(app, first, "00")
        dup = await run(app, again, "02")
        return [("00 (paid)", n, *paid), ("02 (duplicate)", len(again), *dup)]

    rows = asyncio.run(all_runs())
    print("| delivery | n | CPU ms each | wall ms each |\n|---|---:|---:|---:|")
    for name, count, cpu, wall in rows:
        print(f"| {name} | {count} | {cpu / count * 1000:.3f} | {wall / count * 1000:.3f} |")
    total = sum(r[1] for r in rows)
    mixed = sum(r[2] for r in rows) / total * 1000
    print(f"\nweighted as bench/ipn.py's mix ({n} + {len(again)}): {mixed:.3f} ms CPU per delivery")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
