"""The payment tables as migration 0004_payments builds them: the ledger and history refuse changes."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal import all_models  # noqa: F401
from portal.db import Base

AT = datetime(2026, 12, 1, 2, 0)  # a stored UTC timestamp (naive, as the raw INSERTs write it)


def test_models_match_the_migrations(app: FastAPI) -> None:
    with app.state.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "fee_" in str(d) or "payment_" in str(d)]
    assert ours == []


@pytest.mark.parametrize("table", ["payment_ledger", "payment_events"])
def test_ledger_and_history_are_append_only(app: FastAPI, table: str) -> None:
    values = {
        "payment_ledger": "(at, entry_key, kind, channel, amount, actor, note) "
        "VALUES (:at, 'k1', 'payment', 'vnpay', 5000, 'test', '')",
        "payment_events": "(at, kind, actor, detail) VALUES (:at, 'started', 'test', '{}')",
    }[table]
    with app.state.db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} {values}"), {"at": AT})
    for statement in (f"UPDATE {table} SET actor = 'x'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(DBAPIError, match="append-only"), app.state.db.engine.begin() as conn:
            conn.execute(text(statement))
    with app.state.db.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1  # noqa: S608


def test_amounts_are_integers_and_positive(app: FastAPI) -> None:
    with (
        pytest.raises(DBAPIError, match="ck_payment_attempts_amount_positive"),
        app.state.db.engine.begin() as conn,
    ):
        conn.execute(
            text(
                "INSERT INTO payment_attempts (txn_ref, provider, purpose, amount, state, order_info, "
                "payer_name, payer_phone, client_ip, created_at, updated_at, raw, check_count) VALUES "
                "('X1', 'vnpay', 'school_fee', 0, 'created', '', '', '', '', :t, :t, '{}', 0)"
            ),
            {"t": AT},
        )
