"""Fixed-window rate limiting stored in the database (shared by all workers).

A hit must count even when the request that made it fails: a lookup that ends in a 404, a wrong
password, a validation error or a database error is exactly what an attacker repeats. So a hit is
written in the request's own transaction (the handler sees the new count at once) *and* remembered
on the session; when the unit of work rolls back, ``persist_after_rollback`` writes the remembered
hits again in a fresh transaction (see ``portal/deps.py`` and ``portal/routing.py``). A successful
commit forgets them.

Keys are stored as their scope (the text before the first ``:``) plus a SHA-256 digest of the rest:
no input, however long or strange, can overflow the column (a failed INSERT would roll back the hit
with everything else), and no phone number or e-mail address sits in the table in clear.

With ``PORTAL_REDIS_URL`` the counters live in Redis instead (``RedisCounters``): one INCR per hit on
a key that expires with its window, stored the moment it is counted — so a hit survives any rollback
without being written again, and a busy client no longer upserts one database row per request inside
its transaction (every lookup was a write, a row lock held until commit and a WAL flush). When Redis
does not answer, the hit is counted in the database as above and a warning is logged; Redis is tried
again after a few seconds. Taking a hit back (``forgive``) waits for the request's commit either way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from portal.errors import RateLimited
from portal.models import RateLimitHit

log = logging.getLogger("portal.ratelimit")

_PENDING = "portal.ratelimit.pending"  # session.info key: hits to write again after a rollback
_FORGIVEN = "portal.ratelimit.forgiven"  # session.info key: Redis hits to take back after the commit
_SCOPE_MAX = 40


def storage_key(key: str) -> str:
    """``"login:acct:0912345678"`` → ``"login:<sha256 of the rest>"`` (bounded, not readable)."""
    scope, _, rest = key.partition(":")
    scope = "".join(ch for ch in scope if ch.isascii() and (ch.isalnum() or ch in "-_"))[:_SCOPE_MAX]
    digest = hashlib.sha256(rest.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{scope or 'key'}:{digest}"


def client_key(secret: str, client: str) -> str:
    """An opaque, stable identifier of one end user (their address), for keys shared with callers
    that act for them — the assistant passes it back so its lookups count against the same budget."""
    return hmac.new(secret.encode(), f"client:{client}".encode(), hashlib.sha256).hexdigest()[:32]


class RedisCounters:
    """Rate-limit counters in Redis: ``{namespace}:{stored key}:{window}``, expiring with the window.

    ``add``/``count`` return None when Redis does not answer (connection refused, a timeout, an error
    reply): the caller then counts in the database, never not at all. A failure is logged and Redis is
    left alone for ``retry_after`` seconds, so an outage costs no timeout per request.
    """

    def __init__(self, url: str, namespace: str, *, timeout: float = 0.25, retry_after: float = 5.0) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self.namespace = namespace
        self.retry_after = retry_after
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _key(self, stored: str, window: int) -> str:
        return f"{self.namespace}:{stored}:{window}"

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.retry_after
        log.warning(
            "rate-limit counters: Redis did not answer (%s: %s); counting in the database, "
            "trying Redis again in %g s",
            type(exc).__name__,
            exc,
            self.retry_after,
        )

    def add(self, stored: str, window: int, ttl: int) -> int | None:
        if not self._up():
            return None
        key = self._key(stored, window)
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, max(ttl, 1))
            count, _ = pipe.execute()
            return int(count)
        except self._errors as exc:
            self._failed(exc)
            return None

    def count(self, stored: str, window: int) -> int | None:
        if not self._up():
            return None
        try:
            value = self._redis.get(self._key(stored, window))
        except self._errors as exc:
            self._failed(exc)
            return None
        return int(value or 0)

    _TAKE_BACK = (
        "local v = tonumber(redis.call('GET', KEYS[1]) or '0') if v > 0 then redis.call('DECR', KEYS[1]) end"
    )

    def take_back(self, stored: str, window: int) -> None:
        if not self._up():
            return  # the hit stays counted: the safe side
        try:
            self._redis.eval(self._TAKE_BACK, 1, self._key(stored, window))
        except self._errors as exc:
            self._failed(exc)


_COUNTERS_KEY = "ratelimit_counters"


def use_redis(sessions: sessionmaker[Session], counters: RedisCounters | None) -> None:
    """Count the hits of the sessions this factory makes in Redis (create_app, when
    PORTAL_REDIS_URL is set): the factory hands the counters to each session it opens."""
    sessions.configure(info={_COUNTERS_KEY: counters} if counters is not None else {})


def redis_namespace(secret_key: str, database_url: str) -> str:
    """One deployment's keys (its secret and its database), apart from any other's in the same Redis."""
    digest = hashlib.sha256(f"{secret_key}|{database_url}".encode()).hexdigest()[:16]
    return f"portal:ratelimit:{digest}"


def _counters_for(session: Session) -> RedisCounters | None:
    counters = session.info.get(_COUNTERS_KEY)
    return counters if isinstance(counters, RedisCounters) else None


class RateLimiter:
    def __init__(self, session: Session, *, clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.clock = clock
        self.counters = _counters_for(session)

    def _window(self, seconds: int, now: float | None = None) -> int:
        return int((now if now is not None else self.clock()) // seconds)

    def hit(self, key: str, *, window_seconds: int, now: float | None = None) -> int:
        """Count one hit and return the count in the current window; it stays counted even if the
        request then fails."""
        at = now if now is not None else self.clock()
        stored, window = storage_key(key), self._window(window_seconds, at)
        hit = (stored, window, (window + 1) * window_seconds)
        if self.counters is not None:
            count = self.counters.add(stored, window, ttl=int(hit[2] - at) + 1)
            if count is not None:
                return count
        count = _add(self.session, *hit)
        self.session.info.setdefault(_PENDING, []).append(hit)
        return count

    def forgive(self, key: str, *, window_seconds: int, now: float | None = None) -> None:
        """Take back one hit of this window (an attempt counted up front turned out fine). Only
        committed with the request: if the request fails after all, the hit stays."""
        stored, window = storage_key(key), self._window(window_seconds, now)
        if self.counters is not None:  # after the commit (forget_pending); a rollback drops it
            self.session.info.setdefault(_FORGIVEN, []).append((self.counters, stored, window))
        row = self.session.get(RateLimitHit, (stored, window))
        if row is not None and row.count > 0:
            row.count -= 1
        pending: list[tuple[str, int, int]] = self.session.info.get(_PENDING, [])
        hit = (stored, window, (window + 1) * window_seconds)
        if hit in pending:
            pending.remove(hit)

    def count(self, key: str, *, window_seconds: int, now: float | None = None) -> int:
        window = self._window(window_seconds, now)
        if self.counters is not None:
            counted = self.counters.count(storage_key(key), window)
            if counted is not None:
                return counted
        value = self.session.scalar(
            select(RateLimitHit.count).where(
                RateLimitHit.key == storage_key(key), RateLimitHit.window_start == window
            )
        )
        return int(value or 0)

    def prune(self, *, now: float | None = None) -> int:
        """Delete the windows that have ended; returns how many rows went."""
        at = now if now is not None else self.clock()
        result = self.session.execute(delete(RateLimitHit).where(RateLimitHit.expires_at <= at))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _add(session: Session, stored: str, window: int, expires_at: int) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(RateLimitHit)
        .values(key=stored, window_start=window, count=1, expires_at=expires_at)
        .on_conflict_do_update(
            index_elements=[RateLimitHit.key, RateLimitHit.window_start],
            set_={"count": RateLimitHit.count + 1},
        )
        .returning(RateLimitHit.count)
    )
    return int(session.execute(stmt).scalar_one())


def forget_pending(session: Session) -> None:
    """The request committed: its hits are stored, and the hits it forgave are taken back."""
    session.info.pop(_PENDING, None)
    for counters, stored, window in session.info.pop(_FORGIVEN, None) or []:
        counters.take_back(stored, window)


def persist_after_rollback(session: Session) -> None:
    """The request rolled back: write its hits again, in a transaction of their own (hits counted
    in Redis are stored already); what it forgave stays counted."""
    session.info.pop(_FORGIVEN, None)
    pending: list[tuple[str, int, int]] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    try:
        for hit in pending:
            _add(session, *hit)
        session.commit()
    except Exception:  # the database itself is failing: nothing more can be kept
        log.warning("rate-limit hits of a failed request could not be stored (%d)", len(pending))
        session.rollback()


class LoginGuard:
    """The limits on one sign-in attempt, counted before the password is checked.

    ``login_max_failures`` failures for one account from one address lock that pair for the
    window; an address failing across accounts stops at ``login_max_failures_per_ip``; an account
    tried from many addresses stops at ``login_max_failures_per_account`` for everyone. So nobody
    locks a person out with a handful of wrong passwords (a targeted lock-out costs the attacker
    that many failures from several addresses, and lasts one window), while guessing stays bounded
    per account. Every attempt is a failure until ``succeeded()`` forgives it.
    """

    def __init__(self, limiter: RateLimiter, settings: Any, scope: str, account: str, client_ip: str) -> None:
        self.limiter = limiter
        self.window = int(settings.login_window_seconds)
        self.now = limiter.clock()
        self.limits: list[tuple[str, int]] = [(f"{scope}:ip:{client_ip}", settings.login_max_failures_per_ip)]
        if account:
            self.limits += [
                (f"{scope}:account-ip:{account}|{client_ip}", settings.login_max_failures),
                (f"{scope}:account:{account}", settings.login_max_failures_per_account),
            ]

    def check(self) -> None:
        for key, limit in self.limits:
            if self.limiter.count(key, window_seconds=self.window, now=self.now) >= limit:
                minutes = max(1, -(-self.window // 60))
                raise RateLimited(f"Bạn đã đăng nhập sai quá nhiều lần; vui lòng thử lại sau {minutes} phút.")

    def count_attempt(self) -> None:
        for key, _ in self.limits:
            self.limiter.hit(key, window_seconds=self.window, now=self.now)

    def succeeded(self) -> None:
        for key, _ in self.limits:
            self.limiter.forgive(key, window_seconds=self.window, now=self.now)
