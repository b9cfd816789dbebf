"""Small charts drawn on the server as SVG: no JavaScript, no CDN, prints well."""

from __future__ import annotations

from collections.abc import Sequence
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
