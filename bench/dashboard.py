"""Quality dashboard at scale: 1,000,000 cases in PostgreSQL, a year's dashboard in under a second.

    uv run python bench/dashboard.py [--cases 1000000] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

A dedicated database (``bench_quality``) is dropped, created and migrated with
``portal.cli.migrate``; cases and their quality facts are written with SQL
``generate_series`` (a year of receipts over five wards and nine procedures:
70 % online, 10 % with a supplement request and 1 % with two, 7 % late, 4 %
refused, 1 % withdrawn, 2 % still open, a third rated), then the monthly
roll-ups are rebuilt once (``QualityRepository.rebuild_months``), as after any
bulk load. Then the full HTTP request for the dashboard of the year (all
agencies, as an admin; one agency, as its head), the Excel export and the
public statistics page are timed through the app (server-side rendering
included). Exit status 1 when the year's dashboard takes 1 s or more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from portal.cli import migrate  # noqa: E402
from portal.config import Settings  # noqa: E402

DB = "bench_quality"
LIMIT_SECONDS = 1.0

SEED_APPLICATIONS = """
INSERT INTO applications (id, procedure_code, definition_version, agency_id, status, case_code, channel,
    applicant_name, applicant_cccd, applicant_phone, applicant_email, applicant_address, data, fee_amount,
    created_at, updated_at, submitted_at, due_date, closed_at, lock_version, effective_due_date,
    applicant_name_folded)
SELECT md5(i::text)::uuid::text,
       (ARRAY['2.002481','2.001914','1.005092','1.004443','1.004494','1.004555','1.008950','1.009394',
              '1.011520'])[1 + i % 9],
       CASE WHEN i % 9 IN (0, 1, 7) THEN 2 ELSE 1 END,
       'H29.41.0' || (1 + i % 5),
       CASE WHEN i % 50 = 0 THEN 'dang_tham_dinh' WHEN i % 100 = 1 THEN 'da_rut'
            WHEN i % 25 = 2 THEN 'tu_choi' ELSE 'da_tra_ket_qua' END,
       'B' || i,
       CASE WHEN i % 10 < 7 THEN 'online' ELSE 'desk' END,
       'Người nộp ' || i, '079000000000', '0900000000', '', '', '{}'::json,
       CASE WHEN i % 9 = 2 THEN 2000 ELSE 0 END,
       t.received, t.received, t.received, (t.received + interval '7 days')::date,
       CASE WHEN i % 50 = 0 THEN NULL ELSE t.received + interval '4 days' END,
       3, (t.received + interval '7 days')::date, ''
FROM generate_series(1, %(cases)s) AS i,
     LATERAL (SELECT timestamptz '2026-01-01 02:00+00' + ((i::bigint * 7919) %% 365) * interval '1 day'
                     + (i %% 8) * interval '1 hour' AS received) AS t
"""

SEED_FACTS = """
INSERT INTO quality_case_facts (application_id, agency_id, procedure_code, month, received_at, channel,
    due_date, paused_since, supplement_requests, closed_at, outcome, late, processing_days, fee_bearing,
    paid_online, has_attachments, e_result, rating, complaint, invited_at, updated_at)
