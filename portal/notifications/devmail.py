"""Read the development mail sink's directory (``/dev/mail``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

_NAME = re.compile(r"^[0-9A-Za-z_-]+\.eml$")


@dataclass(frozen=True)
class CaughtMail:
    name: str
    mail_from: str
    to: str
    subject: str
    date: str
    message_id: str
    text: str
    html: str | None


def _parse(path: Path) -> CaughtMail:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return CaughtMail(
        name=path.name,
        mail_from=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        message_id=str(message.get("Message-ID", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else None,
    )


def list_mail(directory: Path, limit: int = 200) -> list[CaughtMail]:
    if not directory.is_dir():
        return []
    paths = sorted((p for p in directory.iterdir() if _NAME.match(p.name)), reverse=True)[:limit]
    return [_parse(p) for p in paths]


def get_mail(directory: Path, name: str) -> CaughtMail | None:
    if not _NAME.match(name):
        return None
    path = directory / name
    return _parse(path) if path.is_file() else None
