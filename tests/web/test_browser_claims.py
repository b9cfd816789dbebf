"""A buyer takes a supplier claim to the end in a real browser (Debian's Chromium, driven by
Playwright) against spareflow running as a real process: the claims list per supplier, the
claim page's actions (shipped, acknowledged, credited), the export, and the metrics page."""

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
    yield from start_stack(tmp_path_factory.mktemp("claims"), with_scheduler=False)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def a_claim(stack: dict[str, Any], sku: str, tracking: str) -> int:
    """A part of supplier CLM back from a customer and dispositioned *return to vendor*."""
    ok(call(stack, "admin", "POST", "/api/v1/suppliers", json={"code": "CLM", "name": "Claimco"}))
    ok(
        call(
            stack,
            "admin",
            "POST",
            "/api/v1/parts",
            json={"sku": sku, "name": "Pump", "unit_cost": "30.00", "supplier": "CLM"},
        )
    )
    number = ok(
        call(
            stack,
            "desk",
            "POST",
            "/api/v1/returns",
            json={
                "customer": {"name": "Lin Wei", "email": "lin@example.com"},
                "channel": "email",
                "reason": "defective",
                "resolution": "refund",
                "payment_reference": "pi_claim_browser",
                "description": "Pump leaks",
                "lines": [{"sku": sku, "qty": 1, "unit_price": "59.00"}],
            },
        )
    )["rma_number"]
    ok(
        call(
            stack,
            "desk",
            "POST",
            f"/api/v1/returns/{number}/authorise",
            json={"carrier": "sandbox", "tracking_number": tracking},
        )
    )
    ok(
        call(
            stack,
            "warehouse",
            "POST",
            f"/api/v1/returns/{number}/receive",
            json={"lines": [{"sku": sku, "qty": 1}]},
        )
    )
    detail = ok(
        call(
            stack,
            "warehouse",
            "POST",
            f"/api/v1/returns/{number}/inspect",
            json={"lines": [{"sku": sku, "disposition": "return_to_vendor"}]},
        )
    )
    [claim] = detail["supplier_claims"]
    return int(claim["id"])


def test_a_buyer_ships_a_claim_to_its_vendor_and_records_the_credit(
    page: Any, stack: dict[str, Any]
) -> None:
    claim_id = a_claim(stack, "CLM-PUMP", "SBXCLM1")
    sign_in(page, stack, "buyer")
    page.click("nav >> text=Supplier claims")
    page.select_option("select[name=supplier]", "CLM")
    page.click("#claim-filters button[type=submit]")
    row = page.locator("#claims tbody tr", has_text="CLM-PUMP")
    assert row.locator(".status").inner_text() == "open"
    assert "supplier=CLM" in (page.get_attribute("#export", "href") or "")
    row.locator("a").first.click()

    page.fill("#ship input[name=carrier]", "sandbox")
    page.fill("#ship input[name=tracking_number]", "SBXVENDOR-CLM1")
    page.click("#ship button")
    page.wait_for_selector("#status:text('shipped to vendor')")
    assert "SBXVENDOR-CLM1" in page.inner_text("#parcel")

    page.fill("#acknowledge input[name=vendor_rma]", "CLMRMA-7")
    page.click("#acknowledge button")
    page.wait_for_selector("#status:text('acknowledged')")

    page.fill("#credit-form input[name=amount]", "abc")  # not a number: said, nothing moves
    page.fill("#credit-form input[name=currency]", "EUR")
    page.fill("#credit-form input[name=credit_note]", "CN-CLM-1")
    page.click("#credit-form button")
    page.wait_for_selector(".flash-error")
    assert page.inner_text("#status") == "acknowledged"
    page.fill("#credit-form input[name=amount]", "30.00")
    page.fill("#credit-form input[name=currency]", "eur")
    page.fill("#credit-form input[name=credit_note]", "CN-CLM-1")
    page.click("#credit-form button")
    page.wait_for_selector("#status:text('credited')")
    assert "30.0000 EUR" in page.inner_text("#credit")
    assert page.locator("form.actions").count() == 0  # closed: no more actions
    history = page.inner_text("#events")
    assert "buyer@demo.spareflow" in history and "CN-CLM-1" in history

    api = ok(call(stack, "admin", "GET", f"/api/v1/claims/{claim_id}"))
    assert (api["status"], api["credit_amount"], api["vendor_rma"]) == (
        "credited",
        "30.0000",
        "CLMRMA-7",
    )
    shipment = ok(call(stack, "admin", "GET", "/api/v1/shipments/SBXVENDOR-CLM1"))
    assert shipment["reference"] == f"CLM-{claim_id:05d}"

    download = page.request.get(f"{stack['app']}/buying/claims/export.xlsx?supplier=CLM")
    assert download.status == 200
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    page.click("nav >> text=Metrics")
    claims_row = page.locator("#claim-figures tr[data-key=CLM]")
    assert "30.00 EUR" in claims_row.locator(".recovered").inner_text()
