"""The development SMTP sink receives real SMTP from smtplib; /dev/mail shows what it caught."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from fastapi import FastAPI
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.notifications.mailsink import MailSink


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Dịch vụ công Giáo dục <no-reply@dichvucong.local>"
    message["To"] = "mai@example.vn"
    message["Subject"] = "Đã tiếp nhận hồ sơ H29.41.04-261128-0001"
    message.set_content("Kính gửi Ông/Bà Trần Thị Mai,\n.dòng bắt đầu bằng dấu chấm\n")
    message.add_alternative(
        "<p>Kính gửi <b>Ông/Bà Trần Thị Mai</b></p><script>alert(1)</script>", subtype="html"
    )
    return message


def test_sink_receives_smtplib_mail(sink: MailSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.login("dev", "dev")
        refused = smtp.send_message(_message())
        smtp.send_message(_message(), to_addrs=["a@example.vn", "b@example.vn"])
    assert refused == {}
    assert [c.rcpt_to for c in sink.received] == [["mai@example.vn"], ["a@example.vn", "b@example.vn"]]
    first = sink.received[0]
    assert first.mail_from == "no-reply@dichvucong.local"
    assert b"\n.d" in first.data.replace(b"\r\n", b"\n")  # dot-unstuffed
    assert first.path is not None and first.path.read_bytes().endswith(first.data)


def test_dev_mail_pages(app: FastAPI, client: TestClient, sink: MailSink) -> None:
    app.state.settings.mail_sink_dir, before = sink.directory, app.state.settings.mail_sink_dir
    try:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.send_message(_message())
        listing = client.get("/dev/mail")
        assert listing.status_code == 200
        assert "Đã tiếp nhận hồ sơ H29.41.04-261128-0001" in listing.text
        assert sink.received[0].path is not None
        name = sink.received[0].path.name
        detail = client.get(f"/dev/mail/{name}")
        assert detail.status_code == 200 and "Kính gửi Ông/Bà Trần Thị Mai," in detail.text
        html = client.get(f"/dev/mail/{name}/html")
        assert html.status_code == 200 and "<b>Ông/Bà Trần Thị Mai</b>" in html.text
        assert html.headers["content-security-policy"].startswith("sandbox")
        assert client.get("/dev/mail/..%2Fsecret_key").status_code == 404
        assert client.get("/dev/mail/nope.eml").status_code == 404
    finally:
        app.state.settings.mail_sink_dir = before


def test_dev_mail_is_not_mounted_in_production(settings: object) -> None:
    production = settings.model_copy(update={"environment": "production"})  # type: ignore[attr-defined]
    app = create_app(production)
    try:
        with TestClient(app) as client:
            assert client.get("/dev/mail").status_code == 404
    finally:
        app.state.db.dispose()
