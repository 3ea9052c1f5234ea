"""``python -m portal.quality rebuild``: recompute every case's facts and the monthly roll-ups.

For repairs (a refresh that failed and was logged) and after bulk loads that bypassed the ORM.
Cases are read in pages of 500 and committed page by page; no rating invitation is sent.
"""

from __future__ import annotations

import argparse
import sys

from portal.composition import build_services
from portal.config import Settings, get_settings
from portal.db import Database
from portal.quality.repository import QualityRepository
from portal.quality.tracking import FactsRefresher, QualityContext


def rebuild(settings: Settings, *, facts: bool = True) -> tuple[int, int]:
    db = Database(settings.database_url, pool_size=2)  # no statement timeout: a batch job
    context = QualityContext.of(build_services(settings, db=db))
    cases = 0
    try:
        after = ""
        while facts:
            with db.sessions() as session:
                ids = QualityRepository(session).submitted_case_ids(after=after, limit=500)
                if not ids:
                    break
                refresher = FactsRefresher(session, context)
                for application_id in ids:
                    refresher.refresh(application_id, invite=False)
                session.commit()
            cases += len(ids)
            after = ids[-1]
        with db.sessions() as session:
            months = QualityRepository(session).rebuild_months()
            session.commit()
    finally:
        db.dispose()
    return cases, months


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.quality", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["rebuild"])
    parser.add_argument("--months-only", action="store_true", help="only add the facts up again")
    args = parser.parse_args(argv)
    cases, months = rebuild(get_settings(), facts=not args.months_only)
    print(f"quality: {cases} case(s) recomputed, {months} monthly row(s) rebuilt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
