"""The framework floor: a bare FastAPI app with one endpoint rendering a small Jinja2 template.

Served by the benchmark with exactly the portal's server settings, it shows what FastAPI +
Jinja2 + the ASGI server cost on this machine before any portal code runs. The endpoint is a
sync ``def`` like the portal's routes, so it pays the same thread-pool hop.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import DictLoader, Environment, select_autoescape

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

env = Environment(
    loader=DictLoader({"page.html": TEMPLATE}), autoescape=select_autoescape(["html"]), auto_reload=False
)
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
def page() -> HTMLResponse:
    return HTMLResponse(env.get_template("page.html").render(title="Cổng dịch vụ công", items=ITEMS))
