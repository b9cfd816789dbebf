"""Small charts drawn on the server as SVG: no JavaScript, no CDN, prints well."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 160, 28


def step_chart(
    points: Sequence[tuple[datetime, int]],
    label: str,
    now: datetime,
    *,
    start_text: str | None = None,
    end_text: str = "today",
) -> Markup:
    """On hand over time as a step line (stock changes in steps, not slopes).

    ``start_text`` and ``end_text`` name the axis ends (the caller translates them); the start
    defaults to the first point's day and month."""
    if not points:
        return Markup("")
    start = points[0][0].timestamp()
    first_day = start_text or f"{points[0][0]:%d %b}"
    span = max(now.timestamp() - start, 1.0)
    top = max(max(value for _, value in points), 1)

    def x(when: float) -> float:
        return PAD + (when - start) / span * (WIDTH - 2 * PAD)

    def y(value: int) -> float:
        return HEIGHT - PAD - value / top * (HEIGHT - 2 * PAD)

    path = [f"M{x(start):.1f},{y(points[0][1]):.1f}"]
    for when, value in points[1:]:
        path.append(f"H{x(when.timestamp()):.1f}V{y(value):.1f}")
    path.append(f"H{x(now.timestamp()):.1f}")
    # Only numbers we computed and escaped texts go into the markup.
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'class="axis"/>'
        f'<text x="{PAD}" y="{PAD - 8}" class="tick">{top}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">'
        f"{escape(first_day)}</text>"
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" class="tick" text-anchor="end">'
        f"{escape(end_text)}</text>"
        f'<path d="{"".join(path)}" class="line"/></svg>'
    )
    return Markup(svg)  # noqa: S704


# --- grouped bars and lines (the metrics page and the dashboard) -------------------------

CHART_HEIGHT = 200
BOTTOM = 34  # room for the category labels
LEGEND = 16  # room for the legend above the plot


@dataclass(frozen=True)
class Series:
    """One set of values, one per category; None draws nothing there."""

    name: str
    values: Sequence[float | None]
    css: str = "s1"  # s1, s2: the colour classes in spareflow.css


def _number(value: float, unit: str) -> str:
    text = f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text.removesuffix('.0')}{unit}"


def _frame(label: str, top: float, unit: str, series: Sequence[Series], body: list[str]) -> Markup:
    height = CHART_HEIGHT
    # The legend, right-aligned: each entry a swatch and its name (about 6 px a character).
    entries, right = [], WIDTH - PAD
    for one in reversed(series):
        left = right - 16 - 6 * len(one.name)
        entries.insert(
            0,
            f'<rect x="{left}" y="4" width="10" height="10" class="bar {one.css}"/>'
            f'<text x="{left + 14}" y="13" class="tick">{escape(one.name)}</text>',
        )
        right = left - 12
    legend = "".join(entries)
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
        f'<line x1="{PAD}" y1="{height - BOTTOM}" x2="{WIDTH - PAD}" y2="{height - BOTTOM}" '
        'class="axis"/>'
        f'<text x="2" y="{PAD + LEGEND - 4}" class="tick">{escape(_number(top, unit))}</text>'
        f"{legend}{''.join(body)}</svg>"
    )
    return Markup(svg)  # noqa: S704 (numbers we computed and escaped text only)


