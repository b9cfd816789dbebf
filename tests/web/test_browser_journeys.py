"""People's daily work in a real browser (Debian's Chromium, driven by Playwright) against
spareflow running as real processes: the web app, its scheduler and the refunds sandbox.

Each journey saves a screenshot of its last page under test-artifacts/ (not committed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.stack import (
    call,
    carrier_event,
    refunds_at_provider,
    start_stack,
    stock_part,
    wait_for,
)
from tests.web.test_browser import browser, expect  # noqa: F401 - the shared Chromium fixture

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from start_stack(tmp_path_factory.mktemp("journeys"), with_scheduler=True)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, stack: dict[str, Any], who: str) -> None:
    page.goto(f"{stack['app']}/sign-in")
    page.fill("input[name=email]", f"{who}@demo.spareflow")
    page.fill("input[name=password]", f"demo-{who}-pass")
    page.press("input[name=password]", "Enter")
    page.wait_for_selector("details.menu")  # signed in (the menu is folded on a phone)


def test_a_warehouse_user_receives_stock_and_ships_a_replacement_by_scanning(
    page: Any,
    stack: dict[str, Any],
) -> None:
    stock_part(stack, "JRN-FAN", 1)
    created = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Aiko Tanaka", "email": "aiko@example.com"},
            "channel": "chat",
            "reason": "defective",
            "resolution": "replacement",
            "lines": [{"sku": "JRN-FAN", "qty": 1, "unit_price": "19.00"}],
        },
    ).json()
    number = created["rma_number"]
    call(
        stack,
        "desk",
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXJRN1"},
    )

    sign_in(page, stack, "warehouse")
    page.click("nav >> text=Warehouse")
    page.click("text=Receive stock")
    # The scanner types into whatever has focus: the page gives it to the first field.
    expect(page.locator("input[name=part]")).to_be_focused()
    for code in ("JRN-FAN", "MAIN/A-01-03", "4", "PO-JRN"):  # a scanner types, then sends Tab
        page.keyboard.type(code)
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Received 4 x JRN-FAN into MAIN/A-01-03.")

    page.goto(f"{stack['app']}/warehouse")
    row = page.locator("#pick-queue tr", has_text=number)
    row.locator("input[name=tracking_number]").fill("SBXOUT-JRN1")
    row.locator("button", has_text="Shipped").click()
    page.wait_for_selector(f"text=Replacement for {number} shipped.")
    stock = call(stack, "warehouse", "GET", "/api/v1/stock/JRN-FAN").json()
    assert (stock["on_hand"], stock["reserved"]) == (4, 0)  # 1 + 4 received - 1 shipped


def test_the_desk_opens_a_return_and_sees_it_refunded_after_the_pickup(
    page: Any, stack: dict[str, Any]
) -> None:
    stock_part(stack, "JRN-PSU", 2)
    sign_in(page, stack, "desk")
    page.click("nav >> text=Returns desk")
    page.click("#new-rma")
    page.fill("input[name=customer_name]", "Priya Raman")
    page.fill("input[name=customer_email]", "priya@example.com")
    page.fill("input[name=payment_reference]", "pi_browser_1")
    page.fill(
        "input[name=purchase_date]", (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    )
    page.select_option("select[name=resolution]", "refund")
    page.fill("textarea[name=description]", "No power")
    page.fill("input[name='lines-0-sku']", "JRN-PSU")
    page.fill("input[name='lines-0-qty']", "1")
    page.fill("input[name='lines-0-unit_price']", "64.50")
    page.click("text=Open the return")
    page.wait_for_selector("#authorise")
    number = page.locator("h1").inner_text().split()[0]

    page.select_option("#authorise select[name=carrier]", "sandbox")
    page.fill("#authorise input[name=tracking_number]", "SBXJRN2")
    page.click("#authorise button")
    page.wait_for_selector("#state[data-state=awaiting_pickup]")

    assert carrier_event(stack, "SBXJRN2", "picked_up", datetime.now(UTC)) == 200
    wait_for(
        lambda: (
            call(stack, "desk", "GET", f"/api/v1/returns/{number}").json()["refund"]["status"]
            == "released"
        )
    )
    page.reload()
    assert page.locator("#refund .refund-status").inner_text() == "released"
    assert "picked up" in page.locator("#timeline").inner_text()
    assert [r["amount"] for r in refunds_at_provider(stack) if r["metadata"]["rma"] == number] == [
        6450
    ]


def test_a_user_without_the_role_is_refused(page: Any, stack: dict[str, Any]) -> None:
    sign_in(page, stack, "buyer")
    assert page.locator("nav >> text=Returns desk").count() == 0
    response = page.goto(f"{stack['app']}/returns/new")
    assert response.status == 403
    assert "This page is for these roles" in page.content()
    response = page.goto(f"{stack['app']}/warehouse")
    assert response.status == 403


def test_a_buyer_downloads_the_reorder_sheet_edits_it_and_uploads_it_as_orders(
    page: Any,
    stack: dict[str, Any],
    tmp_path: Path,
) -> None:
    import openpyxl

    from tests.support.purchasing_scenarios import row_of

    sign_in(page, stack, "buyer")
    page.click("nav a:text-is('Reorder')")
    with page.expect_download() as download:
        page.click("#download")
    sheet_path = tmp_path / "reorder.xlsx"
    download.value.save_as(sheet_path)

    book = openpyxl.load_workbook(sheet_path)
    supplier_sheets = [ws for ws in book.worksheets if ws.title != book.worksheets[0].title]
    sheet = next(ws for ws in supplier_sheets if ws.max_row > 2)
    sku = sheet.cell(row=2, column=1).value
    sheet.cell(row=row_of(sheet, sku), column=13).value = 7  # the buyer's own quantity
    book.save(sheet_path)

    page.set_input_files("#upload input[type=file]", str(sheet_path))
    page.click("#upload button")
    page.wait_for_selector("text=Draft purchase orders created")
    page.click("nav a:text-is('Purchase orders')")
    page.wait_for_selector("table >> text=draft")
    orders = call(stack, "admin", "GET", "/api/v1/purchase-orders?status=draft&limit=200").json()
    lines = []
    for order in orders["items"]:
        detail = call(stack, "admin", "GET", f"/api/v1/purchase-orders/{order['number']}").json()
        lines += [(line["sku"], line["qty_ordered"]) for line in detail["lines"]]
    assert (sku, 7) in lines


def test_a_customer_follows_their_return_from_the_link_in_the_authorisation_email(
    page: Any,
    stack: dict[str, Any],
) -> None:
    stock_part(stack, "JRN-CHG", 2)
    created = call(
        stack,
        "desk",
        "POST",
        "/api/v1/returns",
        json={
            "customer": {"name": "Sam Okafor", "email": "sam@example.com"},
            "channel": "email",
            "reason": "defective",
            "resolution": "refund",
            "payment_reference": "pi_journey_sam",
            "lines": [{"sku": "JRN-CHG", "qty": 1, "unit_price": "42.00"}],
        },
    ).json()
    number = created["rma_number"]
    authorised = call(
        stack,
        "desk",
        "POST",
        f"/api/v1/returns/{number}/authorise",
        json={"carrier": "sandbox", "tracking_number": "SBXSAM1"},
    )
    assert authorised.status_code == 200, authorised.text

    def authorisation_email() -> Any:
        for message in list(stack["mail"].messages):
            if number in str(message["Subject"]) and "authorised" in str(message["Subject"]):
                return message
        return None

    wait_for(lambda: authorisation_email() is not None)  # the scheduler sends it
    text = authorisation_email().get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(rf"{re.escape(stack['app'])}/status/\S+", text)

    page.goto(link)
    assert page.locator("h1").inner_text() == f"Return {number}"
    assert page.locator(".steps li.current").inner_text() == "Return authorised"
    assert "released as soon as the carrier collects your parcel" in page.inner_text("#refund")

    assert carrier_event(stack, "SBXSAM1", "picked_up", datetime.now(UTC)) == 200

    def refunded() -> bool:
        page.reload()
        return "released" in page.inner_text("#refund") and "42.00 USD" in page.inner_text(
            "#refund"
        )

    wait_for(refunded)
    assert page.locator(".steps li.current").inner_text() == "Parcel with the carrier"
    with page.context.expect_page() as sheet_tab:
        page.click("#sheet")
    sheet = sheet_tab.value
    sheet.wait_for_load_state()
    assert sheet.locator("h1").inner_text() == f"Return {number}"
    assert sheet.locator("#qr svg").count() == 1
    assert "LS1 1AA" in sheet.inner_text("#return-address")
    sheet.close()
    # A tampered link shows nothing of the return.
    page.goto(link[:-4] + "abcd")
    assert number not in page.content()
