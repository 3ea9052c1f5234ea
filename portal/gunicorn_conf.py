"""gunicorn settings for the portal: ``gunicorn -c python:portal.gunicorn_conf portal.asgi:app``.

Used by ``bench/run.py``; a production deployment starts gunicorn the same way (add
``--access-logfile -`` for an access log). Access lines never contain query strings
(see :mod:`portal.accesslog`).
"""

from __future__ import annotations

from typing import Any

worker_class = "uvicorn.workers.UvicornWorker"


def post_worker_init(worker: Any) -> None:
    # UvicornWorker has just handed gunicorn's access handlers to the "uvicorn.access" logger
    from portal import accesslog

    accesslog.install()
