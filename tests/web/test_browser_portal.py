"""The returns portal in a real browser (Debian's Chromium, driven by Playwright) on a phone
(390 x 844), in English and in Chinese: from the order to the authorised return, and the page
never scrolls sideways. Against spareflow running as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.processes import free_port, spareflow_command
from core.addresses import PostalAddress
from core.clock import SystemClock
from core.db import make_engine, make_session_factory
from inventory.services import InventoryService
from inventory.status import LocationKind
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.orders import Orders
from tests.support.processes import running, spareflow, spareflow_env
from tests.web.test_browser import browser  # noqa: F401 - the shared Chromium fixture

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("portal")
    port = free_port()
    env = {
        **spareflow_env(tmp_path),
        "SPAREFLOW_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SPAREFLOW_CARRIERS_SANDBOX": "true",
        # Small returns are authorised at once, with a prepaid label from the sandbox.
        "SPAREFLOW_RETURNS_AUTO_AUTHORISE_LIMIT_MINOR": "20000",
        "SPAREFLOW_RETURNS_CARRIER": "sandbox",
    }
    spareflow(env, "db", "upgrade")
    engine = make_engine(env["DATABASE_URL"])
    session_factory = make_session_factory(engine)
    inventory = InventoryService(session_factory, SystemClock())
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    inventory.create_part(sku="PRT-FAN", name="Cooling fan 80mm")
    orders = Orders(session_factory, SystemClock())
    for number in ("#B-EN", "#B-ZH"):
        orders.upsert(order(number))
    engine.dispose()
    with running(spareflow_command("serve", "--port", str(port)), env, port) as url:
        yield {"app": url}


def order(number: str) -> UpsertOrder:
    shipped = datetime.now(UTC) - timedelta(days=5)
    return UpsertOrder(
        number=number,
        channel="web",
        customer=OrderCustomer(
            "Li Wei",
            "li.wei@example.com",
            "+86 138 0000 0000",
            PostalAddress(
                name="Li Wei", street="1 Road", city="Shanghai", postcode="200000", country="CN"
            ),
        ),
        ordered_at=shipped,
        shipped_at=shipped,
        payment_reference=f"pi_{number[1:]}",
        currency="USD",
        lines=(OrderLineInput("PRT-FAN", 2, Decimal("19.90")),),
    )


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    locale = "zh-CN" if "chinese" in request.node.name else "en-GB"
    context = browser.new_context(viewport=PHONE, locale=locale, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
    )
    assert max(widths[:2]) <= widths[2], widths


def return_a_fan(page: Any, stack: dict[str, Any], number: str) -> None:
    page.goto(f"{stack['app']}/returns-portal")
    no_sideways_scroll(page)
    page.fill("input[name=order_number]", number)
    page.fill("input[name=email]", "LI.WEI@example.com")
    page.click("#find-order button")
    page.wait_for_selector("#choose")
    no_sideways_scroll(page)
    options = page.locator("select[name=qty-0] option").all_inner_texts()
    assert options == ["0", "1", "2"]  # no more than can come back
    page.select_option("select[name=qty-0]", "1")
    page.select_option("select[name=reason-0]", "defective")
    page.fill("textarea[name=description-0]", "Fan rattles")
    page.check("input[name=resolution][value=refund]")
    page.click("#send")
    page.wait_for_selector("#decision")
    no_sideways_scroll(page)
    assert page.locator("#label").is_visible()
    assert page.locator("#qr svg").is_visible()
    assert "1 Dock Road" in page.locator("#return-address").inner_text()
    assert "/status/" in (page.locator("#status-link").get_attribute("href") or "")


def test_a_customer_returns_a_part_on_a_phone_in_english(phone: Any, stack: dict[str, Any]) -> None:
    return_a_fan(phone, stack, "#B-EN")
    assert phone.locator("html").get_attribute("lang") == "en"
    assert "is authorised" in phone.locator("#decision h2").inner_text()


def test_a_customer_returns_a_part_on_a_phone_in_chinese(phone: Any, stack: dict[str, Any]) -> None:
    return_a_fan(phone, stack, "#B-ZH")
    assert phone.locator("html").get_attribute("lang") == "zh-Hans"
    assert phone.locator("#languages strong").inner_text() == "中文"
    # The status page it links to opens, in the customer's language.
    phone.click("#status-link")
    phone.wait_for_selector("#steps")
    assert phone.locator("html").get_attribute("lang") == "zh-Hans"
    no_sideways_scroll(phone)
