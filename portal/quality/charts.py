"""Small server-rendered SVG charts (no JavaScript, no CDN): stacked bars and rate lines.

Each chart has a ``<title>``/``<desc>`` and ``role="img"`` so screen readers get
a summary; the numbers are also in the tables next to the charts.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 40
COLORS = ("#1d70b8", "#f47738", "#00703c", "#d4351c", "#4c2c92")


def _frame(title: str, desc: str, body: list[str], legend: Sequence[tuple[str, str]]) -> Markup:
    x = LEFT
    items = []
    for label, color in legend:
        items.append(
            f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="11">{escape(label)}</text>'
        )
        x += 22 + 7 * len(label)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart" font-family="sans-serif"><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
        + "".join(body)
        + "".join(items)
        + "</svg>"
    )
    return Markup(svg)  # noqa: S704 (every text above is escaped)


def _plot_height() -> int:
    return HEIGHT - TOP - BOTTOM


def _axis(max_value: float, percent: bool) -> list[str]:
    parts = []
    for i in range(5):
        value = max_value * i / 4
        y = TOP + _plot_height() * (1 - i / 4)
        label = f"{value * 100:.0f}%" if percent else f"{value:.0f}"
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{label}</text>'
        )
    return parts


def _x_labels(labels: Sequence[str], step: float) -> list[str]:
    every = max(1, len(labels) // 12)
    return [
        f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{TOP + _plot_height() + 14}" font-size="11" '
        f'text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One bar per label, its segments stacked in the order of ``series`` (name, values)."""
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = max([*totals, 1])
    top = _nice(top)
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    body = _axis(top, percent=False)
    for i in range(len(labels)):
        base = 0
        for (name, values), color in zip(series, COLORS, strict=False):
            value = values[i]
            if value:
                h = _plot_height() * value / top
                y = TOP + _plot_height() * (1 - (base + value) / top)
                body.append(
                    f'<rect x="{LEFT + step * i + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{color}"><title>{escape(labels[i])}: {escape(name)} {value}'
                    "</title></rect>"
                )
            base += value
    body += _x_labels(labels, step)
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {values[i]}" for name, values in series)
        for i, label in enumerate(labels)
    )
    return _frame(
        title, desc, body, [(name, color) for (name, _), color in zip(series, COLORS, strict=False)]
    )


def rate_lines(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """Rates (0..1) per label as lines with dots; a missing value breaks the line."""
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    body = _axis(1.0, percent=True)
    for (name, values), color in zip(series, COLORS, strict=False):
        points: list[str] = []
        for i, value in enumerate(values):
            if value is None:
                if len(points) > 1:
                    body.append(_polyline(points, color))
                points = []
                continue
            x = LEFT + step * (i + 0.5)
            y = TOP + _plot_height() * (1 - max(0.0, min(value, 1.0)))
            points.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(labels[i])}: '
                f"{escape(name)} {value * 100:.1f}%</title></circle>"
            )
        if len(points) > 1:
            body.append(_polyline(points, color))
    body += _x_labels(labels, step)
    desc = "; ".join(
        f"{name}: "
        + ", ".join(f"{labels[i]} {'—' if v is None else f'{v * 100:.1f}%'}" for i, v in enumerate(values))
        for name, values in series
    )
    return _frame(
        title, desc, body, [(name, color) for (name, _), color in zip(series, COLORS, strict=False)]
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
