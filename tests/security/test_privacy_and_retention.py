"""Findings #11 (personal data and bearer secrets in logs), #16 (transcript masking and
retention) and #19 (nothing is ever pruned) of the security review (2026-12).

Retention jobs get their clock from the test (``now=``), computed from the rows' own timestamps;
the wall clock is never read here.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from portal.assistant.masking import mask_personal_data
from portal.assistant.models import ChatMessage, Conversation
from portal.config import ROOT, Settings
from portal.models import Application, Attachment, CaseEvent, RateLimitHit
from portal.ratelimit import RateLimiter
from tests.assistant.chat_builders import say
from tests.assistant.conftest import FakeRasa
from tests.builders import start_transfer, submit_transfer

PHONE = "0987654321"
RESUME_SECRET = "HFV9D7znJ0cbWDe8mx5WGfNKB75qWKAQ"
LINK_SECRET = "k9Zq2LinkTokenXy"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_command(kind: str, port: int) -> list[str]:
    if kind == "portal serve":
        return [sys.executable, "-m", "portal.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    # the production-style server of bench/run.py, with its access log switched on
    from bench.run import Server

    server = Server("portal", "portal.asgi:app", port, {}, 1, Path(os.devnull))
    return [*server.command(), "--access-logfile", "-", "--log-level", "info"]


@pytest.fixture
def server_log(
    app: FastAPI, settings: Settings, request: pytest.FixtureRequest
) -> Iterator[tuple[str, Path]]:
    """A real server process on a free loopback port, its stdout+stderr going to a file."""
    port = _free_port()
    log = Path(settings.upload_dir).parent / f"server-{port}.log"
    env = {
        # not under `make test-dates`' libfaketime: gunicorn's arbiter sleeps, which it breaks
        # (see tests/conftest.py); the log format does not depend on the date
        **{k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")},
        "PORTAL_ENVIRONMENT": "test",
        "PORTAL_DATABASE_URL": settings.database_url,
        "PORTAL_SECRET_KEY": settings.secret_key,
        "PORTAL_UPLOAD_DIR": str(settings.upload_dir),
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _server_command(request.param, port),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start: " + log.read_text(errors="replace")[-2000:])
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.mark.parametrize("server_log", ["portal serve", "gunicorn"], indirect=True)
def test_access_log_keeps_no_query_strings(server_log: tuple[str, Path]) -> None:
    """#11: the access log of `portal serve` and of the gunicorn set-up kept `?phone=`, the resume
    token `?t=` and link tokens `?k=`; it must keep the path and status only."""
    url, log = server_log
    with httpx.Client(base_url=url, timeout=30) as web:
        web.get("/api/v1/applications/H29.41.04-261201-0001", params={"phone": PHONE})
        web.get(f"/ho-so/00000000-0000-4000-8000-000000000000/sua?t={RESUME_SECRET}")
        web.get(f"/thanh-toan/TX1/bien-lai.pdf?k={LINK_SECRET}")
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:  # the log is written by another process
        text = log.read_text(errors="replace")
        if "/thanh-toan/TX1/bien-lai.pdf" in text:
            break
        time.sleep(0.1)
    assert "/api/v1/applications/H29.41.04-261201-0001" in text, text[-2000:]  # the access log is on
    assert "/thanh-toan/TX1/bien-lai.pdf" in text
    assert PHONE not in text and RESUME_SECRET not in text and LINK_SECRET not in text
    assert "?" not in "".join(line for line in text.splitlines() if '"GET ' in line)


def test_resume_token_is_exchanged_for_the_session_and_a_clean_url(web: httpx.Client) -> None:
    """#11: `/ho-so/{id}/sua?t=…` stayed in the address bar, history and Referer. The first visit
    moves the token into the session and redirects to the same page without it."""
    creator = httpx.Client(base_url=str(web.base_url), follow_redirects=False, timeout=60)
    response = start_transfer(creator, intent="save")  # type: ignore[arg-type]
    assert response.status_code == 303
    assert "?t=" not in response.headers["location"]  # the creator's own browser needs no token
    page = creator.get(response.headers["location"]).text
    resume = re.search(r'class="resume-link" href="([^"]+)"', page)
    assert resume and "?t=" in resume.group(1)
    app_id = resume.group(1).split("/")[2]

    first = web.get(resume.group(1))  # another browser, with the link from the e-mail/notes
    assert first.status_code == 303
    assert first.headers["location"] == f"/ho-so/{app_id}/sua"
    clean = web.get(first.headers["location"])
    assert clean.status_code == 200 and "Trần Thị Mai" in clean.text
    assert web.get(f"/ho-so/{app_id}/sua?t=forged").status_code == 404
    creator.close()


def test_rating_link_token_is_exchanged_for_the_session_and_a_clean_url(
    app: FastAPI, web: httpx.Client, settings: Settings
) -> None:
    """#11: the e-mailed rating link `/danh-gia/{id}?t=…` stayed in the address bar (and Referer)."""
    from portal.quality.tokens import rating_path

    case_id, _ = submit_transfer(TestClient(app, base_url="http://testserver"))
    first = web.get(rating_path(settings.secret_key, case_id))
    assert first.status_code == 303 and first.headers["location"] == f"/danh-gia/{case_id}"
    page = web.get(first.headers["location"])
    assert page.status_code == 200  # the session now holds the token
    with httpx.Client(base_url=str(web.base_url), timeout=60) as stranger:
        assert stranger.get(f"/danh-gia/{case_id}").status_code == 404
        assert stranger.get(f"/danh-gia/{case_id}?t=forged").status_code == 404


