"""Rate limits that hold whatever the request ends in, and the unit of work around them.

Findings #1, #2, #9, #12, #13 and #14 of the security review (2026-12). Client addresses come from
``X-Forwarded-For`` (uvicorn trusts it from the loopback proxy) and are documentation addresses
(RFC 5737): nothing is ever sent to them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from portal import ratelimit, routing
from portal.accounts.service import AccountService
from portal.config import Settings
from portal.models import Application, RateLimitHit
from tests.builders import APPLICANT, TRANSFER, TRANSFER_FIELDS, csrf, submit_transfer, transfer_documents
from tests.conftest import serve

PASSWORD = "dung-mat-khau-1"  # noqa: S105 - a test account's password
PHONE = "0912345678"


def _as(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


def _citizen(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        AccountService(session, app.state.settings).register(
            full_name="Lê Thị Hoa", phone=PHONE, email="", password=PASSWORD, password2=PASSWORD
        )
        session.commit()


def _login(web: httpx.Client, login: str, password: str, ip: str) -> int:
    token = csrf(web, "/dang-nhap")  # type: ignore[arg-type]
    response = web.post(
        "/dang-nhap", data={"csrf_token": token, "login": login, "password": password}, headers=_as(ip)
    )
    return response.status_code


def test_1_respelling_the_phone_does_not_reset_the_login_limit(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#1: every spelling of one phone number is one account for the limiter: guesses spread over
    addresses and spellings stop at the account's limit, even for the right password."""
    _citizen(served[1])
    limit = served[1].state.settings.login_max_failures_per_account
    spellings = ["0912 345 678", "0912(345)678", "0912.345.678", "+84 912 345 678", "0912-345-678"]
    statuses = [_login(web, spellings[n % 5], "sai-mat-khau", f"198.51.100.{n + 1}") for n in range(limit)]
    assert statuses == [422] * limit
    assert _login(web, PHONE, PASSWORD, "198.51.100.200") == 429


