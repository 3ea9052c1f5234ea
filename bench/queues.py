"""Staff queues on a million cases: seed PostgreSQL fast, then time queue pages (p50/p95).

    uv run python bench/queues.py                 # seed 1,000,000 cases once, then measure
    uv run python bench/queues.py --reseed        # drop and seed again
    uv run python bench/queues.py --cases 200000 --requests 100

The database ``bench_backoffice`` (on the server of --server, default
postgresql://postgres@127.0.0.1:5432) is created, migrated with
``portal.cli.migrate`` and filled by one ``INSERT … SELECT FROM
generate_series`` (no per-row Python). About 15 % of the cases are open,
spread over the one-stop states and five agencies, with due dates around today.

Each measured request opens its own session and goes through the same
service and repository code as the staff pages (``QueueService``), plus one
scenario through HTTP (the rendered queue page, counts included). Target:
p95 < 50 ms for the first page of a queue and for a filtered, deadline-sorted page.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

DATABASE = "bench_backoffice"
AGENCIES = ("H29.41.01", "H29.41.02", "H29.41.03", "H29.41.04", "H29.41.05")
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Thanh", "Quốc", "Hữu", "Đức", "Thu", "Hoài"]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Hà",
    "Hải",
    "Hùng",
    "Khôi",
    "Lan",
    "Linh",
    "Mai",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
    "Đạt",
    "Ánh",
    "Khoa",
]
# open states and their share among open cases; the rest of the cases are closed
OPEN = [
    ("cho_tiep_nhan", 2),
    ("dang_tham_dinh", 6),
    ("cho_phe_duyet", 2),
    ("cho_ban_hanh", 1),
    ("cho_tra_ket_qua", 1),
    ("cho_bo_sung", 1),
]
CLOSED = [("da_tra_ket_qua", 14), ("tu_choi", 2), ("da_rut", 1)]
SPECIALISTS_PER_AGENCY = 12


def _admin_conninfo(server: str) -> str:
    return server.replace("postgresql+psycopg://", "postgresql://").rstrip("/") + "/postgres"


def database_url(server: str) -> str:
    base = server.replace("postgresql://", "postgresql+psycopg://").rstrip("/")
    return f"{base}/{DATABASE}"


def _seeded(server: str, cases: int) -> bool:
    try:
        with psycopg.connect(_admin_conninfo(server).rsplit("/", 1)[0] + f"/{DATABASE}") as conn:
            n = conn.execute("SELECT count(*) FROM applications").fetchone()
            return bool(n and n[0] >= cases)
    except psycopg.Error:
        return False


def _fold_sql(column: str) -> str:
    """translate() that maps Vietnamese letters to ASCII, like workflows.text.fold (for the seed only)."""
    src = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    dst = "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    return f"translate(lower({column}), '{src}', '{dst}')"


def seed(server: str, cases: int) -> None:
    from portal.cli import migrate
    from portal.config import Settings
    from portal.staff.service import hash_password
    from workflows.definitions import load_registry

    with psycopg.connect(_admin_conninfo(server), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = database_url(server)
    migrate(url)
    registry = load_registry(Settings.model_fields["definitions_dir"].default)
    today = date.today()
    procedures = [(d.code, d.version) for d in registry.in_force(today)]
    states = [s for s, w in OPEN for _ in range(w)]
    closed = [s for s, w in CLOSED for _ in range(w)]
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        staff_hash = hash_password("bench-password")
        conn.execute(
            """
            INSERT INTO staff_members (id, login, full_name, email, agency_id, password_hash, active,
                                       session_epoch, created_at)
            SELECT a * 100 + k, 'cv' || a || '-' || k || '@bench', 'Chuyên viên ' || a || '.' || k, NULL,
                   (%(agencies)s::text[])[a], %(hash)s, true, 1, now()
            FROM generate_series(1, 5) a, generate_series(1, %(n)s) k
        """,
            {"agencies": list(AGENCIES), "hash": staff_hash, "n": SPECIALISTS_PER_AGENCY},
        )
        conn.execute("INSERT INTO staff_roles (staff_id, role) SELECT id, 'chuyen_vien' FROM staff_members")
        conn.execute("SELECT setval(pg_get_serial_sequence('staff_members', 'id'), 1000)")
        # i → agency (round robin), day of receipt, daily sequence; ~15 % open
        # only module constants are formatted in; values go as parameters
        conn.execute(
            f"""
            WITH g AS (
                SELECT i,
                       1 + (i %% 5) AS a,
                       (i / 5) / 9000 AS day_back,
                       ((i / 5) %% 9000) + 1 AS seq,
                       (hashtext(i::text) & 2147483647) AS h
                FROM generate_series(0, %(cases)s - 1) i
            ), c AS (
                SELECT g.*,
                       (h %% 100) < 15 AS is_open,
                       (%(family)s::text[])[1 + h %% {len(FAMILY)}] || ' ' ||
                       (%(middle)s::text[])[1 + (h / 7) %% {len(MIDDLE)}] || ' ' ||
                       (%(given)s::text[])[1 + (h / 97) %% {len(GIVEN)}] AS name,
                       (%(procs)s::text[])[1 + (h / 11) %% %(nprocs)s] AS proc
                FROM g
            )
            INSERT INTO applications (id, procedure_code, definition_version, agency_id, status, case_code,
                channel, applicant_name, applicant_cccd, applicant_phone, applicant_email, applicant_address,
                data, fee_amount, created_at, updated_at, submitted_at, due_date, closed_at, lock_version,
                assignee_id, effective_due_date, applicant_name_folded)
            SELECT md5(i::text)::uuid::text,
                   split_part(proc, ':', 1), split_part(proc, ':', 2)::int,
                   (%(agencies)s::text[])[a],
                   CASE WHEN is_open THEN (%(open)s::text[])[1 + (h / 13) %% %(nopen)s]
                        ELSE (%(closed)s::text[])[1 + (h / 13) %% %(nclosed)s] END,
                   (%(agencies)s::text[])[a] || '-' || to_char(current_date - day_back, 'YYMMDD') || '-'
                       || lpad(seq::text, 4, '0'),
                   'online', name, '079' || lpad((h %% 1000000000)::text, 9, '0'),
                   '09' || lpad((h %% 100000000)::text, 8, '0'), '', 'Thành phố Hồ Chí Minh', '{{}}'::json, 0,
                   now(), now(), now() - make_interval(days => day_back),
                   current_date - day_back + 3,
                   CASE WHEN is_open THEN NULL ELSE now() - make_interval(days => day_back) END,
                   2,
                   CASE WHEN is_open AND (h / 17) %% 10 < 7
                        THEN a * 100 + 1 + (h / 19) %% {SPECIALISTS_PER_AGENCY} ELSE NULL END,
                   CASE WHEN is_open THEN current_date + ((h / 23) %% 61) - 30
                        ELSE current_date - day_back + 3 END,
                   {_fold_sql("name")}
            FROM c
        """,  # noqa: S608
            {
                "cases": cases,
                "family": FAMILY,
                "middle": MIDDLE,
                "given": GIVEN,
                "agencies": list(AGENCIES),
                "procs": [f"{c}:{v}" for c, v in procedures],
                "nprocs": len(procedures),
                "open": states,
                "nopen": len(states),
                "closed": closed,
                "nclosed": len(closed),
            },
        )
        conn.commit()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE applications")
        conn.execute("VACUUM ANALYZE staff_members")
    print(f"seeded {cases:,} cases in {time.perf_counter() - started:.1f} s")


def measure(name: str, fn: Callable[[], Any], requests: int) -> tuple[str, float, float, float, Any]:
    for _ in range(5):
        result = fn()  # warm up caches and the connection pool
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    return name, statistics.median(times), p95, max(times), result


def run(server: str, requests: int) -> list[tuple[str, float, float, float, Any]]:
    from fastapi.testclient import TestClient

    from portal.app import create_app
    from portal.backoffice.queues import QueueParams, QueueService, WorkflowIndex
    from portal.backoffice.repository import Cursor, QueueRepository
    from portal.config import Settings
    from portal.db import Database
    from portal.staff.models import StaffMember, StaffRole
    from portal.staff.repository import StaffRepository
    from portal.staff.service import hash_password

    url = database_url(server)
    settings = Settings(
        database_url=url, environment="test", secret_key="bench-secret", login_max_failures=1000
    )
    app = create_app(settings)
    db: Database = app.state.db
    index = WorkflowIndex(app.state.registry)
    calendar = app.state.calendar
    agency = "H29.41.04"
    with db.sessions() as s:
        specialist = s.get(StaffMember, 4 * 100 + 1)
        assert specialist is not None, "seed first"
        s.expunge(specialist)
        # a cursor deep in the open queue (the 200th page of 25), found once with OFFSET outside the timing
        deep = s.execute(
            sql_text(
                "SELECT effective_due_date, id FROM applications WHERE agency_id = :a AND closed_at IS NULL "
                "AND effective_due_date IS NOT NULL ORDER BY effective_due_date, id OFFSET 5000 LIMIT 1"
            ),
            {"a": agency},
        ).first()
        sample = s.execute(
            sql_text(
                "SELECT applicant_cccd, applicant_name_folded FROM applications WHERE agency_id = :a "
                "AND closed_at IS NULL ORDER BY id LIMIT 1"
            ),
            {"a": agency},
        ).one()
        if s.get(StaffMember, 999) is None:
            s.add(
                StaffMember(
                    id=999,
                    login="bench@demo",
                    full_name="Bench",
                    agency_id=agency,
                    password_hash=hash_password("bench-password"),
                    active=True,
                    session_epoch=1,
                    role_rows=[StaffRole(role="chuyen_vien")],
                )
            )
            s.commit()
    deep_cursor = Cursor(deep[0], deep[1]).encode() if deep else ""

    def page(params: QueueParams) -> Callable[[], Any]:
        def call() -> Any:
            with db.sessions() as s:
                service = QueueService(QueueRepository(s), StaffRepository(s), index, calendar)
                return len(service.page(specialist, params).items)

        return call

    def counts() -> Any:
        with db.sessions() as s:
            return (
                QueueService(QueueRepository(s), StaffRepository(s), index, calendar).counts(specialist).open
            )

    client = TestClient(app)
    login_page = client.get("/can-bo/dang-nhap").text
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/can-bo/dang-nhap", data={"csrf_token": token, "login": "bench@demo", "password": "bench-password"}
    )

    def http_page() -> Any:
        response = client.get("/can-bo/ho-so?trang_thai=dang_tham_dinh&han=qua-han")
        assert response.status_code == 200, response.status_code
        return response.text.count('class="case-link"')

    scenarios = [
        ("first page: all open cases of the agency", page(QueueParams())),
        ("first page: my cases", page(QueueParams(queue="cua-toi"))),
        ("first page: unassigned (appraisal)", page(QueueParams(queue="chua-phan-cong"))),
        (
            "filtered: state=dang_tham_dinh + overdue, by deadline",
            page(QueueParams(status="dang_tham_dinh", deadline="qua-han")),
        ),
        (
            "filtered: procedure + due within 1 working day",
            page(QueueParams(procedure="2.002481", deadline="sap-den-han")),
        ),
        ("keyset page 201 of all open cases", page(QueueParams(after=deep_cursor))),
        ("search: CCCD (exact)", page(QueueParams(q=sample[0]))),
        (f"search: name without accents «{sample[1]}» (open)", page(QueueParams(q=sample[1]))),
        ("sidebar counts (one grouped query)", counts),
        ("HTTP: queue page incl. counts + render", http_page),
    ]
    return [measure(name, fn, requests) for name, fn in scenarios]


def sql_text(statement: str) -> Any:
    from sqlalchemy import text

    return text(statement)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    if args.reseed or not _seeded(args.server, args.cases):
        seed(args.server, args.cases)
    with psycopg.connect(database_url(args.server).replace("postgresql+psycopg://", "postgresql://")) as conn:
        total, open_ = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE closed_at IS NULL) FROM applications"
        ).fetchone() or (0, 0)
    print(f"\n{total:,} cases ({open_:,} open) in {DATABASE}; {args.requests} requests per scenario\n")
    rows = run(args.server, args.requests)
    width = max(len(r[0]) for r in rows)
    print(f"{'scenario':<{width}}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}  rows")
    print("-" * (width + 36))
    for name, p50, p95, worst, result in rows:
        print(f"{name:<{width}}  {p50:7.2f}  {p95:7.2f}  {worst:7.2f}  {result}")
    slow = [r[0] for r in rows if r[2] >= 50 and not r[0].startswith(("HTTP", "sidebar"))]
    print("\ntarget p95 < 50 ms for queue pages:", "met" if not slow else f"NOT met for {slow}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