@pytest.mark.parametrize(
    "text,hidden",
    [
        ("CCCD 079-185-012-345", "185-012"),
        ("CCCD 0791 8501 2345", "8501"),
        ("số 0 9 1 2 3 4 5 6 7 8", "3 4 5 6"),
        ("gọi (091) 234-5678", "234-56"),
        ("gọi +84 912 345 678", "912 345"),
        ("gọi 091-234-5678", "234-56"),
        ("link /hoc-phi/hs/7976010002?k=k9Zq2LinkTokenXy", LINK_SECRET),
    ],
)
def test_transcript_masking_normalises_separators(text: str, hidden: str) -> None:
    """#16: separators between digits defeated the masking (and link tokens were kept)."""
    masked = mask_personal_data(text)
    assert hidden not in masked, masked
    assert "*" in masked


def test_transcripts_are_stored_masked_and_deleted_after_retention(
    app: FastAPI, client: TestClient, rasa: FakeRasa, settings: Settings
) -> None:
    """#16/#19: the citizen's message and the bot's answer were stored as typed, forever.
    Stored masked (the live answer is still shown as sent); conversations idle longer than
    `assistant_transcript_retention_days` are deleted by a worker job."""
    from portal.retention.jobs import delete_old_transcripts

    rasa.say(
        {"recipient_id": "x", "text": f"Hồ sơ của số {PHONE}: https://x.vn/hoc-phi/hs/1?k={LINK_SECRET}"}
    )
    live = say(client, "số của tôi là 0912 345 678, CCCD 079-185-012-345")
    assert LINK_SECRET in live.text  # the citizen sees the answer as sent, once
    with app.state.db.sessions() as session:
        stored = " ".join(m.text for m in session.scalars(select(ChatMessage)))
        conversation = session.scalars(select(Conversation)).one()
        last = conversation.last_message_at
    assert "345 678" not in stored and "185-012" not in stored
    assert PHONE not in stored and LINK_SECRET not in stored
    assert "số của tôi là" in stored

    days = settings.assistant_transcript_retention_days
    with app.state.db.sessions() as session:
        assert delete_old_transcripts(session, settings, now=last + timedelta(days=days - 1)) == 0
        session.commit()
        assert delete_old_transcripts(session, settings, now=last + timedelta(days=days, minutes=1)) == 1
        session.commit()
    with app.state.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ChatMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0