def _scale(top: float) -> Callable[[float], float]:
    plot_top, plot_bottom = PAD + LEGEND, CHART_HEIGHT - BOTTOM

    def y(value: float) -> float:
        return plot_bottom - (value / top) * (plot_bottom - plot_top) if top else plot_bottom

    return y


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    *,
    unit: str = "",
    top: float | None = None,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series, values on top."""
    if not categories or not series:
        return Markup("")
    values = [v for s in series for v in s.values if v is not None]
    top = top or max([*values, 0.0]) or 1.0
    y = _scale(top)
    slot = (WIDTH - 2 * PAD) / len(categories)
    bar = min(slot * 0.8 / len(series), 48.0)
    body = []
    for index, category in enumerate(categories):
        left = PAD + index * slot + (slot - bar * len(series)) / 2
        for offset, one in enumerate(series):
            value = one.values[index]
            if value is None:
                continue
            x, top_y = left + offset * bar, y(value)
            shown = escape(_number(value, unit)) if value else ""
            body.append(
                f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{bar - 2:.1f}" '
                f'height="{y(0) - top_y:.1f}" class="bar {one.css}">'
                f"<title>{escape(one.name)}, {escape(category)}: "
                f"{escape(_number(value, unit))}</title></rect>"
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{top_y - 3:.1f}" class="tick value" '
                f'text-anchor="middle">{shown}</text>'
            )
        body.append(
            f'<text x="{PAD + (index + 0.5) * slot:.1f}" y="{CHART_HEIGHT - BOTTOM + 14}" '
            f'class="tick" text-anchor="middle">{escape(category)}</text>'
        )
    return _frame(label, top, unit, series, body)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    *,
    unit: str = "",
    top: float | None = None,
    target: float | None = None,
) -> Markup:
    """Lines through one point per category; gaps where a value is None; an optional target."""
    if not categories or not series:
        return Markup("")
    values = [v for s in series for v in s.values if v is not None]
    top = top or max([*values, target or 0.0, 0.0]) or 1.0
    y = _scale(top)
    slot = (WIDTH - 2 * PAD) / len(categories)

    def x(index: int) -> float:
        return PAD + (index + 0.5) * slot

    body = []
    if target is not None:
        body.append(
            f'<line x1="{PAD}" y1="{y(target):.1f}" x2="{WIDTH - PAD}" y2="{y(target):.1f}" '
            f'class="target"><title>target {escape(_number(target, unit))}</title></line>'
        )
    for one in series:
        path, pen_down = [], False
        for index, value in enumerate(one.values):
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(index):.1f},{y(value):.1f}")
            pen_down = True
            body.append(
                f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3" class="dot {one.css}">'
                f"<title>{escape(one.name)}, {escape(categories[index])}: "
                f"{escape(_number(value, unit))}</title></circle>"
            )
        if path:
            body.insert(0, f'<path d="{"".join(path)}" class="line {one.css}"/>')
    for index, category in enumerate(categories):
        body.append(
            f'<text x="{x(index):.1f}" y="{CHART_HEIGHT - BOTTOM + 14}" class="tick" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    return _frame(label, top, unit, series, body)


# --- an x-y curve (the reorder page's fill-rate / stock-value trade-off) -----------------

XY_HEIGHT, XY_LEFT, XY_BOTTOM = 240, 64, 40


def xy_chart(
    points: Sequence[tuple[float, float, str]],
    title: str,
    x_label: str,
    y_label: str,
    *,
    x_format: Callable[[float], str] = lambda v: f"{v:.0%}",
    y_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> Markup:
    """Points ``(x, y, name)`` joined in x order, with a title, axis labels and the axes'
    ends as ticks; each point carries its name and values as a tooltip."""
    if not points:
        return Markup("")
    ordered = sorted(points)
    xs, ys = [p[0] for p in ordered], [p[1] for p in ordered]
    x_low, x_high = min(xs), max(xs)
    x_span = (x_high - x_low) or 1.0
    y_top = max(ys) or 1.0
    left, right, top, bottom = XY_LEFT, WIDTH - PAD, PAD + 8, XY_HEIGHT - XY_BOTTOM

    def x(value: float) -> float:
        return left + (value - x_low) / x_span * (right - left)

    def y(value: float) -> float:
        return bottom - value / y_top * (bottom - top)

    path = "".join(
        f"{'L' if index else 'M'}{x(px):.1f},{y(py):.1f}"
        for index, (px, py, _) in enumerate(ordered)
    )
    dots = "".join(
        f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3" class="dot s1">'
        f"<title>{escape(name)}: {escape(x_label)} {escape(x_format(px))}, "
        f"{escape(y_label)} {escape(y_format(py))}</title></circle>"
        for px, py, name in ordered
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {XY_HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2:.0f}" y="14" class="tick" text-anchor="middle">{escape(title)}</text>'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" class="axis"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" class="axis"/>'
        f'<text x="{left - 4}" y="{top + 4}" class="tick" text-anchor="end">'
        f"{escape(y_format(y_top))}</text>"
        f'<text x="{left - 4}" y="{bottom}" class="tick" text-anchor="end">0</text>'
        f'<text x="{left}" y="{bottom + 14}" class="tick">{escape(x_format(x_low))}</text>'
        f'<text x="{right}" y="{bottom + 14}" class="tick" text-anchor="end">'
        f"{escape(x_format(x_high))}</text>"
        f'<text x="{(left + right) / 2:.0f}" y="{XY_HEIGHT - 6}" class="tick axis-label" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{(top + bottom) / 2:.0f}" class="tick axis-label" '
        f'text-anchor="middle" transform="rotate(-90 12 {(top + bottom) / 2:.0f})">'
        f"{escape(y_label)}</text>"
        f'<path d="{path}" class="line s1"/>{dots}</svg>'
    )
    return Markup(svg)  # noqa: S704 (numbers we computed and escaped text only)
