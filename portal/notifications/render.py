"""Render an e-mail (subject, text, HTML) in the recipient's language.

Templates: ``templates/emails/<name>.html`` (with a ``subject`` block) and ``<name>.txt``;
any such pair is a template other domains may enqueue. Strings are Vietnamese msgids through
``_()``; English comes from the portal's catalog ``portal/locale/en/LC_MESSAGES/messages.po``,
read directly so that e-mails need no compile step (the worker may run from a fresh checkout).
"""

from __future__ import annotations

import html as html_lib
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from portal import i18n
from portal.templating import TEMPLATES_DIR
from portal.templating import env as page_env

# the e-mails of the one-stop process; other domains add theirs as template files
CORE_TEMPLATES = (
    "case_submitted",
    "case_received",
    "supplement_requested",
    "case_refused",
    "result_ready",
    "apology",
    "deadline_alert",
)
EMAIL_DIR = TEMPLATES_DIR / "emails"
CONTEXT_KEYS = (
    "case_code",
    "procedure_name",
    "applicant_name",
    "due_date",
    "items",
    "reason",
    "comment",
    "new_date",
    "link",
    "status",
    "download",
)
PO_FILE = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache
def translations(lang: str) -> NullTranslations:
    if lang != "en":
        return NullTranslations()
    try:
        with open(PO_FILE, "rb") as fh:
            catalog = read_po(fh, locale="en")
    except FileNotFoundError:
        return i18n.translations("en")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def available_templates() -> set[str]:
    return {
        p.stem
        for p in EMAIL_DIR.glob("*.html")
        if not p.name.startswith("_") and p.with_suffix(".txt").is_file()
    }


@lru_cache
def _env(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(page_env.filters)
    return env


def normalise_context(context: dict[str, Any], *, lang: str, base_url: str) -> dict[str, Any]:
    """Tolerate missing keys and loosely typed values; returns JSON-safe values."""
    out: dict[str, Any] = {k: None for k in CONTEXT_KEYS}
    for key, value in context.items():
        out[key] = _plain(value, lang)
    items = out.get("items")
    if items is None:
        out["items"] = []
    elif isinstance(items, str):
        out["items"] = [items]
    else:
        out["items"] = [_item(v, lang) for v in items]
    link = out.get("link")
    if isinstance(link, str) and link.startswith("/"):
        out["link"] = base_url.rstrip("/") + link
    out["download"] = bool(out.get("download")) or (
        isinstance(out.get("link"), str) and out["link"].split("?")[0].endswith(".pdf")
    )
    return out


def _plain(value: Any, lang: str) -> Any:
    if hasattr(value, "vi") and hasattr(value, "get"):  # workflows.definitions.Text
        return value.get(lang)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v, lang) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, lang) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _item(value: Any, lang: str) -> str:
    value = _plain(value, lang)
    if isinstance(value, dict):
        name = value.get("name") or value.get("label") or value.get("title") or ""
        note = value.get("note") or value.get("reason") or ""
        return f"{name} — {note}" if name and note else str(name or note)
    return "" if value is None else str(value)


def _date_value(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def render_email(
    template: str, context: dict[str, Any], *, lang: str, hotline: str = "1022"
) -> RenderedEmail:
    """``context`` as returned by :func:`normalise_context`."""
    if template not in available_templates():
        known = ", ".join(sorted(available_templates()))
        raise ValueError(f"unknown e-mail template {template!r}; known: {known}")
    lang = "en" if lang == "en" else "vi"
    env = _env(lang)
    code, procedure = context.get("case_code") or "", context.get("procedure_name") or ""
    case_label = f"{code} ({procedure})" if code and procedure else (code or procedure)
    ctx = {
        **context,
        "lang": lang,
        "hotline": hotline,
        "case_label": case_label,
        "due_day": _date_value(context.get("due_date")),
        "new_day": _date_value(context.get("new_date")),
    }
    token = i18n.current_lang.set(lang)  # the date filters name weekdays in this language
    try:
        html_template = env.get_template(f"emails/{template}.html")
        subject = "".join(html_template.blocks["subject"](html_template.new_context(ctx)))
        html = html_template.render(ctx)
        text = env.get_template(f"emails/{template}.txt").render(ctx)
    finally:
        i18n.current_lang.reset(token)
    subject = " ".join(html_lib.unescape(subject).split())  # the block was autoescaped: back to plain text
    return RenderedEmail(subject[:300], text, html)
