"""The desk queue with every kind of case, its filters and search, and the follow-up calls, in
a real browser (Debian's Chromium, driven by Playwright) against spareflow running as a real
process with the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.stack import call, start_stack
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("cases"), with_scheduler=False)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def kinds_shown(page: Any) -> set[str]:
    return {text.strip() for text in page.locator("#rmas tbody td.kind").all_inner_texts()}


def test_the_desk_queue_filters_kinds_and_searches(page: Any, stack: dict[str, Any]) -> None:
    complaints = call(stack, "desk", "GET", "/api/v1/cases?kind=complaint").json()["items"]
    open_complaints = [c for c in complaints if c["status"] != "closed"]
    sign_in(page, stack, "desk")
    page.goto(f"{stack['app']}/returns")
    assert kinds_shown(page) == {"return", "enquiry", "complaint"}

    # Choosing a kind submits the filter by itself (spareflow.js, data-autosubmit).
    page.select_option("#filter-kind", "complaint")
    page.wait_for_url("**/returns?*kind=complaint*")
    assert kinds_shown(page) == {"complaint"}
    assert page.locator("#rmas tbody tr").count() == len(open_complaints)

    priority = open_complaints[0]["priority"]
    page.select_option("#filter-priority", priority)
    page.wait_for_url(f"**priority={priority}*")
    numbers = set(page.locator("#rmas tbody td:first-child a").all_inner_texts())
    assert numbers == {c["rma_number"] for c in open_complaints if c["priority"] == priority}

    # The search box finds a case by its order number, whatever the filters were.
    page.click("#clear-filters")
    page.fill("#queue-search", "so-1003")
    page.press("#queue-search", "Enter")
    page.wait_for_url("**q=so-1003*")
    [hannah] = [c for c in open_complaints if c["customer_email"].startswith("hannah")]
    found = page.locator("#rmas tbody td:first-child a").all_inner_texts()
    assert hannah["rma_number"] in found
    assert set(kinds_shown(page)) <= {"complaint", "return"}  # the enquiries have no order
    assert len(found) < len(call(stack, "desk", "GET", "/api/v1/returns?limit=100").json()["items"])

    # The case's page, and an enquiry answered from it.
    page.click(f"text={hannah['rma_number']}")
    assert "late delivery" in page.locator("#root-cause").inner_text()
    assert page.locator("#convert-link").count() == 1


def test_the_follow_up_queue_records_a_call(page: Any, stack: dict[str, Any]) -> None:
    due = call(stack, "desk", "GET", "/api/v1/cases/followups").json()
    overdue = [f for f in due if f["overdue"]]
    assert overdue
    first = overdue[0]
    sign_in(page, stack, "desk")
    page.goto(f"{stack['app']}/returns")
    page.click("#followups-link")
    row = page.locator(f"tr[data-followup='{first['id']}']")
    assert "overdue" in (row.get_attribute("class") or "")
    assert page.locator("#followups tbody tr").count() == len(due)
    row.locator("select[name=outcome]").select_option("reached")
    row.locator("select[name=satisfaction]").select_option("4")
    row.locator("textarea[name=notes]").fill("Works now")
    row.locator("button").click()
    page.wait_for_load_state()
    assert page.locator(f"tr[data-followup='{first['id']}']").count() == 0
    assert "call recorded" in page.locator("body").inner_text()
    page.click("#show-done")
    done = page.locator(f"tr[data-followup='{first['id']}']")
    assert "reached · 4/5 · Works now" in done.inner_text()
