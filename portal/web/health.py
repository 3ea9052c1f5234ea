"""Liveness and database status for operators and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health: application and database status")
def healthz(request: Request) -> JSONResponse:
    db = request.app.state.db
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any failure means the database is unusable
        return JSONResponse(
            {"status": "degraded", "database": "unavailable", "detail": type(exc).__name__}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": database, "dialect": db.engine.dialect.name})
