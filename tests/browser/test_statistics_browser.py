"""The public statistics page (/thong-ke) read in Chromium on a phone and on a desktop.

UX review 2026-12: chart labels were ~5 px on a 390 px phone (a 720-unit SVG scaled down), and the
sideways-scrolling tables could not be reached by keyboard (axe `scrollable-region-focusable`).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import axe_violations, describe

pytestmark = pytest.mark.browser

# the height on screen of every text of the visible charts (labels and axis values), in CSS pixels
TEXT_HEIGHTS = """() => [...document.querySelectorAll('svg.chart')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .flatMap(svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height))"""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1366, 768)])
def test_charts_are_readable_and_tables_reachable_by_keyboard(
    browser: Any, live_server: str, width: int, height: int
) -> None:
    context = browser.new_context(
        base_url=live_server, locale="vi-VN", viewport={"width": width, "height": height}
    )
    page = context.new_page()
    try:
        page.goto("/thong-ke")
        heights = page.evaluate(TEXT_HEIGHTS)
        assert heights, "no chart drawn"
        # ≥ 12 px text: a line box of a 12 px font is ~13–14 px high; 5 px labels were ~6 px
        assert min(heights) >= 12, (width, sorted(heights)[:5])
        visible = page.evaluate(
            "() => [...document.querySelectorAll('svg.chart')]"
            ".filter(s => s.getBoundingClientRect().width > 0).length"
        )
        assert visible == 2  # one drawing of each chart, not both
        assert page.locator(".chart-legend li").first.is_visible()
        region = page.locator(".table-scroll").first
        region.focus()
        assert page.evaluate("() => document.activeElement.classList.contains('table-scroll')")
        violations = axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))
        assert not violations, describe(violations)
    finally:
        context.close()
