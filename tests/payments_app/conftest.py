"""Payment fixtures: a school with invoices, an accountant's client, PDF text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.backoffice.staff_builders import PASSWORD, create_staff, login
from tests.payments_app.builders import school_world
from tests.pdftext import PdfText
from tests.pdftext import pdf_text as read_pdf


@pytest.fixture
def world(app: FastAPI) -> dict[str, Any]:
    """A school (agency H29.41.04), 2 classes, 4 students, December invoices (1.550.000 đ each)."""
    return school_world(app)


@pytest.fixture
def accountant(app: FastAPI) -> Iterator[TestClient]:
    """A client logged in as the school accountant (role ke_toan at H29.41.04)."""
    with app.state.db.sessions() as session:
        create_staff(session, "ketoan", "Trương Văn Phúc", ["ke_toan"])
        session.commit()
    with TestClient(app, base_url="http://testserver") as c:
        login(c, "ketoan", PASSWORD)
        yield c


def pdf_text(content: bytes) -> PdfText:
    return read_pdf(content)
