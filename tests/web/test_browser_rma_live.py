"""The RMA page and the desk queue in a real browser (Debian's Chromium, Playwright) against
spareflow running as processes: they update when the carrier scans, without a reload; the next
action is above the fold; Cancel asks in a dialog before it runs; htmx stays within the CSP.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.web.stack import call, carrier_event, start_stack, stock_part
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in

#: htmx polls every 5 s; a scan is applied within a second or two.
LIVE_TIMEOUT_MS = 25_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("rma-live"), with_scheduler=True)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.csp_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: (
            page.csp_errors.append(message.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()


def _return(stack: dict[str, Any], sku: str, tracking: str | None) -> str:
    stock_part(stack, sku, 2)
    created = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Lena Vogel", "email": "lena@example.com"},
            "payment_reference": "pi_live_1",
            "channel": "phone",
            "reason": "defective",
            "resolution": "refund",
            "lines": [{"sku": sku, "qty": 1, "unit_price": "20.00"}],
        },
    )
    assert created.status_code == 201, created.text
    number = str(created.json()["rma_number"])
    if tracking:
        authorised = call(
            stack,
            "desk",
            "POST",
            f"/api/v1/returns/{number}/authorise",
            json={"carrier": "sandbox", "tracking_number": tracking},
        )
        assert authorised.status_code == 200, authorised.text
    return number


def test_the_rma_page_and_the_queue_follow_the_carrier_without_a_reload(
    page: Any, stack: dict[str, Any]
) -> None:
    number = _return(stack, "LIVE-PSU", "SBXLIVE1")
    sign_in(page, stack, "desk")
    queue = page.context.new_page()
    queue.goto(f"{stack['app']}/returns")
    queue_row = queue.locator("#rmas tr", has_text=number)
    assert queue_row.locator("td.state").get_attribute("data-state") == "awaiting_pickup"
    queue.evaluate("window.notReloaded = true")

    page.goto(f"{stack['app']}/returns/{number}")
    assert page.locator("#state").get_attribute("data-state") == "awaiting_pickup"
    assert page.locator("#live-notice").is_hidden()
    page.evaluate("window.notReloaded = true")

    assert carrier_event(stack, "SBXLIVE1", "picked_up", datetime.now(UTC)) == 200

    page.wait_for_selector("#state[data-state=picked_up]", timeout=LIVE_TIMEOUT_MS)
    assert page.locator("#state").text_content() == "Collected by the carrier"
    assert "picked up" in page.locator("#timeline").inner_text()
    assert page.locator("#parcels .parcel-status").text_content() == "picked up"
    assert page.locator("#live-notice").is_visible()
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not reloaded

    queue.wait_for_selector(
        f"#rmas tr:has-text('{number}') td.state[data-state=picked_up]", timeout=LIVE_TIMEOUT_MS
    )
    assert queue.evaluate("window.notReloaded") is True

    # The refund the pickup released shows up the same way.
    page.wait_for_selector(
        "#refund .refund-status:text-is('released')", timeout=LIVE_TIMEOUT_MS + 20_000
    )
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_errors == [] and queue.evaluate("typeof htmx") == "object"


def test_the_next_action_is_above_the_fold_and_cancel_asks_first(
    page: Any, stack: dict[str, Any]
) -> None:
    number = _return(stack, "LIVE-FAN", None)
    sign_in(page, stack, "desk")
    page.goto(f"{stack['app']}/returns/{number}")
    primary = page.locator("#next-action button.primary")
    assert primary.inner_text() == "Authorise this return"
    box = primary.bounding_box()
    assert box and box["y"] + box["height"] <= 768, box  # visible without scrolling
    # Cancel is red, and asks in a dialog; "No" keeps the return.
    cancel = page.locator("#cancel button.danger")
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#cancel button')).backgroundColor")
        == "rgb(179, 38, 30)"
    )
    page.fill("#cancel textarea[name=reason]", "Customer kept the part")
    cancel.click()
    dialog = page.locator("#confirm-cancel")
    assert dialog.is_visible()
    dialog.locator("[data-confirm-no]").click()
    assert dialog.is_hidden()
    assert page.locator("#state").get_attribute("data-state") == "requested"
    cancel.click()
    dialog.locator("[data-confirm-yes]").click()
    page.wait_for_selector(f"text=Return {number} cancelled.")
    assert page.locator("#state").get_attribute("data-state") == "cancelled"
    assert page.csp_errors == []
