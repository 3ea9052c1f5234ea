"""The one Jinja environment: templates/, gettext (vi/en), the house filters and label globals.

Pages (:mod:`portal.web.render`), official PDF documents (:mod:`portal.applications.documents`) and
e-mails (:mod:`portal.notifications.render`) all render from here, so a service that renders a
document does not depend on the web layer. Domains add their template helpers to ``env.globals``
when they are installed.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from portal import i18n
from portal.config import ROOT
from workflows.definitions import DELIVERY_LABELS, DOCUMENT_KIND_LABELS, LEVEL_LABELS

TEMPLATES_DIR = ROOT / "templates"


def _no_code(value: Any) -> Any:
    """`finalize` of every ``{{ … }}``: a function or method is never something to show a person.
    Jinja's ``d["items"]`` falls back to the attribute when the key is missing, which printed
    `<built-in method items of dict …>` on the accountant's fee-notice form; now such a template bug
    fails loudly in the tests instead of putting Python internals on a page."""
    if callable(value) and not hasattr(value, "__html__"):
        raise TypeError(f"a template printed a callable: {value!r:.80}")
    return value


def _make_env() -> Environment:
    env = Environment(
        finalize=_no_code,
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _memoised_gettext(env.globals["gettext"])
    env.filters.update(
        money=i18n.money,
        date=i18n.fmt_date,
        datetime=i18n.fmt_datetime,
        day_long=i18n.fmt_day_long,
        tr=lambda text: text.get(i18n.current_lang.get()) if text is not None else "",
    )
    env.globals.update(
        LEVEL_LABELS=LEVEL_LABELS,
        DELIVERY_LABELS=DELIVERY_LABELS,
        DOCUMENT_KIND_LABELS=DOCUMENT_KIND_LABELS,
    )
    return env


_GETTEXT_CACHE_MAX = 10_000


def _memoised_gettext(newstyle: Any) -> Any:
    """Jinja's new-style ``gettext``, remembered per (language, message) when called without variables.

    A page calls ``_()`` some hundred times and Jinja translates, wraps in Markup and %-formats the
    message on every call; the catalogues never change while the process runs, so the result for one
    language and one message is always the same (Markup is immutable). Calls with variables or outside
    autoescaping go straight through; the cache is bounded in case a template translates a variable.
    """
    cache: dict[tuple[str, str], Any] = {}

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> Any:
        if variables or not __context.eval_ctx.autoescape:
            return newstyle(__context, __string, **variables)
        key = (i18n.current_lang.get(), __string)
        try:
            return cache[key]
        except KeyError:
            value = newstyle(__context, __string)
            if len(cache) < _GETTEXT_CACHE_MAX:
                cache[key] = value
            return value

    return gettext


env = _make_env()
