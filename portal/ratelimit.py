"""Fixed-window rate limiting stored in the database (shared by all workers)."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.models import RateLimitHit


class RateLimiter:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _window(self, seconds: int, now: float | None = None) -> int:
        return int((now if now is not None else time.time()) // seconds)

    def hit(self, key: str, *, window_seconds: int, now: float | None = None) -> int:
        """Count one hit and return the count in the current window."""
        window = self._window(window_seconds, now)
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(RateLimitHit)
            .values(key=key, window_start=window, count=1)
            .on_conflict_do_update(
                index_elements=[RateLimitHit.key, RateLimitHit.window_start],
                set_={"count": RateLimitHit.count + 1},
            )
            .returning(RateLimitHit.count)
        )
        return int(self.session.execute(stmt).scalar_one())

    def count(self, key: str, *, window_seconds: int, now: float | None = None) -> int:
        window = self._window(window_seconds, now)
        value = self.session.scalar(
            select(RateLimitHit.count).where(RateLimitHit.key == key, RateLimitHit.window_start == window)
        )
        return int(value or 0)

    def reset(self, key: str) -> None:
        self.session.execute(delete(RateLimitHit).where(RateLimitHit.key == key))

    def prune(self, older_than_window: int) -> None:
        self.session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < older_than_window))
