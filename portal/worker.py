"""Background worker: the periodic jobs the modules declare (``portal/composition.py``).

Each job runs in its own thread, so one that hangs (an SMTP server that black-holes connections,
a slow VNPay API) does not hold up the others (payment reconciliation, deadline alerts). A job
still running when it is due again is not started a second time (no overlap); one running past its
time budget is reported in the log every budget period. Python cannot stop a thread, so the budget
is a warning: each job bounds its own I/O (SMTP and HTTP timeouts, the database statement timeout).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from portal.composition import MODULES, build_services
from portal.config import get_settings
from portal.services import Services

log = logging.getLogger("portal.worker")

DEFAULT_BUDGET_SECONDS = 300.0


class Scheduler:
    def __init__(
        self, jobs: list[tuple[str, float, Callable[[], None]]], *, budget: float = DEFAULT_BUDGET_SECONDS
    ):
        self.jobs = jobs
        self.budget = budget
        self.last_start: dict[str, float] = {}
        self.running: dict[str, threading.Thread] = {}
        self.warned: dict[str, float] = {}

    def tick(self) -> None:
        """Start every job that is due and not still running; report the ones over budget."""
        now = time.monotonic()
        for name, interval, job in self.jobs:
            thread = self.running.get(name)
            if thread is not None and thread.is_alive():
                started = self.last_start[name]
                if now - started > self.budget and now - self.warned.get(name, started) > self.budget:
                    log.warning(
                        "job %s still running after %.0f s (budget %.0f s)", name, now - started, self.budget
                    )
                    self.warned[name] = now
                continue
            if now - self.last_start.get(name, -1e9) >= interval:
                self.last_start[name] = now
                self.warned.pop(name, None)
                thread = threading.Thread(target=_run, args=(name, job), name=f"job-{name}", daemon=True)
                self.running[name] = thread
                thread.start()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self.running.values()):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


def _run(name: str, job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:
        log.exception("job %s failed", name)


def jobs(services: Services) -> list[tuple[str, float, Callable[[], None]]]:
    """Every module's jobs, bound to this process's services."""
    return [
        (job.name, job.every, functools.partial(job.run, services))
        for module in MODULES
        for job in module.jobs
    ]


def main(*, once: bool = False) -> int:
    logging.basicConfig(level=logging.INFO)
    services = build_services(get_settings(), pool_size=2)
    scheduler = Scheduler(jobs(services))
    while True:
        scheduler.tick()
        if once:
            scheduler.join(scheduler.budget)
            return 0
        time.sleep(1)
