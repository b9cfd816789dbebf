"""Charts drawn on the server as SVG: no JavaScript, no CDN, print as they show.

Why not a charting library: every chart here is a handful of lines or bars, the pages must work
offline and under a strict Content-Security-Policy (no inline scripts or styles), and the
printed sheet must look like the screen. An SVG drawn here does all three with nothing to
serve or update; a client-side library would add a script bundle and draw nothing on paper
until it ran. (docs/metrics.md, "Charts".)

Every chart is titled (its label, shown and read out), labels both axes when the caller names
them, draws the zero line and a labelled grid, labels its reference line, writes its text at
12 px or more, and puts its legend under the plot, wrapped to as many rows as it needs (widths
are measured with CJK characters counted full-width, so Chinese legends are not cut off).
Series after the first are dashed, so they stay apart in black and white.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

WIDTH = 640
PAD = 60  # left and right of the plot: the y ticks and axis label, the reference label
TOP = 44  # above the plot: the title
CHART_HEIGHT = 224  # the bottom of the x-axis label; the legend goes under it
BOTTOM = 44  # under the plot: the category labels and the x-axis label
LEGEND = 20  # one legend row
HEIGHT = CHART_HEIGHT  # the step chart's frame is the same
TEXT = 12  # px, every text but the title
TITLE = 14
INK, MUTED, GRID = "#1f2933", "#4b5563", "#d1d5db"


@dataclass(frozen=True)
class Series:
    """One set of values, one per category; None draws nothing there."""

    name: str
    values: Sequence[float | None]
    css: str = "s1"  # s1, s2: the colour classes in spareflow.css


def text_width(text: str, size: float = TEXT) -> float:
    """About how wide ``text`` is drawn: full-width (CJK) characters a whole em, others 0.6."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))
    return size * (wide + 0.6 * (len(text) - wide))


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", extra: str = "", fill: str = MUTED
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class="chart-text" font-size="{TEXT}" fill="{fill}" '
        f'text-anchor="{anchor}"{extra}>{escape(text)}</text>'
    )


def _number(value: float, unit: str) -> str:
    text = f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
    return f"{text.removesuffix('.0')}{unit}"


def _scale(top: float) -> Callable[[float], float]:
    plot_top, plot_bottom = TOP, CHART_HEIGHT - BOTTOM

    def y(value: float) -> float:
        return plot_bottom - (value / top) * (plot_bottom - plot_top) if top else plot_bottom

    return y


def _legend(series: Sequence[Series], first_row_y: float) -> tuple[list[str], int]:
    """The legend's entries laid out in rows under the plot; and how many rows it took."""
    if len(series) < 2 and not any(s.name for s in series):
        return [], 0
    out, x, row = [], float(PAD), 0
    for one in series:
        width = 18 + text_width(one.name)
        if x + width > WIDTH - 8 and x > PAD:
            row, x = row + 1, float(PAD)
        y = first_row_y + row * LEGEND
        dash = ' stroke-dasharray="5 3"' if one.css != "s1" else ""
        out.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" class="bar {one.css}"/>'
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 12:.1f}" y2="{y - 4:.1f}" '
            f'class="line {one.css}" stroke-width="2"{dash}/>' + _text(x + 16, y, one.name)
        )
        x += width + 14
    return out, row + 1


