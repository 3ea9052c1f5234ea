"""VNPay IPN benchmark on PostgreSQL: throughput and latency with duplicate deliveries; the ledger's truth.

    uv run python bench/ipn.py [--payments 4000] [--duplicates 0.3] [--concurrency 32] [--workers N]

1. DROP/CREATE the PostgreSQL database ``bench_ipn`` (127.0.0.1:5432, user postgres), migrate it, and
   seed with SQL one school, N students with one unpaid invoice each and N pending VNPay attempts.
2. Start the portal as in production (gunicorn + UvicornWorker, PORTAL_ENVIRONMENT=production, VNPay
   terminal and secret from PORTAL_VNPAY_* variables, no sandbox).
3. Deliver one correctly signed success IPN per attempt plus ``duplicates`` × N extra copies. A
   duplicated IPN is sent with its copies at the same moment on separate keep-alive connections (what
   VNPay's retries racing each other look like); ``concurrency`` groups are in flight at once.
4. Check in the database: every attempt paid (zero lost payments), exactly one ledger line per
   attempt and the ledger total equal to the attempts' amounts (zero double credits), every invoice
   paid; and the replies: N × RspCode 00, the duplicates 02, nothing else.

Prints a Markdown table and writes it to bench/results/ipn-<time>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.loadgen import Client  # noqa: E402
from bench.run import HOST, RESULTS, Server, _free_port, _machine, _proc_cpu  # noqa: E402
from bench.seed import reset_database  # noqa: E402
from payments.vnpay_codec import SECURE_HASH, sign_params  # noqa: E402
from portal.cli import migrate  # noqa: E402

TMN = "BENCHTMN"
AMOUNT = 1_550_000
IPN_PATH = "/thanh-toan/vnpay/ipn"


def _pg_pids(database: str) -> list[int]:
    """PostgreSQL's backends for `database` and its WAL writer/checkpointer (titles may carry a
    cluster prefix such as "postgres: 15/main: postgres bench_ipn 127.0.0.1(5432) idle")."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as fh:
                if fh.read().strip() != "postgres":
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if (
            f" {database} " in cmd
            or "walwriter" in cmd
            or "checkpointer" in cmd
            or "background writer" in cmd
        ):
            out.append(int(entry))
    return out


def seed(db_url: str, payments: int) -> None:
    """One school, N students, N invoices, N pending attempts (one invoice each), all in SQL."""
    migrate(db_url)
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        conn.execute(
            "INSERT INTO fee_schools (code, name, agency_id, address, bank_account_name, created_at) "
            "VALUES ('BENCH01', 'Trường thử tải', 'H29.41.04', '', '', now())"
        )
        conn.execute("INSERT INTO fee_classes (school_id, name) VALUES (1, '1A')")
        conn.execute(
            "INSERT INTO fee_students (code, school_id, class_id, full_name, cccd, parent_phone, active, "
            "created_at, updated_at) SELECT 'B' || lpad(i::text, 9, '0'), 1, 1, 'Học sinh ' || i, '', "
            "'0912345678', true, now(), now() FROM generate_series(1, %s) AS i",
            (payments,),
        )
        conn.execute(
            "INSERT INTO fee_invoices (reference, school_id, class_id, student_id, period, title, amount, "
            "status, issued_at, issued_by) SELECT 'HDB' || lpad(i::text, 9, '0'), 1, 1, i, '2026-12', "
            "'Thông báo thu tháng 12/2026', %s, 'unpaid', now(), 'bench' FROM generate_series(1, %s) AS i",
            (AMOUNT, payments),
        )
        conn.execute(
            "INSERT INTO payment_attempts (txn_ref, provider, purpose, amount, state, order_info, "
            "payer_name, payer_phone, client_ip, created_at, updated_at, transaction_date, expires_at, raw, "
            "check_count) SELECT 'HPB' || lpad(i::text, 12, '0'), 'vnpay', 'school_fee', %s, 'pending', "
            "'Thanh toan hoc phi', '', '0912345678', '127.0.0.1', now(), now(), now(), "
            "now() + interval '15 minutes', '{}', 0 FROM generate_series(1, %s) AS i",
            (AMOUNT, payments),
        )
        conn.execute(
            "INSERT INTO payment_attempt_invoices (attempt_id, invoice_id, amount) "
            "SELECT i, i, %s FROM generate_series(1, %s) AS i",
            (AMOUNT, payments),
        )
        conn.execute("ANALYZE")


def ipn_target(index: int, secret: str) -> str:
    params = {
        "vnp_Amount": str(AMOUNT * 100),
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": f"VNP{14_000_000 + index}",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan hoc phi",
        "vnp_PayDate": "20261203101500",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": TMN,
        "vnp_TransactionNo": str(14_000_000 + index),
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": f"HPB{index:012d}",
    }
    return f"{IPN_PATH}?{urlencode({**params, SECURE_HASH: sign_params(params, secret)})}"


