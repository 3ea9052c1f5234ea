"""ASGI entry point for uvicorn/gunicorn: `portal.asgi:app`."""

from portal import accesslog
from portal.app import create_app

accesslog.install()  # however the server was started: no query strings in its access log

app = create_app()
