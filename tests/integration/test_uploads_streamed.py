"""Attachments are hashed while they are written (one pass over the file) and the application form
is validated once per request; what the citizen sees does not change."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.applications import forms
from portal.applications.storage import FileStore, TooLarge
from portal.demo import tiny_pdf
from portal.models import Attachment
from tests.builders import start_transfer


def test_a_streamed_file_is_stored_with_its_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    content = b"%PDF-1.4\n" + bytes(range(256)) * 1000  # several chunks
    stored = store.save_stream(io.BytesIO(content), "pdf")
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert store.read(stored.key) == content
    assert store.save(content, "pdf").sha256 == stored.sha256  # bytes take the same path


def test_a_file_longer_than_its_limit_leaves_nothing_behind(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(TooLarge):
        store.save_stream(io.BytesIO(b"x" * 200_000), "pdf", limit=100_000)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_uploaded_files_keep_their_size_and_digest(client: TestClient, app: FastAPI) -> None:
    response = start_transfer(client, intent="save")
    assert response.status_code == 303
    with app.state.db.sessions() as session:
        stored = {a.filename: a for a in session.scalars(select(Attachment))}
    sent = {"don.pdf": tiny_pdf("don"), "hoc-ba.pdf": tiny_pdf("hoc ba")}
    for name, content in sent.items():
        assert stored[name].size == len(content)
        assert stored[name].sha256 == hashlib.sha256(content).hexdigest()
        assert app.state.files.read(stored[name].storage_key) == content


def test_an_empty_file_is_refused_at_its_field(client: TestClient) -> None:
    from tests.builders import APPLICANT, TRANSFER, TRANSFER_FIELDS, csrf

    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    response = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "save"},
        files=[("doc_hoc_ba", ("trong.pdf", b"", "application/pdf"))],
    )
    assert response.status_code == 422
    assert "Tệp «trong.pdf» rỗng; vui lòng chọn lại tệp." in response.text
    assert 'value="Trần Thị Mai"' in response.text


def test_the_review_step_validates_the_form_once(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    validate = forms.validate

    def counting(*args: Any, **kwargs: Any) -> forms.Validated:
        calls.append(kwargs.get("draft", False))
        return validate(*args, **kwargs)

    monkeypatch.setattr(forms, "validate", counting)
    response = start_transfer(client, intent="review")
    assert response.status_code == 303 and "/xem-lai" in response.headers["location"]
    assert calls == [False]
    # and a missing document is still reported at its field, with the fields' errors
    calls.clear()
    from tests.builders import APPLICANT, TRANSFER, TRANSFER_FIELDS, csrf

    token = csrf(client, f"/thu-tuc/{TRANSFER}/nop-ho-so")
    response = client.post(
        f"/thu-tuc/{TRANSFER}/nop-ho-so",
        data={**APPLICANT, **TRANSFER_FIELDS, "csrf_token": token, "intent": "review"},
    )
    assert response.status_code == 422 and "Vui lòng đính kèm" in response.text
    assert calls == [False]