async def deliver(
    port: int, groups: list[list[str]], concurrency: int, timeout: float
) -> tuple[list[float], dict[str, int], float]:
    """Every group's copies at once, `concurrency` groups in flight; latency per delivery."""
    biggest = max(len(g) for g in groups)
    # LIFO: the connection used last goes out first, so few sit idle past the server's keep-alive
    # timeout (gunicorn's default: 2 s) only to be closed by it just as a request is written
    idle: asyncio.LifoQueue[Client] = asyncio.LifoQueue()
    for i in range(concurrency * biggest):
        idle.put_nowait(Client(HOST, port, i, timeout))
    latencies: list[float] = []
    replies: dict[str, int] = {}
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for group in groups:
        queue.put_nowait(group)

    async def one(target: str) -> None:
        client = await idle.get()
        started = time.perf_counter()
        try:
            try:
                response = await client.request("GET", target)
            except ConnectionError:
                # a kept-alive connection the server closed while idle, before any answer: send again
                # on a new one, as an HTTP client (and VNPay, which retries) would; counted below
                replies["resent on a new connection"] = replies.get("resent on a new connection", 0) + 1
                response = await client.request("GET", target)
            body = response.body.decode()
            code = body.split('"RspCode":"', 1)[1][:2] if '"RspCode":"' in body else f"http{response.status}"
        except Exception as exc:  # noqa: BLE001 - counted as a failed delivery
            code = type(exc).__name__
        latencies.append(time.perf_counter() - started)
        replies[code] = replies.get(code, 0) + 1
        idle.put_nowait(client)

    async def lane() -> None:
        while not queue.empty():
            group = queue.get_nowait()
            await asyncio.gather(*(one(t) for t in group))

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    while not idle.empty():
        idle.get_nowait().close()
    return latencies, replies, elapsed


PROFILE = RESULTS / "profile-ipn.txt"


