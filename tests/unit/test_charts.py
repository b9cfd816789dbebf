"""The server-drawn SVG charts of the metrics page and the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from web.charts import (
    BOTTOM,
    CHART_HEIGHT,
    TOP,
    WIDTH,
    Series,
    bar_chart,
    line_chart,
    step_chart,
    text_width,
)


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
    # The plot is CHART_HEIGHT - BOTTOM (labels) - TOP (title) tall:
    # 6.0 fills it, 1.5 a quarter, 1.0 a sixth.
    plot = CHART_HEIGHT - BOTTOM - TOP
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


def _texts(svg: str) -> list[tuple[float, float, str, str]]:
    """Every text: x, y, its font size and what it says."""
    return [
        (float(x), float(y), size, text)
        for x, y, size, text in re.findall(
            r'<text x="([^"]+)" y="([^"]+)"[^>]*font-size="(\d+)"[^>]*>([^<]*)</text>', svg
        )
    ]


def test_a_chart_is_titled_labels_both_axes_and_the_zero_line_and_names_its_target() -> None:
    svg = str(
        line_chart(
            ["9/6", "9/13"],
            [Series("by the deadline", [80.0, 95.0]), Series("within 24 h", [70.0, 90.0], "s2")],
            "First responses on time",
            unit="%",
            top=100,
            target=90,
            target_label="target",
            x_label="Week starting",
            y_label="Percent on time",
        )
    )
    texts = {text for _, _, _, text in _texts(svg)}
    assert {"First responses on time", "Week starting", "Percent on time"} <= texts
    assert {"0%", "50%", "100%"} <= texts  # the zero line and the grid are labelled
    assert "target 90%" in texts  # the dashed line says what it is
    assert 'class="axis zero"' in svg
    assert all(int(size) >= 12 for _, _, size, _ in _texts(svg))  # legible, on screen and paper
    assert 'stroke-dasharray="6 3"' in svg  # the second series is dashed: apart in black ink


def test_a_chinese_legend_wraps_inside_the_chart_instead_of_being_cut_off() -> None:
    names = [
        "退款时间：承运商揽收后立即退款（实际）",
        "如果等待仓库收货后再退款（假设）",
        "第九十百分位数",
        "平均值",
    ]
    svg = str(
        bar_chart(
            ["0-2 天", "3-5 天"],
            [Series(name, [1.0, 2.0], "s1" if i == 0 else "s2") for i, name in enumerate(names)],
            "退款完成时间",
        )
    )
    height = float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))
    legend = [(x, y, text) for x, y, _, text in _texts(svg) if text in names]
    assert len(legend) == 4
    for x, y, text in legend:
        assert x + text_width(text) <= WIDTH and y <= height  # all of it inside the picture
    assert len({y for _, y, _ in legend}) >= 2  # too wide for one row: wrapped


def test_the_step_chart_starts_at_its_first_known_point_and_labels_its_axes() -> None:
    now = datetime(2026, 9, 30, tzinfo=UTC)
    points = [(now - timedelta(days=3), 5), (now - timedelta(days=1), 2)]
    svg = str(
        step_chart(
            points,
            "On hand",
            now,
            start_text="9月27日",
            end_text="今天",
            x_label="日期",
            y_label="在库数量",
        )
    )
    (path,) = re.findall(r'<path d="([^"]+)"', svg)
    assert path.startswith("M60.0,")  # the line begins at the left edge: the first point
    texts = {text for _, _, _, text in _texts(svg)}
    assert {"On hand", "9月27日", "今天", "日期", "在库数量", "0", "5"} <= texts
