"""The knowledge base in a real browser (Debian's Chromium, driven by Playwright) against
spareflow running as a real process with the demo data (demo/knowledge.py): suggestions as the
desk types a return, a Chinese search, an edit kept in the revision history, and the portal's
"try this first" with its "this solved it" counted as a deflection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.stack import call, start_stack
from tests.web.test_browser import browser, expect  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("knowledge"), with_scheduler=False)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_the_desk_is_offered_known_faults_searches_in_chinese_and_edits_with_history(
    page: Any, stack: dict[str, Any]
) -> None:
    [fan] = call(stack, "desk", "GET", "/api/v1/parts?category=Cooling&limit=1").json()["items"]
    sign_in(page, stack, "desk")

    # Typing the part and the fault on the intake form brings up the known faults.
    page.goto(f"{stack['app']}/returns/new")
    page.fill("input[name='lines-0-sku']", fan["sku"])
    page.fill("textarea[name='description']", "the fan rattles")
    suggestion = page.locator("#kb-suggestions li").first
    suggestion.wait_for()
    assert "Fan rattles or buzzes after fitting" in suggestion.inner_text()

    # A Chinese search without spaces finds the Chinese article first.
    page.click("#nav-knowledge")
    page.fill("#knowledge-search input[name=q]", "风扇噪音")
    page.click("#knowledge-search button")
    first = page.locator("#articles tbody tr").first
    assert first.locator("a").inner_text() == "风扇有噪音或嗡嗡声"

    # An edit is a new revision; the history keeps the old title.
    first.locator("a").click()
    page.click("#edit-article")
    page.fill("input[name=title]", "风扇有噪音（开机时）")
    page.fill("input[name=note]", "标题更具体")
    page.click("#save-article")
    expect(page.locator("h1")).to_have_text("风扇有噪音（开机时）")  # the article's page again
    history = page.locator("#revisions tbody tr")
    expect(history).to_have_count(2)
    assert "风扇有噪音或嗡嗡声" in history.nth(1).inner_text()
    assert "标题更具体" in history.nth(0).inner_text()


def test_the_portal_offers_try_this_first_and_counts_this_solved_it(
    page: Any, stack: dict[str, Any]
) -> None:
    before = call(stack, "desk", "GET", "/api/v1/metrics/knowledge").json()
    page.goto(f"{stack['app']}/returns-portal?lang=en")
    page.fill("input[name=order_number]", "SO-1001")
    page.fill("input[name=email]", "mia.chen@example.com")
    page.locator("#find-order button[type=submit]").click()
    tips = page.locator("#try-first details")
    tips.first.wait_for()
    assert "Battery pack does not charge past 80%" in page.locator("#try-first").inner_text()
    tips.first.locator("summary").click()
    tips.first.locator("button.solved-it").click()
    page.locator("#kb-solved").wait_for()
    assert page.locator("#choose").count() == 1  # the return can still be sent
    after = call(stack, "desk", "GET", "/api/v1/metrics/knowledge").json()
    assert after["solved_on_portal"] == before["solved_on_portal"] + 1
    assert after["requests"] == before["requests"] + 1
