"""The cached tracking page (portal.web.render.CasePages) follows the case's fee: a payment made
from the tracking page shows on the next lookup (paid, the receipt offered, no pay button)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.builders import APPLICANT, csrf
from tests.payments_app.builders import pay_on_sandbox
from tests.payments_app.test_procedure_fee import submit_diploma_copy


def test_a_payment_shows_on_the_next_lookup(app: FastAPI, client: TestClient) -> None:
    _, receipt_url = submit_diploma_copy(client)
    found = re.search(r'class="case-code">([^<]+)<', client.get(receipt_url).text)
    assert found
    form = {"case_code": found.group(1), "phone": APPLICANT["applicant_phone"]}
    with TestClient(app, base_url="http://testserver") as other:
        token = csrf(other, "/tra-cuu")
        for _ in range(2):  # the second lookup is served from the cache
            due = other.post("/tra-cuu", data={**form, "csrf_token": token}).text
            assert 'action="/le-phi/thanh-toan"' in due and 'action="/le-phi/bien-lai"' not in due
        started = other.post("/le-phi/thanh-toan", data={**form, "csrf_token": token}, follow_redirects=False)
        assert started.status_code == 303
        pay_on_sandbox(other, started.headers["location"], "00")
        paid = other.post("/tra-cuu", data={**form, "csrf_token": token}).text
        assert 'action="/le-phi/bien-lai"' in paid and 'action="/le-phi/thanh-toan"' not in paid
