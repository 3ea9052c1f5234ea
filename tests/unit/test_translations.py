"""The English catalog covers every Vietnamese source string, and key pages really render in English.

(a) Messages are extracted from the current sources (templates and Python, the mapping in babel.cfg,
the keywords of `make i18n-extract`) with Babel's API, so a string added to a template without a
translation in portal/locale/en/LC_MESSAGES/messages.po fails here, even before `make i18n-extract`.
(b) The catalog is compiled into a temporary locale directory and the citizen pages are requested
in English: the chosen translations appear and the header/footer keep no Vietnamese.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from portal import i18n, templating
from portal.config import ROOT

PO_FILE = ROOT / "portal" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "gettext": None, "pgettext": ((1, "c"), 2)}

# letters that only Vietnamese uses (ă â đ ê ô ơ ư and the tone marks), lower and upper case
VIETNAMESE = re.compile(
    "[ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ]"
)

# header/footer strings of base.html that must not survive in English
CHROME_VI = ("Tra cứu hồ sơ", "Đường dây nóng", "Giờ làm việc", "Đăng nhập", "Bỏ qua, đến nội dung chính")


def _catalog() -> Catalog:
    with open(PO_FILE, "rb") as fh:
        return read_po(fh, locale="en")


def _source_messages() -> dict[tuple[str | None, str | tuple[str, ...]], set[str]]:
    """Every msgid in the sources, with the files it comes from."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)  # type: ignore[no-untyped-call]
    found: dict[tuple[str | None, str | tuple[str, ...]], set[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.setdefault((context, message), set()).add(filename)
    return found


def test_every_source_string_has_an_english_translation() -> None:
    catalog = _catalog()
    sources = _source_messages()
    assert len(sources) > 100, "extraction found almost nothing; is babel.cfg still right?"
    missing = []
    for (context, message), files in sorted(sources.items(), key=lambda kv: str(kv[0][1])):
        msgid = message[0] if isinstance(message, tuple) else message
        if not msgid:
            continue
        entry = catalog.get(msgid, context=context)
        strings = entry.string if entry is not None else None
        forms = strings if isinstance(strings, (list, tuple)) else [strings]
        if entry is None or entry.fuzzy or not all(forms):
            missing.append(f"  {msgid!r}  ({', '.join(sorted(files))})")
    assert not missing, (
        f"{len(missing)} source string(s) have no English translation in {PO_FILE.relative_to(ROOT)}; "
        "run `make i18n-extract` and translate them:\n" + "\n".join(missing)
    )


def test_catalog_is_clean() -> None:
    """No fuzzy entries, and placeholders such as %(name)s survive translation."""
    catalog = _catalog()
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems
    # Jinja's new-style gettext %-formats every message, so a bare % (not %% or %(name)s) breaks a page
    stray = [m.id for m in catalog if m.id and "%" in re.sub(r"%\(\w+\)s|%%", "", str(m.string))]
    assert not stray, f"translations with a bare %: {stray}"


@pytest.fixture
def english_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The current messages.po compiled into a temporary locale directory the app loads from.

    Pages memoise translated strings per language (portal.templating); earlier tests may have
    rendered English with an older .mo, so the gettext callables of a fresh environment are used.
    """
    target = tmp_path / "locale" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as fh:
        write_mo(fh, _catalog())
    shutil.copy(PO_FILE, target / "messages.po")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n.translations.cache_clear()
    fresh = templating._make_env().globals
    for name in ("_", "gettext", "ngettext", "pgettext", "npgettext"):
        if name in fresh:
            monkeypatch.setitem(templating.env.globals, name, fresh[name])
    yield
    i18n.translations.cache_clear()


def _region(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}\b.*?</{tag}>", html, re.S)
    assert match, f"no <{tag}> in the page"
    return match.group(0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assert_english_chrome(html: str) -> None:
    # the link back to Vietnamese is named in Vietnamese
    header = _text(_region(html, "header")).replace("Tiếng Việt", "")
    footer = _text(_region(html, "footer"))
    for part, text in (("header", header), ("footer", footer)):
        assert not VIETNAMESE.search(text), f"Vietnamese left in the {part}: {text!r}"
    for english in ("Procedures", "Track a case", "Sign in", "Hotline", "Office hours", "Virtual assistant"):
        assert english in html
    for vietnamese in CHROME_VI:
        assert vietnamese not in html
    assert 'lang="en"' in html and "Tiếng Việt" in html


@pytest.mark.usefixtures("english_catalog")
def test_key_pages_render_in_english(client: TestClient) -> None:
    switched = client.get("/ngon-ngu/en?next=/")
    assert switched.status_code == 200 and str(switched.url).endswith("/")

    home = switched.text
    _assert_english_chrome(home)
    assert "Online public services for education" in home
    assert "Which procedure do you need?" in home
    assert "Frequently used procedures" in home
    assert "Dịch vụ công trực tuyến ngành Giáo dục" not in home

    catalogue = client.get("/thu-tuc")
    assert catalogue.status_code == 200
    _assert_english_chrome(catalogue.text)
    assert "Administrative procedures" in catalogue.text
    assert "procedures available online" in catalogue.text
    assert "Danh mục thủ tục hành chính" not in catalogue.text

    track = client.get("/tra-cuu")
    assert track.status_code == 200
    _assert_english_chrome(track.text)
    assert "Case code" in track.text
    assert "Phone number you gave when applying" in track.text
    assert "Số điện thoại đã khai khi nộp" not in track.text

    slugs = re.findall(r'href="/thu-tuc/([a-z0-9-]+)"', catalogue.text)
    assert slugs, "the catalogue lists no procedure"
    procedure = client.get(f"/thu-tuc/{slugs[0]}")
    assert procedure.status_code == 200
    _assert_english_chrome(procedure.text)
    for english in ("Apply online", "Procedure code", "Required documents", "Legal basis", "Fees and"):
        assert english in procedure.text
    for vietnamese in ("Nộp hồ sơ trực tuyến", "Thành phần hồ sơ", "Căn cứ pháp lý", "Trình tự thực hiện"):
        assert vietnamese not in procedure.text

    # and back: Vietnamese stays the default language
    back = client.get("/ngon-ngu/vi?next=/tra-cuu")
    assert "Tra cứu hồ sơ" in back.text and "Track a case" not in back.text
