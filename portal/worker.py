"""Background worker loop. Domains register periodic jobs in JOBS."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("portal.worker")

# (name, interval seconds, function taking no arguments) — filled by domain modules
JOBS: list[tuple[str, float, Callable[[], None]]] = []


def main(*, once: bool = False) -> int:
    logging.basicConfig(level=logging.INFO)
    from portal import extensions  # noqa: F401  (domains register their jobs on import)

    last: dict[str, float] = {}
    while True:
        for name, interval, job in JOBS:
            if time.monotonic() - last.get(name, -1e9) >= interval:
                try:
                    job()
                except Exception:
                    log.exception("job %s failed", name)
                last[name] = time.monotonic()
        if once:
            return 0
        time.sleep(1)
