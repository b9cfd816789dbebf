"""The desk queue with owners in a real browser (Debian's Chromium, driven by Playwright)
against spareflow running as a real process with the demo data: the queue shows each case's
owner, the desk takes one from the case page, writes an internal note, and finds it under
"Mine"; the shifts page shows the hours nobody covers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.stack import call, start_stack
from tests.web.test_browser import browser, expect  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in
from tests.web.test_browser_loans import page  # noqa: F401 - a page per test, screenshot kept


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("owners"), with_scheduler=False)


def test_the_desk_sees_owners_on_the_queue_takes_a_case_and_finds_it_under_mine(
    page: Any,  # noqa: F811 - the fixture imported above
    stack: dict[str, Any],
) -> None:
    sign_in(page, stack, "desk")
    page.goto(f"{stack['app']}/returns")
    owners = page.locator("#rmas tbody td.owner").all_inner_texts()
    assert owners and all(text.strip() for text in owners)  # every open case has an owner
    # The first case not already the desk user's own: take it from its page.
    row = page.locator("#rmas tbody tr", has_not_text="Demo service desk").first
    number = row.locator("td a").first.inner_text()
    row.locator("td a").first.click()
    assert "Demo service desk" not in page.locator("#owner-name").inner_text()
    page.click("#take button")
    expect(page.locator("#owner-name")).to_contain_text("Demo service desk")
    expect(page.locator("#take")).to_have_count(0)  # one's own case offers no "take"

    page.fill("#add-note textarea", "Customer prefers a call after 18:00")
    page.click("#add-note button")
    expect(page.locator("#internal-notes")).to_contain_text("after 18:00")
    owner = call(stack, "desk", "GET", f"/api/v1/returns/{number}/owner").json()
    assert owner["owner_name"] == "Demo service desk"

    page.goto(f"{stack['app']}/returns")
    page.select_option("#owner-filter", "mine")
    page.wait_for_url("**owner=mine**")
    mine = page.locator("#rmas tbody tr td:first-child a").all_inner_texts()
    assert number in mine
    assert set(page.locator("#rmas tbody td.owner").all_inner_texts()) == {"Demo service desk"}

    page.click("text=Shifts")
    expect(page.locator("#people tbody tr")).to_have_count(5)
    assert "Fri 17:00-Mon 00:00" in page.locator("#uncovered-hours").inner_text()
