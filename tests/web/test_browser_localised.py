"""Chinese pages in a real browser (Debian's Chromium, Playwright) against the demo server:
dates and durations in Babel's formats, no raw state codes, and charts that are titled,
labelled, legible and keep their legends inside the picture (issue #21)."""

from __future__ import annotations

import re
from typing import Any

from tests.web.test_browser import browser, demo_url, expect, page, sign_in  # noqa: F401 - fixtures

ISO_MINUTE = re.compile(r"\b20\d\d-\d\d-\d\d \d\d:\d\d\b")
RAW_CODES = re.compile(r"\b(?:picked_up|in_transit|awaiting_pickup|out_for_delivery|pre_transit)\b")


def _in_chinese(page: Any, base_url: str) -> None:  # noqa: F811
    sign_in(page, base_url, "admin@demo.spareflow", "demo-admin-pass")
    page.wait_for_selector("#language-form select[name=language]")
    with page.expect_navigation():
        page.select_option("#language-form select[name=language]", "zh_Hans")  # submits itself
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


def _visible_text(page: Any) -> str:  # noqa: F811
    return str(page.inner_text("main") if page.locator("main").count() else page.inner_text("body"))


def test_chinese_desk_pages_show_localised_dates_and_durations_and_no_raw_codes(
    page: Any,  # noqa: F811
    demo_url: str,  # noqa: F811
) -> None:
    _in_chinese(page, demo_url)
    page.goto(f"{demo_url}/returns")
    queue = _visible_text(page)
    assert not ISO_MINUTE.search(queue), ISO_MINUTE.search(queue)
    assert not RAW_CODES.search(queue), RAW_CODES.search(queue)
    assert re.search(r"\d+(小时|分钟)", queue)  # desk time left, in Chinese units
    assert " h " not in queue and " min" not in queue
    first = page.locator("a[href*='/returns/RMA-']").first.get_attribute("href")
    page.goto(f"{demo_url}{first}")
    detail = _visible_text(page)
    assert not ISO_MINUTE.search(detail), ISO_MINUTE.search(detail)
    assert not RAW_CODES.search(detail), RAW_CODES.search(detail)
    assert re.search(r"20\d\d年\d{1,2}月\d{1,2}日", detail)


def test_chinese_charts_are_titled_labelled_legible_and_keep_their_legends_inside(
    page: Any,  # noqa: F811
    demo_url: str,  # noqa: F811
) -> None:
    _in_chinese(page, demo_url)
    page.goto(f"{demo_url}/metrics")
    page.wait_for_selector("#chart-what-if svg")
    for chart in ("#chart-refund-trend svg", "#chart-what-if svg", "#chart-distribution svg"):
        facts = page.evaluate(
            """(selector) => {
                const svg = document.querySelector(selector);
                const box = svg.getBoundingClientRect();
                const scale = box.width / svg.viewBox.baseVal.width;
                const texts = [...svg.querySelectorAll('text')];
                return {
                    title: svg.querySelector('.chart-title')?.textContent || '',
                    smallest: Math.min(...texts.map(t =>
                        parseFloat(getComputedStyle(t).fontSize))),
                    outside: texts.filter(t => {
                        const r = t.getBoundingClientRect();
                        return r.right > box.right + 1 || r.left < box.left - 1
                            || r.bottom > box.bottom + 1;
                    }).map(t => t.textContent),
                    scale,
                };
            }""",
            chart,
        )
        assert facts["title"], chart
        assert facts["smallest"] >= 12, (chart, facts)
        assert facts["outside"] == [], (chart, facts)
    trend = page.inner_text("#chart-refund-trend")
    assert not re.search(r"\b\d\d-\d\d\b", trend)  # week starts in the locale's short form
