"""ASGI entry point for uvicorn/gunicorn: `portal.asgi:app`."""

from portal.app import create_app

app = create_app()
