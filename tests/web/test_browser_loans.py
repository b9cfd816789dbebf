"""The loan pool in a real browser (Debian's Chromium, driven by Playwright) against spareflow
running as a real process, with the demo data: a loaner out and one overdue; the desk lends
another from the RMA page, the warehouse takes one back, a supervisor writes one off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_skeleton

from tests.web.stack import call, start_stack
from tests.web.test_browser import browser, expect  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("loans"), with_scheduler=False)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_the_loan_pool_shows_loaners_out_and_overdue_and_takes_them_back(
    page: Any, stack: dict[str, Any]
) -> None:
    out = call(stack, "desk", "GET", "/api/v1/loans?status=out").json()
    [overdue] = call(stack, "desk", "GET", "/api/v1/loans?status=overdue").json()
    assert len(out) == 2 and overdue["serial"] == "LN-0002"
    repair = next(loan for loan in out if not loan["overdue"])

    # The desk lends the pool's last unit from the RMA page.
    sign_in(page, stack, "desk")
    page.goto(f"{stack['app']}/returns/{repair['rma_number']}")
    page.fill("#lend-form input[name=sku]", repair["sku"])
    page.fill("#lend-form input[name=serial]", "LN-0003")
    page.click("#lend-form button")
    expect(page.locator("#rma-loans")).to_contain_text("LN-0003")

    page.click("#nav-loans")
    expect(page.locator("#loans tbody tr")).to_have_count(3)  # waits for the new page
    overdue_row = page.locator(f"#loan-{overdue['id']}")
    assert "overdue" in (overdue_row.get_attribute("class") or "")
    due = date.fromisoformat(overdue["due_at"][:10])
    assert format_skeleton("yMMMd", due, locale="en") in overdue_row.inner_text()
    assert page.locator(f"#write-off-{overdue['id']}").count() == 0  # supervisors only

    # Lending a fourth finds the pool empty, and says so on the RMA page.
    page.goto(f"{stack['app']}/returns/{repair['rma_number']}")
    page.fill("#lend-form input[name=sku]", repair["sku"])
    page.click("#lend-form button")
    expect(page.locator("body")).to_contain_text("No " + repair["sku"])

    page.goto(f"{stack['app']}/loans")
    page.click(f"#return-{repair['id']} button")
    expect(page.locator("#loans tbody tr")).to_have_count(2)
    page.goto(f"{stack['app']}/loans?status=returned")
    assert page.locator(f"#loan-{repair['id']}").count() == 1

    # A supervisor writes off the overdue one, with a reason.
    page.context.clear_cookies()
    sign_in(page, stack, "admin")
    page.goto(f"{stack['app']}/loans?status=overdue")
    page.fill(f"#write-off-{overdue['id']} input[name=reason]", "Customer unreachable")
    page.click(f"#write-off-{overdue['id']} button")
    expect(page.locator(f"#loan-{overdue['id']}")).to_have_count(0)
    gone = call(stack, "admin", "GET", f"/api/v1/loans/{overdue['id']}").json()
    assert (gone["status"], gone["reason"]) == ("written_off", "Customer unreachable")
    moves = call(stack, "admin", "GET", f"/api/v1/stock/{repair['sku']}/moves").json()
    references = [move.get("reference") for move in moves.get("items", moves)]
    assert f"LOAN-{overdue['id']}" in references