def _start_py_spy(py_spy: str, server: Server) -> subprocess.Popen[bytes]:
    assert server.proc is not None
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--subprocesses",
            "--gil",
            "-f",
            "raw",
            "-r",
            "200",
            "-o",
            str(PROFILE),
            "-p",
            str(server.proc.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches to every worker before the deliveries start
    return spy


def check(db_url: str, payments: int) -> dict[str, int]:
    with psycopg.connect(db_url.replace("+psycopg", "")) as conn:
        one = conn.execute(
            "SELECT (SELECT count(*) FROM payment_attempts WHERE state = 'paid'), "
            "(SELECT count(*) FROM payment_attempts WHERE state <> 'paid'), "
            "(SELECT count(*) FROM payment_ledger), (SELECT count(DISTINCT attempt_id) FROM payment_ledger), "
            "(SELECT coalesce(sum(amount), 0) FROM payment_ledger), "
            "(SELECT coalesce(sum(amount), 0) FROM payment_attempts), "
            "(SELECT count(*) FROM fee_invoices WHERE status = 'paid')"
        ).fetchone()
    assert one is not None
    paid, not_paid, lines, credited, ledger_total, attempts_total, invoices = (int(x) for x in one)
    return {
        "paid": paid,
        "lost": not_paid,
        "ledger_lines": lines,
        "double_credits": lines - credited,
        "ledger_total": ledger_total,
        "attempts_total": attempts_total,
        "invoices_paid": invoices,
        "expected": payments,
    }


def main() -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=4000)
    parser.add_argument("--duplicates", type=float, default=0.3, help="extra copies per payment (0.3 = 30%%)")
    parser.add_argument("--concurrency", type=int, default=32, help="IPN groups in flight")
    parser.add_argument("--workers", type=int, default=2 * cores)
    parser.add_argument("--db-pool-size", type=int, default=8)
    parser.add_argument("--database", default="bench_ipn")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--py-spy",
        default="",
        help="path to py-spy: sample the server's workers during the deliveries (slows them down; "
        "raw stacks to bench/results/profile-ipn.txt, summarised like bench/profile.py)",
    )
    args = parser.parse_args()

    reset_database(args.pg_admin_url, args.database)
    db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}"
    seed(db_url, args.payments)
    secret = secrets.token_urlsafe(32)
    port = _free_port()
    env = {
        "PORTAL_ENVIRONMENT": "production",
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DATABASE_URL": db_url,
        "PORTAL_BASE_URL": f"http://{HOST}:{port}",
        "PORTAL_DB_POOL_SIZE": str(args.db_pool_size),
        "PORTAL_UPLOAD_DIR": str(ROOT / "var" / "bench-uploads"),
        "PORTAL_VNPAY_TMN_CODE": TMN,
        "PORTAL_VNPAY_HASH_SECRET": secret,
        "PORTAL_VNPAY_PAY_URL": "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
        "PORTAL_VNPAY_API_URL": "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction",
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    server = Server("portal", "portal.asgi:app", port, env, args.workers, RESULTS / f"ipn-server-{stamp}.log")
    rng = random.Random(4)  # noqa: S311 - which payments get duplicates; reproducible
    extra = round(args.payments * args.duplicates)
    copies = [1] * args.payments
    for index in rng.sample(range(args.payments), min(extra, args.payments)):
        copies[index] += 1
    for index in rng.choices(range(args.payments), k=max(0, extra - args.payments)):
        copies[index] += 1
    groups = [[ipn_target(i + 1, secret)] * copies[i] for i in range(args.payments)]
    rng.shuffle(groups)
    server.start()
    try:
        server.wait_ready("/healthz", timeout=300)  # a loaded machine boots workers slowly
        warm = [[ipn_target(10**11 + i, secret)] for i in range(200)]  # unknown TxnRefs: 01, no writes
        asyncio.run(deliver(port, warm, args.concurrency, 30))
        pg = _pg_pids(args.database)
        before = (server.cpu(), {p: _proc_cpu(p) for p in pg}, time.process_time(), _machine())
        spy = _start_py_spy(args.py_spy, server) if args.py_spy else None
        latencies, replies, elapsed = asyncio.run(deliver(port, groups, args.concurrency, 60))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        pg_cpu = sum(_proc_cpu(p) - before[1].get(p, 0.0) for p in set(pg) | set(_pg_pids(args.database)))
        busy = _machine()[0] - before[3][0]
        cpu = (server.cpu() - before[0], pg_cpu, time.process_time() - before[2])
        others = max(0.0, busy - sum(cpu))
        # the floor, same server, same run: GET /healthz (the same stack and one "SELECT 1" round trip)
        floor_lat, floor_replies, floor_elapsed = asyncio.run(
            deliver(port, [["/healthz"]] * len(latencies), args.concurrency, 60)
        )
    finally:
        server.stop()
    facts = check(db_url, args.payments)
    deliveries = len(latencies)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    ok = (
        facts["paid"] == args.payments
        and facts["lost"] == 0
        and facts["double_credits"] == 0
        and facts["ledger_lines"] == args.payments
        and facts["ledger_total"] == facts["attempts_total"]
        and facts["invoices_paid"] == args.payments
        and replies.get("00") == args.payments
        and replies.get("02", 0) == deliveries - args.payments
        and sum(v for k, v in replies.items() if k not in ("00", "02", "resent on a new connection")) == 0
    )
    table = "\n".join(
        [
            f"# IPN benchmark {stamp}",
            "",
            f"gunicorn + UvicornWorker × {args.workers} on {cores} cores, PostgreSQL on the same machine, "
            f"PORTAL_DB_POOL_SIZE={args.db_pool_size}; {args.payments} payments + "
            f"{deliveries - args.payments} duplicate deliveries ({args.duplicates:.0%}), sent with their "
            f"original on separate connections; {args.concurrency} groups in flight.",
            "",
            "| deliveries | time (s) | IPN/s | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | replies |",
            "|---|---|---|---|---|---|---|---|",
            f"| {deliveries} | {elapsed:.2f} | {deliveries / elapsed:.0f} | "
            f"{statistics.median(latencies) * 1000:.1f} "
            f"| {pct(0.95):.1f} | {pct(0.99):.1f} | {ordered[-1] * 1000:.1f} | "
            + ", ".join(f"{k}: {v}" for k, v in sorted(replies.items()))
            + " |",
            "",
            f"CPU per delivery: server {cpu[0] / deliveries * 1000:.2f} ms, "
            f"PostgreSQL {cpu[1] / deliveries * 1000:.2f} ms,"
            f" load generator {cpu[2] / deliveries * 1000:.2f} ms, other processes on the machine "
            f"{others / deliveries * 1000:.2f} ms (of {cores} cores × {elapsed:.1f} s = "
            f"{cores * elapsed / deliveries * 1000:.2f} ms available per delivery).",
            "",
            "Floor in the same run: GET /healthz (same server, one SELECT 1) "
            f"{len(floor_lat) / floor_elapsed:.0f} "
            f"req/s, p99 {sorted(floor_lat)[int(0.99 * len(floor_lat))] * 1000:.1f} ms "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(floor_replies.items()))}); "
            f"IPN/s ÷ floor = {(deliveries / elapsed) / (len(floor_lat) / floor_elapsed):.2f}.",
            "",
            "| paid | lost | ledger lines | double credits | ledger total = attempts total | invoices paid "
            "| verdict |",
            "|---|---|---|---|---|---|---|",
            f"| {facts['paid']}/{args.payments} | {facts['lost']} | {facts['ledger_lines']} | "
            f"{facts['double_credits']} | {facts['ledger_total'] == facts['attempts_total']} | "
            f"{facts['invoices_paid']} | {'OK' if ok else 'FAILED'} |",
        ]
    )
    print(table)
    if args.py_spy:
        from bench.profile import summarise

        print("\n".join(summarise(PROFILE, 30)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"ipn-{stamp}.md").write_text(table + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
