"""The server-drawn SVG charts of the metrics page and the dashboard."""

from __future__ import annotations

import re

from web.charts import CHART_HEIGHT, Series, bar_chart, line_chart


def test_a_bar_chart_draws_one_bar_per_value_scaled_to_the_highest() -> None:
    svg = str(
        bar_chart(
            ["mean", "median"],
            [Series("actual", [1.5, 1.0], "s1"), Series("what-if", [6.0, None], "s2")],
            "Refund time <days>",
            unit=" d",
        )
    )
    assert svg.startswith('<svg class="chart"')
    assert 'aria-label="Refund time &lt;days&gt;"' in svg  # labels are escaped
    # Bars carry a tooltip (<title>); the legend's swatches are empty rects.
    bars = re.findall(
        r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" class="bar s\d">', svg
    )
    assert len(bars) == 3  # None draws nothing
    heights = sorted(float(h) for _, h in bars)
    # The plot is CHART_HEIGHT - 34 (labels) - 28 - 16 (padding, legend) = 122 px tall:
    # 6.0 fills it, 1.5 a quarter, 1.0 a sixth.
    plot = CHART_HEIGHT - 34 - 28 - 16
    assert heights == [
        round(plot / 6, 1),
        round(plot / 4, 1),
        round(plot, 1),
    ]
    assert ">6 d</text>" in svg and ">1.5 d</text>" in svg
    assert "what-if, median" not in svg


def test_a_line_chart_breaks_its_line_where_a_value_is_missing_and_draws_the_target() -> None:
    svg = str(
        line_chart(
            ["w1", "w2", "w3", "w4"],
            [Series("within 24 h", [80.0, None, 95.0, 100.0])],
            "Responses",
            unit="%",
            top=100,
            target=90,
        )
    )
    (path,) = re.findall(r'<path d="([^"]+)"', svg)
    assert path.count("M") == 2 and path.count("L") == 1  # w1 alone, then w3 to w4
    assert svg.count("<circle") == 3
    assert 'class="target"' in svg


def test_no_data_draws_no_chart() -> None:
    assert str(bar_chart([], [Series("a", [])], "x")) == ""
    assert str(line_chart(["w1"], [], "x")) == ""
