"""enqueue_email: same transaction as the change, dedupe, rendering in vi/en, tolerant context."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI

from portal.config import ROOT
from portal.notifications import enqueue_email
from portal.notifications.mailsink import MailSink
from portal.notifications.render import CORE_TEMPLATES, PO_FILE, normalise_context, render_email
from tests.notifications.mail_builders import CONTEXT, queue, rows, worker_for


def test_enqueue_in_a_rolled_back_transaction_sends_nothing(app: FastAPI, sink: MailSink) -> None:
    with app.state.db.sessions() as session:
        enqueue_email(
            session,
            settings=app.state.settings,
            to="mai@example.vn",
            template="case_received",
            context=CONTEXT,
        )
        session.rollback()
    assert rows(app) == []
    assert worker_for(app, sink).run_until_idle() == 0
    assert sink.received == []


def test_committed_mail_reaches_the_sink(app: FastAPI, sink: MailSink) -> None:
    with app.state.db.sessions() as session:
        enqueue_email(
            session,
            settings=app.state.settings,
            to="mai@example.vn",
            template="supplement_requested",
            case_id="app-1",
            context={
                **CONTEXT,
                "items": ["Học bạ (bản chính)", "Giấy giới thiệu của trường nơi đi"],
                "comment": "Học bạ thiếu trang 3.",
            },
        )
        assert len(sink.received) == 0  # nothing leaves before commit
        session.commit()
    assert worker_for(app, sink).run_until_idle() == 1
    [caught] = sink.received
    assert caught.rcpt_to == ["mai@example.vn"]
    message = BytesParser(policy=policy.default).parsebytes(caught.data)
    assert message["Subject"] == "Hồ sơ H29.41.04-261128-0001 cần bổ sung, hoàn thiện"
    assert message["X-Portal-Case"] == "app-1"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "Kính gửi Ông/Bà Trần Thị Mai," in body
        assert "Học bạ (bản chính)" in body and "Giấy giới thiệu của trường nơi đi" in body
        assert "http://testserver/tra-cuu?ma=H29.41.04-261128-0001" in body  # relative link made absolute
    [row] = rows(app)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert message["Message-ID"] == row.message_id


def test_same_dedupe_key_is_a_no_op(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        for _ in range(3):
            enqueue_email(
                session,
                settings=app.state.settings,
                to="mai@example.vn",
                template="case_received",
                context=CONTEXT,
                dedupe_key="case_received:app-1",
            )
        session.commit()
    with app.state.db.sessions() as session:  # a later transaction (e.g. a replayed request)
        enqueue_email(
            session,
            settings=app.state.settings,
            to="mai@example.vn",
            template="case_received",
            context=CONTEXT,
            dedupe_key="case_received:app-1",
        )
        enqueue_email(
            session,
            settings=app.state.settings,
            to="mai@example.vn",
            template="result_ready",
            context=CONTEXT,
            dedupe_key="result_ready:app-1",
        )
        enqueue_email(
            session,
            settings=app.state.settings,
            to="mai@example.vn",
            template="result_ready",
            context=CONTEXT,
        )
        session.commit()
    assert [(r.template, r.dedupe_key) for r in rows(app)] == [
        ("case_received", "case_received:app-1"),
        ("result_ready", "result_ready:app-1"),
        ("result_ready", None),
    ]


def test_no_address_queues_nothing_and_unknown_template_fails(app: FastAPI) -> None:
    with app.state.db.sessions() as session:
        enqueue_email(session, settings=app.state.settings, to="", template="case_received", context=CONTEXT)
        with pytest.raises(ValueError, match="unknown e-mail template"):
            enqueue_email(
                session,
                settings=app.state.settings,
                to="mai@example.vn",
                template="no_such_mail",
                context=CONTEXT,
            )
        session.commit()
    assert rows(app) == []


def test_english_recipient(app: FastAPI) -> None:
    queue(app, template="apology", lang="en")
    [row] = rows(app)
    assert row.lang == "en"
    assert row.subject == "Apology and new result date for application H29.41.04-261128-0001"
    assert (
        "Dear Trần Thị Mai," in row.body_text
        and "Previous appointment date: Thursday, 03/12/2026" in row.body_text
    )


@pytest.mark.parametrize("template", CORE_TEMPLATES)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_template_renders_with_an_empty_or_full_context(template: str, lang: str) -> None:
    full = {
        **CONTEXT,
        "items": ["A", {"name": "B", "note": "thiếu dấu"}],
        "reason": "Không thuộc thẩm quyền",
        "comment": "<b>ghi chú</b>",
        "new_date": "2026-12-10",
        "status": "Đang thẩm định",
        "link": "/ho-so/1/ket-qua.pdf",
    }
    for context in ({}, full):
        rendered = render_email(
            template, normalise_context(context, lang=lang, base_url="http://x"), lang=lang
        )
        assert rendered.subject and rendered.text.strip() and "<html" in rendered.html
        assert "None" not in rendered.text and "()" not in rendered.text
        if context:
            assert "H29.41.04-261128-0001" in rendered.subject
            assert "<b>ghi chú</b>" not in rendered.html  # escaped in HTML
    vi = render_email(template, normalise_context(full, lang="vi", base_url="http://x"), lang="vi")
    en = render_email(template, normalise_context(full, lang="en", base_url="http://x"), lang="en")
    assert vi.subject != en.subject


def test_result_ready_offers_the_download_link_for_fully_online_procedures() -> None:
    download = render_email(
        "result_ready",
        normalise_context({**CONTEXT, "link": "/ho-so/1/ket-qua.pdf"}, lang="vi", base_url="http://x"),
        lang="vi",
    )
    assert "Tải văn bản kết quả (PDF): http://x/ho-so/1/ket-qua.pdf" in download.text
    desk = render_email("result_ready", normalise_context(CONTEXT, lang="vi", base_url="http://x"), lang="vi")
    assert "Bộ phận Một cửa" in desk.text and "Tải văn bản" not in desk.text


CORE_FILES = {f"{name}.{ext}" for name in (*CORE_TEMPLATES, "_layout", "_macros") for ext in ("html", "txt")}


def test_every_core_email_string_has_an_english_translation() -> None:
    with open(PO_FILE, "rb") as fh:
        catalog = read_po(fh)
    used = {
        msg
        for filename, _, msg, _, _ in extract_from_dir(
            str(ROOT / "templates" / "emails"),
            [("**.html", "jinja2"), ("**.txt", "jinja2")],
            options_map={"**": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None},
        )
        if filename in CORE_FILES
    }
    assert len(used) > 30
    missing = sorted(m for m in used if not (catalog.get(m) and catalog.get(m).string))
    assert not missing, f"add to {PO_FILE}: {missing}"


@pytest.mark.parametrize("template", CORE_TEMPLATES)
def test_english_mails_carry_no_vietnamese_boilerplate(template: str) -> None:
    ascii_context = {
        "case_code": "H29-1",
        "procedure_name": "Transfer",
        "applicant_name": "Mai Tran",
        "due_date": "2026-12-03",
        "new_date": "2026-12-10",
        "items": ["School record"],
        "reason": "Out of scope",
        "status": "Appraisal",
        "link": "/x",
    }
    rendered = render_email(
        template, normalise_context(ascii_context, lang="en", base_url="http://x"), lang="en"
    )
    vietnamese = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]")
    assert not vietnamese.search(rendered.subject), rendered.subject
    for part in (rendered.text, rendered.html):  # Vietnamese terms may be quoted; sentences may not
        for phrase in ("Kính gửi", "Hồ sơ", "hồ sơ", "Thư này", "Đường dây nóng", "Ông/Bà", "Mã hồ sơ"):
            assert phrase not in part, phrase