def test_rate_limit_rows_are_pruned_once_their_window_ended(app: FastAPI, settings: Settings) -> None:
    """#19: `rate_limit_hits` kept one row per key per window forever (`prune` was never called)."""
    from portal.ratelimit import storage_key
    from portal.retention.jobs import prune_rate_limits

    start = 1_800_000_000.0  # an arbitrary instant, passed explicitly
    with app.state.db.sessions() as session:
        limiter = RateLimiter(session)
        limiter.hit("track:10.0.0.1", window_seconds=settings.tracking_window_seconds, now=start)
        limiter.hit("login:ip:10.0.0.1", window_seconds=settings.login_window_seconds, now=start)
        limiter.hit("callback:10.0.0.1", window_seconds=3600, now=start)
        session.commit()

        # a minute later every window is still running: nothing may go
        assert prune_rate_limits(session, settings, now=start + 60) == 0
        # the short windows ended, the hour-long one did not
        pruned = prune_rate_limits(
            session,
            settings,
            now=start + max(settings.tracking_window_seconds, settings.login_window_seconds) + 1,
        )
        session.commit()
        keys = set(session.scalars(select(RateLimitHit.key)))
        assert keys == {storage_key("callback:10.0.0.1")} and pruned == 2
        assert limiter.count("callback:10.0.0.1", window_seconds=3600, now=start + 1200) == 1
        assert prune_rate_limits(session, settings, now=start + 2 * 3600) == 1
        session.commit()
        assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 0


def test_expired_drafts_lose_personal_data_and_files_but_cases_stay(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    """#19: anonymous drafts and their uploaded files were never deleted. After
    `draft_retention_days` a draft is anonymised (personal data, files, resume token gone);
    a submitted case, its files and its history are never touched. The page says how long."""
    from portal.retention.jobs import expire_drafts

    form = client.get("/thu-tuc/chuyen-truong-thcs/nop-ho-so").text
    assert f"{settings.draft_retention_days} ngày" in form  # the notice before anything is typed
    response = start_transfer(client, intent="save")
    draft_id = response.headers["location"].split("/")[2]
    page = client.get(response.headers["location"]).text
    assert f"{settings.draft_retention_days} ngày" in page
    case_id, _ = submit_transfer(TestClient(app, base_url="http://testserver"))

    with app.state.db.sessions() as session:
        files = {
            a.application_id: Path(settings.upload_dir) / a.storage_key
            for a in session.scalars(select(Attachment))
        }
        draft = session.get(Application, draft_id)
        assert draft is not None
        last_saved: datetime = max(
            draft.updated_at,
            *(
                a.created_at
                for a in session.scalars(select(Attachment).where(Attachment.application_id == draft_id))
            ),
        )
        case_events = session.scalar(select(func.count()).where(CaseEvent.application_id == case_id))
        case = session.get(Application, case_id)
        assert case is not None
        # the submitted case is as old as the draft and older: age alone must not expire it
        session.execute(
            update(Application)
            .where(Application.id == case_id)
            .values(updated_at=last_saved - timedelta(days=400))
        )
        session.commit()
    assert files[draft_id].exists() and files[case_id].exists()

    days = settings.draft_retention_days
    with app.state.db.sessions() as session:
        assert expire_drafts(session, settings, now=last_saved + timedelta(days=days - 1)) == 0
        session.commit()
        assert expire_drafts(session, settings, now=last_saved + timedelta(days=days, minutes=1)) == 1
        session.commit()
    with app.state.db.sessions() as session:
        draft = session.get(Application, draft_id)
        assert draft is not None and draft.access_token_hash is None
        assert (draft.applicant_name, draft.applicant_cccd, draft.applicant_phone, draft.data) == (
            "",
            "",
            "",
            {},
        )
        assert session.scalar(select(func.count()).where(Attachment.application_id == draft_id)) == 0
        case = session.get(Application, case_id)
        assert case is not None and case.applicant_name == "Trần Thị Mai"
        assert session.scalar(select(func.count()).where(Attachment.application_id == case_id)) == 3
        assert session.scalar(select(func.count()).where(CaseEvent.application_id == case_id)) == case_events
    assert not files[draft_id].exists() and files[case_id].exists()
    assert client.get(f"/ho-so/{draft_id}/sua").status_code == 404  # not even from the same browser


def test_retention_jobs_are_registered_with_the_worker() -> None:
    """#19: the worker had no pruning job at all."""
    from portal.composition import MODULES

    names = {job.name for module in MODULES for job in module.jobs}
    assert {"retention.rate_limits", "retention.drafts", "retention.transcripts"} <= names
