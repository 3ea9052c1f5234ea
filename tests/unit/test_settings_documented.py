"""Every setting an operator can give is documented (README's settings table or docs/*.md)."""

from __future__ import annotations

from portal.config import ROOT, Settings


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    )
    undocumented = [
        f"PORTAL_{name.upper()}" for name in Settings.model_fields if f"`PORTAL_{name.upper()}`" not in docs
    ]
    assert undocumented == [], f"document these settings in README.md or docs/: {undocumented}"