def test_1_an_oversized_login_still_counts_as_a_failure(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#1 (PostgreSQL): a login padded past the key column used to roll the hit back (503)."""
    _citizen(served[1])
    padded = PHONE + "(" * 300
    statuses = [_login(web, padded, "sai-mat-khau", "198.51.100.2") for _ in range(6)]
    assert 503 not in statuses and statuses[:5] == [422] * 5
    assert _login(web, PHONE, PASSWORD, "198.51.100.2") == 429


def test_14_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#14: five bad passwords from one address lock that address out, not the account's owner."""
    _citizen(served[1])
    assert [_login(web, PHONE, "sai", "203.0.113.66") for _ in range(6)][-1] == 429
    assert _login(web, PHONE, PASSWORD, "198.51.100.3") == 303


def _lookup_forms(app: FastAPI) -> dict[str, dict[str, str]]:
    return {
        "/ho-so/mo-bang-ma": {"case_code": "H29.41.04-261201-0001", "phone": "0900000000", "next": "rut"},
        "/le-phi/thanh-toan": {"case_code": "H29.41.04-261201-0001", "phone": "0900000000"},
        "/le-phi/bien-lai": {"case_code": "H29.41.04-261201-0001", "phone": "0900000000"},
        "/phan-anh/tra-cuu/bo-sung": {"code": "PA-261201-AB12CD", "phone": "0900000000", "content": "x"},
    }


def test_2_failed_code_and_phone_lookups_are_counted_on_every_oracle(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#2: the four code + phone forms that answer with a raised 404 counted nothing; after the
    tracking budget (30) the 31st try is refused, and the right phone does not open the case."""
    app_id, code = submit_transfer(web)  # type: ignore[arg-type]
    token = csrf(web, "/tra-cuu")  # type: ignore[arg-type]
    for n, (path, form) in enumerate(_lookup_forms(served[1]).items()):
        ip = f"192.0.2.{10 + n}"
        statuses = {
            web.post(path, data={**form, "csrf_token": token}, headers=_as(ip)).status_code for _ in range(30)
        }
        assert statuses == {404}, (path, statuses)
        right = {**form, "csrf_token": token, "case_code": code, "phone": APPLICANT["applicant_phone"]}
        assert web.post(path, data=right, headers=_as(ip)).status_code == 429, path


def _draft(web: httpx.Client) -> str:
    token = csrf(web, f"/thu-tuc/{TRANSFER}/nop-ho-so")  # type: ignore[arg-type]
    response = web.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "review"},
        files=transfer_documents(),
    )
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"].split("/")[2]


def _twice_at_once(web: httpx.Client, path: str, data: dict[str, str]) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        statuses.append(web.post(path, data=data).status_code)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join(timeout=60)
    return statuses


def test_9_a_double_clicked_submit_is_one_case_and_no_error(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#9: two concurrent "Nộp hồ sơ" on one draft (PostgreSQL: a lost optimistic lock) gave a 500."""
    for _ in range(4):
        app_id = _draft(web)
        token = csrf(web, f"/ho-so/{app_id}/xem-lai")  # type: ignore[arg-type]
        assert _twice_at_once(web, f"/ho-so/{app_id}/nop", {"csrf_token": token}) == [303, 303]
        with served[1].state.db.sessions() as session:
            case = session.scalars(select(Application).where(Application.id == app_id)).one()
            assert case.case_code and not case.is_draft


def _api_draft(web: httpx.Client, address: str, **headers: str) -> httpx.Response:
    body: dict[str, Any] = {
        "procedure_code": TRANSFER,
        "agency_id": TRANSFER_FIELDS["agency_id"],
        "applicant": {"full_name": "Trần Thị Mai", "phone": "0987654321", "address": address},
    }
    return web.post("/api/v1/applications", json=body, headers=headers)


def test_12_bad_data_is_not_reported_as_a_database_outage(web: httpx.Client) -> None:
    """#12: a NUL in a field was a 503 "database down" on PostgreSQL (DataError); now it is a
    validation error at that field, like any other value the portal cannot keep."""
    address = "12 Lê Văn Khương\u0000 phường Thới An"
    response = _api_draft(web, address, Authorization="Bearer test-service-token")
    assert response.status_code == 422, response.text
    assert "applicant.address" in response.json()["error"]["fields"]
    assert "retry-after" not in response.headers


def test_12_only_an_unreachable_database_is_unavailable() -> None:
    """#12: the error handler maps constraint and data errors to 409/422, not 503."""
    from psycopg import errors as pg
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError

    from portal.app import db_error_kind

    assert db_error_kind(IntegrityError("INSERT", {}, pg.UniqueViolation())) == "conflict"
    assert db_error_kind(DataError("INSERT", {}, pg.StringDataRightTruncation())) == "invalid"
    assert db_error_kind(OperationalError("connect", {}, pg.OperationalError("refused"))) == "down"


def test_13_the_assistant_does_not_multiply_the_tracking_budget(
    served: tuple[str, FastAPI], web: httpx.Client
) -> None:
    """#13: with the service token, lookups skipped the limit; now they count against the person
    the assistant acts for (the relay's key for their address), who then has no budget left on
    the page either; service calls naming nobody share one budget."""
    from portal.ratelimit import client_key

    app_id, code = submit_transfer(web)  # type: ignore[arg-type]
    settings = served[1].state.settings
    person = client_key(settings.secret_key, "198.51.100.77")
    service = {"Authorization": f"Bearer {settings.service_token}", "X-Portal-End-User": person}
    misses = {
        web.get(f"/api/v1/applications/{code}", params={"phone": "0900000001"}, headers=service).status_code
        for _ in range(30)
    }
    assert misses == {404}
    right = web.get(
        f"/api/v1/applications/{code}", params={"phone": APPLICANT["applicant_phone"]}, headers=service
    )
    assert right.status_code == 429
    token = csrf(web, "/tra-cuu")  # type: ignore[arg-type]
    page = web.post(
        "/tra-cuu",
        data={"csrf_token": token, "case_code": code, "phone": "0900000001"},
        headers=_as("198.51.100.77"),
    )
    assert page.status_code == 429
    anonymous_service = {"Authorization": f"Bearer {settings.service_token}"}
    statuses = [
        web.get(
            f"/api/v1/applications/{code}", params={"phone": "0900000001"}, headers=anonymous_service
        ).status_code
        for _ in range(31)
    ]
    assert statuses[-1] == 429


# -- the counters in Redis (PORTAL_REDIS_URL) --------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError):
        pytest.skip("no Redis on 127.0.0.1:6379 (make test and CI start one)")
    return client


@pytest.fixture
def served_with_redis(app: FastAPI, secure_settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """The portal counting in Redis, under a namespace of its own (a fresh secret for each test)."""
    redis_client = _redis()
    settings = secure_settings.model_copy(
        update={"redis_url": REDIS_URL, "secret_key": f"test-redis-{uuid.uuid4().hex}-{uuid.uuid4().hex}"}
    )
    with serve(settings) as served:
        yield served
    namespace = ratelimit.redis_namespace(settings.secret_key, settings.database_url)
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)


def _redis_keys(app: FastAPI) -> list[str]:
    settings = app.state.settings
    namespace = ratelimit.redis_namespace(settings.secret_key, settings.database_url)
    return [k.decode() for k in _redis().scan_iter(f"{namespace}:*")]


def _db_hits(app: FastAPI) -> int:
    with app.state.db.sessions() as session:
        return len(session.scalars(select(RateLimitHit)).all())


def test_redis_lookups_are_counted_without_a_database_write(served_with_redis: tuple[str, FastAPI]) -> None:
    """The tracking budget holds with the counters in Redis: failed lookups (a 404 page, a raised 404
    that rolls the request back) count, the 31st try is refused even with the right phone, no
    rate-limit row is written, and the keys hold no address or phone in clear."""
    url, app = served_with_redis
    with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as web:
        _, code = submit_transfer(web)  # type: ignore[arg-type]
        token = csrf(web, "/tra-cuu")  # type: ignore[arg-type]
        ip = "192.0.2.44"
        wrong = {"csrf_token": token, "case_code": code, "phone": "0900000000"}
        pages = {web.post("/tra-cuu", data=wrong, headers=_as(ip)).status_code for _ in range(15)}
        raised = {
            web.post("/ho-so/mo-bang-ma", data={**wrong, "next": "rut"}, headers=_as(ip)).status_code
            for _ in range(15)
        }
        assert pages == raised == {404}
        right = {**wrong, "phone": APPLICANT["applicant_phone"]}
        assert web.post("/tra-cuu", data=right, headers=_as(ip)).status_code == 429
        assert web.post("/tra-cuu", data=right, headers=_as("192.0.2.45")).status_code == 200
    assert _db_hits(app) == 0
    keys = _redis_keys(app)
    assert keys and all("192.0.2" not in k and "0900000000" not in k for k in keys)


def test_redis_sign_in_limits_and_forgiveness(served_with_redis: tuple[str, FastAPI]) -> None:
    """Sign-in failures count in Redis; a successful sign-in takes its own attempt back after the
    commit, so the owner is not locked out by their own successes."""
    url, app = served_with_redis
    _citizen(app)
    with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as web:
        for _ in range(8):  # more successes than the limit of failures
            assert _login(web, PHONE, PASSWORD, "198.51.100.9") == 303
        assert [_login(web, PHONE, "sai", "203.0.113.9") for _ in range(6)][-1] == 429
        assert _login(web, PHONE, PASSWORD, "198.51.100.9") == 303
    assert _db_hits(app) == 0


def test_a_forgiven_redis_hit_stays_counted_when_the_request_rolls_back(app: FastAPI) -> None:
    _redis()
    counters = ratelimit.RedisCounters(REDIS_URL, f"portal:ratelimit:test-{uuid.uuid4().hex}")
    ratelimit.use_redis(app.state.db.sessions, counters)
    try:
        for outcome in ("rollback", "commit"):
            with app.state.db.sessions() as session:
                limiter = ratelimit.RateLimiter(session)
                assert limiter.counters is counters
                limiter.hit(f"t:{outcome}", window_seconds=60, now=1_000_000)
                limiter.forgive(f"t:{outcome}", window_seconds=60, now=1_000_000)
                if outcome == "rollback":
                    routing.roll_back(session)
                else:
                    routing.commit(session)
            with app.state.db.sessions() as session:
                left = ratelimit.RateLimiter(session).count(f"t:{outcome}", window_seconds=60, now=1_000_000)
            assert left == (1 if outcome == "rollback" else 0), outcome
    finally:
        ratelimit.use_redis(app.state.db.sessions, None)


def test_an_unreachable_redis_falls_back_to_the_database_and_says_so(
    app: FastAPI, secure_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis down (nothing listens on the port): the lookups are counted in the database, the
    budget still holds, and the fallback is logged, never silent."""
    settings = secure_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    caplog.set_level(logging.WARNING, logger="portal.ratelimit")
    with serve(settings) as (url, served):
        with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as web:
            token = csrf(web, "/tra-cuu")  # type: ignore[arg-type]
            form = {"csrf_token": token, "case_code": "H29.41.04-261201-0001", "phone": "0900000000"}
            statuses = [
                web.post("/tra-cuu", data=form, headers=_as("192.0.2.77")).status_code for _ in range(31)
            ]
        assert statuses[:30] == [404] * 30 and statuses[30] == 429
        assert _db_hits(served) >= 1
    assert any("Redis did not answer" in r.getMessage() for r in caplog.records)