def _frame(
    label: str,
    top: float,
    unit: str,
    series: Sequence[Series],
    body: list[str],
    *,
    x_label: str = "",
    y_label: str = "",
    ticks: Sequence[float] | None = None,
) -> Markup:
    """The chart around ``body``: title, grid with labelled y ticks (0 always), the zero line,
    the axis labels and the legend under it all."""
    y = _scale(top)
    plot_bottom = CHART_HEIGHT - BOTTOM
    grid = []
    for value in ticks if ticks is not None else (0.0, top / 2, top):
        grid.append(
            f'<line x1="{PAD}" y1="{y(value):.1f}" x2="{WIDTH - PAD}" y2="{y(value):.1f}" '
            f'class="grid" stroke="{GRID}" stroke-width="1"/>'
            + _text(PAD - 6, y(value) + 4, _number(value, unit), anchor="end")
        )
    # The zero line: the x axis, drawn darker than the grid.
    grid.append(
        f'<line x1="{PAD}" y1="{plot_bottom}" x2="{WIDTH - PAD}" y2="{plot_bottom}" '
        f'class="axis zero" stroke="{INK}" stroke-width="1.5"/>'
        f'<line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{plot_bottom}" class="axis" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    if y_label:
        middle = (TOP + plot_bottom) / 2
        grid.append(
            _text(
                16, middle, y_label, anchor="middle", extra=f' transform="rotate(-90 16 {middle})"'
            )
        )
    if x_label:
        grid.append(_text((PAD + WIDTH - PAD) / 2, CHART_HEIGHT - 6, x_label, anchor="middle"))
    legend, rows = _legend(series, CHART_HEIGHT + 18)
    height = CHART_HEIGHT + rows * LEGEND + (8 if rows else 0)
    title = (
        f'<text x="{WIDTH / 2}" y="22" class="chart-title" font-size="{TITLE}" '
        f'font-weight="600" fill="{INK}" text-anchor="middle">{escape(label)}</text>'
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" font-family="sans-serif">'
        f"<title>{escape(label)}</title>{title}{''.join(grid)}{''.join(body)}"
        f"{''.join(legend)}</svg>"
    )
    return Markup(svg)  # noqa: S704 (numbers we computed and escaped text only)


def step_chart(
    points: Sequence[tuple[datetime, int]],
    label: str,
    now: datetime,
    *,
    start_text: str | None = None,
    end_text: str = "today",
    x_label: str = "",
    y_label: str = "",
) -> Markup:
    """On hand over time as a step line (stock changes in steps, not slopes), from the first
    known point to ``now``: no line is drawn where nothing is known.

    ``start_text`` and ``end_text`` name the axis ends (the caller translates them); the start
    defaults to the first point's ISO day."""
    if not points:
        return Markup("")
    start = points[0][0].timestamp()
    first_day = start_text or f"{points[0][0]:%Y-%m-%d}"
    span = max(now.timestamp() - start, 1.0)
    top = float(max(max(value for _, value in points), 1))
    y = _scale(top)

    def x(when: float) -> float:
        return PAD + (when - start) / span * (WIDTH - 2 * PAD)

    path = [f"M{x(start):.1f},{y(points[0][1]):.1f}"]
    for when, value in points[1:]:
        path.append(f"H{x(when.timestamp()):.1f}V{y(value):.1f}")
    path.append(f"H{x(now.timestamp()):.1f}")
    axis_y = CHART_HEIGHT - BOTTOM + 18
    body = [
        f'<path d="{"".join(path)}" class="line" fill="none" stroke-width="2"/>',
        _text(PAD, axis_y, first_day),
        _text(WIDTH - PAD, axis_y, end_text, anchor="end"),
    ]
    whole = [0.0, float(round(top / 2)), top] if top >= 2 else [0.0, top]
    return _frame(label, top, "", [], body, x_label=x_label, y_label=y_label, ticks=whole)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    *,
    unit: str = "",
    top: float | None = None,
    x_label: str = "",
    y_label: str = "",
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
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{top_y - 3:.1f}" class="chart-value" '
                f'font-size="{TEXT}" fill="{INK}" text-anchor="middle">{shown}</text>'
            )
        body.append(
            _text(PAD + (index + 0.5) * slot, CHART_HEIGHT - BOTTOM + 18, category, anchor="middle")
        )
    return _frame(label, top, unit, series, body, x_label=x_label, y_label=y_label)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    label: str,
    *,
    unit: str = "",
    top: float | None = None,
    target: float | None = None,
    target_label: str = "target",
    x_label: str = "",
    y_label: str = "",
) -> Markup:
    """Lines through one point per category; gaps where a value is None; an optional target,
    drawn dashed and labelled ``target_label`` and its value at the right end."""
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
        name = f"{target_label} {_number(target, unit)}"
        body.append(
            f'<line x1="{PAD}" y1="{y(target):.1f}" x2="{WIDTH - PAD}" y2="{y(target):.1f}" '
            f'class="target" stroke="#b91c1c" stroke-dasharray="4 3">'
            f"<title>{escape(name)}</title></line>"
            + _text(WIDTH - PAD - 4, y(target) - 5, name, anchor="end", fill="#b91c1c")
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
                f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3.5" class="dot {one.css}">'
                f"<title>{escape(one.name)}, {escape(categories[index])}: "
                f"{escape(_number(value, unit))}</title></circle>"
            )
        if path:
            dash = ' stroke-dasharray="6 3"' if one.css != "s1" else ""
            body.insert(
                0,
                f'<path d="{"".join(path)}" class="line {one.css}" fill="none" '
                f'stroke-width="2"{dash}/>',
            )
    for index, category in enumerate(categories):
        body.append(_text(x(index), CHART_HEIGHT - BOTTOM + 18, category, anchor="middle"))
    return _frame(label, top, unit, series, body, x_label=x_label, y_label=y_label)


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
