"""The framework floors: what FastAPI + Jinja2 (+ PostgreSQL) cost before any portal code runs.

Served by the benchmark with exactly the portal's server settings. Every endpoint is a sync ``def``
like the portal's routes, so it pays the same thread-pool hop.

- ``GET /``: one small Jinja2 template (the floor for the portal's read pages).
- The submission floor, the same two requests as the portal's submission bench on the same
  PostgreSQL database (``FLOOR_DATABASE_URL``): ``POST /thu-tuc/{slug}/nop-ho-so`` parses the
  multipart form, writes each file to ``FLOOR_UPLOAD_DIR`` and INSERTs one row, answering 303 to
  ``/ho-so/{id}/xem-lai``; ``POST /ho-so/{id}/nop`` UPDATEs that row and answers 303 to the receipt.
  No validation, no session, no CSRF check: the least any implementation of the two steps does.
  ``GET /thu-tuc/{slug}/nop-ho-so`` only hands the load generator a (fixed) ``csrf_token`` field.
"""

from __future__ import annotations

import json
import os
import uuid
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape
from sqlalchemy import Engine, create_engine, text
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

TEMPLATE = """<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
<ul>
{% for item in items %}  <li><a href="/thu-tuc/{{ item.slug }}">{{ item.name }}</a></li>
{% endfor %}</ul>
</body>
</html>
"""

ITEMS = [{"slug": f"thu-tuc-{i}", "name": f"Thủ tục hành chính số {i}"} for i in range(10)]

# the submission floor's table, created by bench/run.py before the servers start
TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_floor_submissions ("
    "id uuid PRIMARY KEY, fields jsonb NOT NULL, files jsonb NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT now(), submitted_at timestamptz)"
)

env = Environment(
    loader=DictLoader({"page.html": TEMPLATE}), autoescape=select_autoescape(["html"]), auto_reload=False
)
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
def page() -> HTMLResponse:
    return HTMLResponse(env.get_template("page.html").render(title="Cổng dịch vụ công", items=ITEMS))


# -- the submission floor -------------------------------------------------------------------------


@cache
def _engine() -> Engine:
    """Per worker process, pooled like the portal's (PORTAL_DB_POOL_SIZE, overflow as much again)."""
    pool = int(os.environ.get("FLOOR_DB_POOL_SIZE", "5"))
    return create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=pool, max_overflow=pool)


def _upload_dir() -> Path:
    return Path(os.environ["FLOOR_UPLOAD_DIR"])


@app.get("/thu-tuc/{slug}/nop-ho-so")
def form_page(slug: str) -> HTMLResponse:
    return HTMLResponse('<form><input type="hidden" name="csrf_token" value="floor"></form>')


@app.post("/thu-tuc/{slug}/nop-ho-so")
async def create(request: Request, slug: str) -> Response:
    # like the portal: the body is parsed on the event loop, the files and the database are
    # blocking work for the thread pool
    form = await request.form()
    try:
        return await run_in_threadpool(_create, form)
    finally:
        await form.close()


def _create(form: FormData) -> Response:
    fields: dict[str, str] = {}
    files: list[dict[str, object]] = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            name = f"{uuid.uuid4().hex}.{(value.filename or 'bin').rsplit('.', 1)[-1]}"
            path = _upload_dir() / name
            value.file.seek(0)
            with open(path, "wb") as out:
                size = out.write(value.file.read())
            files.append({"field": key, "key": name, "size": size})
        else:
            fields[key] = value
    app_id = uuid.uuid4()
    with _engine().begin() as conn:
        conn.execute(
            text("INSERT INTO bench_floor_submissions (id, fields, files) VALUES (:id, :fields, :files)"),
            {"id": app_id, "fields": json.dumps(fields), "files": json.dumps(files)},
        )
    return RedirectResponse(f"/ho-so/{app_id}/xem-lai", status_code=303)


@app.post("/ho-so/{app_id}/nop")
def submit(app_id: uuid.UUID) -> Response:
    with _engine().begin() as conn:
        conn.execute(
            text("UPDATE bench_floor_submissions SET submitted_at = now() WHERE id = :id"), {"id": app_id}
        )
    return RedirectResponse(f"/ho-so/{app_id}/bien-nhan", status_code=303)
