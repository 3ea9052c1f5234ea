"""Access logs without personal data or bearer secrets.

Query strings carry phones (``?phone=``), draft resume tokens (``?t=``), receipt/student link
tokens (``?k=``) and rating tokens; an access log is kept far longer, and read by more people, than
any of them may be. Every access line is therefore written with the path only. No route carries a
secret in the path itself (ids are random UUIDs, not credentials), so paths are kept as they are.

uvicorn and gunicorn's ``UvicornWorker`` both log requests on the ``uvicorn.access`` logger with
the arguments ``(client, method, path?query, http version, status)``; :class:`DropQueryString`
rewrites the path argument before any handler formats it. ``portal serve`` passes
:func:`uvicorn_log_config`; gunicorn loads ``portal/gunicorn_conf.py``; importing
``portal.asgi`` installs the filter too, so a server started another way is covered as well.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

ACCESS_LOGGER = "uvicorn.access"


def strip_query(target: str) -> str:
    """``/path?a=b#c`` → ``/path`` (a request target, as logged)."""
    for mark in ("?", "#"):
        target = target.split(mark, 1)[0]
    return target


class DropQueryString(logging.Filter):
    """Keeps the request line's path and drops its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], strip_query(args[2]), *args[3:])
        return True


def install(logger_name: str = ACCESS_LOGGER) -> None:
    """Attach the filter to the access logger (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, DropQueryString) for f in logger.filters):
        logger.addFilter(DropQueryString())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging, with the query strings dropped from the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query_string"] = {"()": DropQueryString}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["drop_query_string"]
    return config
