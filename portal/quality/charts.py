"""Small server-rendered SVG charts (no JavaScript, no CDN): stacked bars and rate lines.

Each chart has a ``<title>``/``<desc>`` and ``role="img"`` so screen readers get
a summary; the numbers are also in the tables next to the charts. Each is drawn twice (wide and
narrow, see `Layout`) so its labels stay readable on a phone; the legend is HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 28
COLORS = ("#1d70b8", "#f47738", "#00703c", "#d4351c", "#4c2c92")


@dataclass(frozen=True)
class Layout:
    """One drawing of a chart. Text in an SVG scales with it, so a 720-unit-wide chart shown 350 px wide
    on a phone had ~5 px labels: each chart is drawn twice — wide for large screens, narrow for phones
    (CSS shows one) — with its text at least 12 px on the screens it is meant for."""

    width: int
    font: int
    css: str
    max_labels: int

    @property
    def plot_height(self) -> int:
        return HEIGHT - TOP - BOTTOM


WIDE = Layout(width=720, font=12, css="chart-wide", max_labels=12)
NARROW = Layout(width=360, font=13, css="chart-narrow", max_labels=6)


def _svg(layout: Layout, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {HEIGHT}" role="img" '
        f'class="chart {layout.css}" font-family="sans-serif" font-size="{layout.font}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>" + "".join(body) + "</svg>"
    )


def _figure(
    title: str, desc: str, draw: Callable[[Layout], list[str]], legend: Sequence[tuple[str, str]]
) -> Markup:
    """Both drawings, and the legend as HTML text (it wraps and keeps the page's font size)."""
    items = "".join(
        f'<li><span class="swatch" style="background:{color}" aria-hidden="true"></span>{escape(label)}</li>'
        for label, color in legend
    )
    html = (
        _svg(WIDE, title, desc, draw(WIDE))
        + _svg(NARROW, title, desc, draw(NARROW))
        + f'<ul class="chart-legend">{items}</ul>'
    )
    return Markup(html)  # noqa: S704 (every text above is escaped)


def _axis(layout: Layout, max_value: float, percent: bool) -> list[str]:
    parts = []
    for i in range(5):
        value = max_value * i / 4
        y = TOP + layout.plot_height * (1 - i / 4)
        label = f"{value * 100:.0f}%" if percent else f"{value:.0f}"
        parts.append(
            f'<line x1="{LEFT}" x2="{layout.width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
        )
    return parts


def _step(layout: Layout, labels: Sequence[str]) -> float:
    return (layout.width - LEFT - RIGHT) / max(len(labels), 1)


def _x_labels(layout: Layout, labels: Sequence[str]) -> list[str]:
    step = _step(layout, labels)
    every = max(1, -(-len(labels) // layout.max_labels))  # at most max_labels, so they never overlap
    return [
        f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{TOP + layout.plot_height + layout.font + 4}" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One bar per label, its segments stacked in the order of ``series`` (name, values)."""
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = _nice(max([*totals, 1]))

    def draw(layout: Layout) -> list[str]:
        step = _step(layout, labels)
        body = _axis(layout, top, percent=False)
        for i in range(len(labels)):
            base = 0
            for (name, values), color in zip(series, COLORS, strict=False):
                value = values[i]
                if value:
                    h = layout.plot_height * value / top
                    y = TOP + layout.plot_height * (1 - (base + value) / top)
                    body.append(
                        f'<rect x="{LEFT + step * i + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                        f'height="{h:.1f}" fill="{color}"><title>{escape(labels[i])}: {escape(name)} {value}'
                        "</title></rect>"
                    )
                base += value
        return body + _x_labels(layout, labels)

    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {values[i]}" for name, values in series)
        for i, label in enumerate(labels)
    )
    return _figure(
        title, desc, draw, [(name, color) for (name, _), color in zip(series, COLORS, strict=False)]
    )


def rate_lines(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """Rates (0..1) per label as lines with dots; a missing value breaks the line."""

    def draw(layout: Layout) -> list[str]:
        step = _step(layout, labels)
        body = _axis(layout, 1.0, percent=True)
        for (name, values), color in zip(series, COLORS, strict=False):
            points: list[str] = []
            for i, value in enumerate(values):
                if value is None:
                    if len(points) > 1:
                        body.append(_polyline(points, color))
                    points = []
                    continue
                x = LEFT + step * (i + 0.5)
                y = TOP + layout.plot_height * (1 - max(0.0, min(value, 1.0)))
                points.append(f"{x:.1f},{y:.1f}")
                body.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(labels[i])}: '
                    f"{escape(name)} {value * 100:.1f}%</title></circle>"
                )
            if len(points) > 1:
                body.append(_polyline(points, color))
        return body + _x_labels(layout, labels)

    desc = "; ".join(
        f"{name}: "
        + ", ".join(f"{labels[i]} {'—' if v is None else f'{v * 100:.1f}%'}" for i, v in enumerate(values))
        for name, values in series
    )
    return _figure(
        title, desc, draw, [(name, color) for (name, _), color in zip(series, COLORS, strict=False)]
    )


def _polyline(points: list[str], color: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>'


def _nice(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return value
