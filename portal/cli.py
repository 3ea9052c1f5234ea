"""`portal` command: definitions check, migrations, demo data, server, worker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portal.config import ROOT, get_settings


def _alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    if url:
        cfg.attributes["database_url"] = url
    return cfg


def migrate(url: str | None = None) -> None:
    from alembic import command

    target = url or get_settings().database_url
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(_alembic_config(target), "heads")


def check_definitions(directory: Path | None = None) -> int:
    from workflows.definitions import DefinitionError, load_registry

    try:
        registry = load_registry(directory or get_settings().definitions_dir)
    except DefinitionError as exc:
        print(f"{len(exc.problems)} problem(s) in the procedure definitions:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    versions = sum(len(registry.versions(c)) for c in registry.codes())
    print(f"OK: {len(registry.codes())} procedures, {versions} versions, {len(registry.agencies)} agencies")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal", description="Education e-services portal")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("definitions", help="procedure definitions")
    d.add_argument("action", choices=["check"])
    d.add_argument("--dir", type=Path, default=None)
    db = sub.add_parser("db", help="database")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("seed-demo", help="load demo data (idempotent)")
    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--reload", action="store_true")
    serve.add_argument("--workers", type=int, default=1)
    sub.add_parser("worker", help="run background jobs (outbox, reminders, reconciliation)")
    args = parser.parse_args(argv)

    if args.command == "definitions":
        return check_definitions(args.dir)
    if args.command == "db":
        migrate()
        print("database is at the latest revision")
        return 0
    if args.command == "seed-demo":
        from portal.demo import seed_demo

        print(seed_demo())
        return 0
    if args.command == "serve":
        import uvicorn

        from portal.accesslog import uvicorn_log_config

        settings = get_settings()
        host = args.host or settings.host
        try:
            settings.check_servable(host)
        except RuntimeError as exc:
            print(f"portal serve: {exc}", file=sys.stderr)
            return 2
        uvicorn.run(
            "portal.asgi:app",
            host=host,
            port=args.port or settings.port,
            reload=args.reload,
            workers=args.workers,
            proxy_headers=True,
            log_config=uvicorn_log_config(),  # access lines without query strings (tokens, phones)
        )
        return 0
    if args.command == "worker":
        from portal import worker

        return worker.main()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
