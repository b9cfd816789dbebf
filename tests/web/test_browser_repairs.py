"""The repair order page in a real browser (Debian's Chromium, driven by Playwright) on a
phone-sized screen, against spareflow running as real processes: a technician opens the
repair, a part is short and the order waits, the part arrives and is taken, labour and the
test are booked, and the repaired unit ships back, closing the return."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.stack import call, start_stack, stock_part
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.web.test_browser_journeys import sign_in

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("repairs"), with_scheduler=False)


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def test_a_technician_repairs_a_unit_on_the_phone_waiting_for_a_short_part(
    phone: Any, stack: dict[str, Any]
) -> None:
    stock_part(stack, "REP-FAN", 1)
    part = {"sku": "REP-CAP", "name": "Capacitor 10uF", "unit_cost": "0.40"}
    assert call(stack, "admin", "POST", "/api/v1/parts", json=part).status_code == 201
    number = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Chen Jing", "email": "chen@example.com"},
            "channel": "phone",
            "reason": "defective",
            "resolution": "repair",
            "lines": [{"sku": "REP-FAN", "qty": 1, "unit_price": "19.00"}],
        },
    ).json()["rma_number"]
    call(
        stack,
        "desk",
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXREPB1"},
    )
    received = call(
        stack,
        "warehouse",
        "POST",
        f"/api/v1/returns/{number}/receive",
        json={"lines": [{"sku": "REP-FAN", "qty": 1}]},
    )
    assert received.status_code == 200, received.text

    sign_in(phone, stack, "warehouse")
    phone.goto(f"{stack['app']}/returns/{number}")
    phone.fill("#repair-open textarea[name='open-diagnosis']", "Fan board capacitor bulged")
    phone.click("#repair-open button")
    phone.wait_for_selector("#repair-facts")
    assert phone.locator("#repair-diagnosis").inner_text() == "Fan board capacitor bulged"

    phone.fill("#repair-part input[name='part-sku']", "REP-CAP")
    phone.fill("#repair-part input[name='part-qty']", "2")
    phone.click("#repair-part button")
    phone.wait_for_selector("#repair-waiting")
    assert "REP-CAP" in phone.locator("#repair-waiting").inner_text()
    assert phone.locator("#repair-state").inner_text().lower() == "waiting for parts"
    assert phone.locator("#repair-test-form").count() == 0  # no test while parts are missing

    receipt = {"sku": "REP-CAP", "location": "MAIN/A-01-01", "qty": 5}
    assert call(stack, "warehouse", "POST", "/api/v1/stock/receipts", json=receipt).is_success
    phone.click("#repair-retry button")
    phone.wait_for_selector("#repair-parts tr.part-issued")
    assert phone.locator("#repair-waiting").count() == 0
    assert phone.locator("#repair-state").inner_text().lower() == "in repair"

    phone.fill("#repair-labour-form input[name='labour-minutes']", "35")
    phone.click("#repair-labour-form button")
    phone.wait_for_selector("#repair-labour >> text=35 minutes")
    phone.select_option("#repair-test-form select", "passed")
    phone.fill("#repair-test-form textarea", "Ran two hours, quiet")
    phone.click("#repair-test-form button")
    phone.wait_for_selector("#repair-ship")
    phone.fill("#repair-ship input[name='ship-carrier']", "sandbox")
    phone.fill("#repair-ship input[name='ship-tracking_number']", "SBXREPB2")
    phone.click("#repair-ship button")
    phone.wait_for_selector("#repair-shipped")
    assert phone.locator("#state").inner_text().lower() == "closed"
    assert phone.locator("#repair-state").inner_text().lower() == "shipped"
    # The repair section fits the phone's width.
    box = phone.locator("#repair").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    stock = call(stack, "warehouse", "GET", "/api/v1/stock/REP-CAP").json()
    assert stock["on_hand"] == 3