SELECT a.id, a.agency_id, a.procedure_code,
       date_trunc('month', a.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
       a.submitted_at, a.channel, a.due_date,
       CASE WHEN n.i % 500 = 0 THEN a.due_date - 3 END,
       CASE WHEN n.i % 100 = 7 THEN 2 WHEN n.i % 10 = 3 THEN 1 ELSE 0 END,
       a.closed_at,
       CASE a.status WHEN 'da_tra_ket_qua' THEN 'result' WHEN 'tu_choi' THEN 'refused'
                     WHEN 'da_rut' THEN 'withdrawn' END,
       CASE WHEN a.closed_at IS NULL OR a.status = 'da_rut' THEN NULL
            ELSE (n.i % 100 < 7 OR n.i % 100 = 7) END,
       CASE WHEN a.closed_at IS NULL OR a.status = 'da_rut' THEN NULL ELSE 1 + n.i % 6 END,
       a.fee_amount > 0, a.fee_amount > 0 AND n.i % 3 > 0,
       true, a.status = 'da_tra_ket_qua' AND n.i % 5 > 0,
       CASE WHEN a.status IN ('da_tra_ket_qua', 'tu_choi') AND n.i % 3 = 0 THEN
            (ARRAY['rat_hai_long','hai_long','hai_long','khong_hai_long'])[1 + n.i % 4] END,
       n.i % 200 = 0, a.closed_at, now()
FROM applications a
JOIN LATERAL (SELECT substr(a.case_code, 2)::int AS i) AS n ON true
"""

ADMIN_HASH_PASSWORD = "matkhau-bench-1"  # noqa: S105 (benchmark account)


def reset_database(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{DB}"


def seed(url: str, cases: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    migrate("postgresql+psycopg://" + url.split("://", 1)[1])
    timings["migrate"] = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        for name, statement in (("applications", SEED_APPLICATIONS), ("facts", SEED_FACTS)):
            started = time.perf_counter()
            conn.execute(statement.replace("%(cases)s", str(cases)).replace("%%", "%"))
            timings[f"seed {name}"] = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE applications")
        conn.execute("VACUUM ANALYZE quality_case_facts")  # as autovacuum would after a bulk load
    return timings


def rebuild_and_staff(settings: Settings) -> float:
    from portal.db import Database
    from portal.quality.repository import QualityRepository
    from portal.staff.models import StaffMember, StaffRole
    from portal.staff.service import hash_password

    db = Database(settings.database_url)
    started = time.perf_counter()
    with db.sessions() as session:
        QualityRepository(session).rebuild_months()
        for login, roles, agency in (
            ("quantri@bench", ["admin"], "H29.41.04"),
            ("lanhdao@bench", ["lanh_dao"], "H29.41.04"),
        ):
            session.add(
                StaffMember(
                    login=login,
                    full_name=login,
                    agency_id=agency,
                    active=True,
                    session_epoch=1,
                    password_hash=hash_password(ADMIN_HASH_PASSWORD),
                    role_rows=[StaffRole(role=r) for r in roles],
                )
            )
        session.commit()
    elapsed = time.perf_counter() - started
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE quality_monthly")
        conn.commit()
    db.dispose()
    return elapsed


def login(client: TestClient, name: str) -> None:
    import re

    page = client.get("/can-bo/dang-nhap").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/can-bo/dang-nhap",
        data={"csrf_token": token, "login": name, "password": ADMIN_HASH_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def timed(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    samples = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        size = len(response.content)
    return statistics.median(samples), max(samples), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="time the database seeded by an earlier run")
    args = parser.parse_args()

    if args.reuse:
        url = args.admin_url.rpartition("/")[0] + f"/{DB}"
        timings: dict[str, float] = {}
    else:
        url = reset_database(args.admin_url)
        timings = seed(url, args.cases)
    settings = Settings(
        environment="test",
        database_url="postgresql+psycopg://" + url.split("://", 1)[1],
        secret_key="bench-secret-key-not-for-production",
        base_url="http://testserver",
    )
    if not args.reuse:
        timings["rebuild monthly roll-ups"] = rebuild_and_staff(settings)
    for name, seconds in timings.items():
        print(f"{name:28s} {seconds:8.2f} s")

    from portal.app import create_app

    app = create_app(settings)
    year = "tu=2026-01&den=2026-12"
    results = {}
    with TestClient(app) as admin, TestClient(app) as head, TestClient(app) as public:
        login(admin, "quantri@bench")
        login(head, "lanhdao@bench")
        timed(admin, f"/can-bo/chat-luong?{year}", 1)  # warm-up: templates, registry, connection pool
        results["dashboard, year, all agencies (admin)"] = timed(
            admin, f"/can-bo/chat-luong?{year}", args.runs
        )
        results["dashboard, year, one agency (head)"] = timed(head, f"/can-bo/chat-luong?{year}", args.runs)
        results["dashboard, year, one procedure"] = timed(
            admin, f"/can-bo/chat-luong?{year}&thu_tuc=2.002481", args.runs
        )
        results["Excel export, year"] = timed(admin, f"/can-bo/chat-luong/xuat.xlsx?{year}", 3)
        results["public statistics, year"] = timed(public, "/thong-ke?nam=2026", args.runs)
    print(f"\n{args.cases:,} cases; median and worst of the HTTP request, rendering included")
    for name, (median, worst, size) in results.items():
        ms = f"median {median * 1000:7.1f} ms   worst {worst * 1000:7.1f} ms"
        print(f"{name:40s} {ms}   {size / 1024:6.1f} KiB")
    worst_year = results["dashboard, year, all agencies (admin)"][1]
    verdict = "OK" if worst_year < LIMIT_SECONDS else "TOO SLOW"
    print(f"\nyear dashboard worst {worst_year * 1000:.0f} ms: {verdict} (limit {LIMIT_SECONDS:.0f} s)")
    return 0 if worst_year < LIMIT_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
