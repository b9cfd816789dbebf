# ruff: noqa: F811 (the fixtures come from test_outbound_labels.py and test_status_page.py)
"""The repair section of an RMA's page buys the label that ships the repaired unit back (the
sandbox carrier as the outbound carrier, served on loopback): ordered from the page, bought by
the outbox worker, the repair shipped on it and the return closed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from returns.repair_orders import RepairStatus
from returns.repairs import OpenRepair, RecordRepairTest
from returns.status import Channel, Reason, Resolution, RmaStatus
from tests.support import desk as builders
from tests.web.test_outbound_labels import app_config, drain, floor  # noqa: F401 (fixtures)
from tests.web.test_pages import csrf_token
from tests.web.test_status_page import shop  # noqa: F401 (a fixture: a part in stock)

STAFF = "desk@shop.example"
TECH = "ann@wh.example"


def repair_ready_to_ship(shop: Any) -> str:
    """A repair RMA whose unit is booked in, repaired and tested: ready to ship back."""
    view = builders.open_rma(
        shop.returns,
        STAFF,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99")}],
    )
    builders.authorise(
        shop.returns, STAFF, view.number, carrier="sandbox", tracking_number="SBX-IN-1"
    )
    builders.receive(shop.returns, TECH, view.number, lines=[{"sku": "FAN-80", "qty": 1}])
    shop.returns.repairs.open(TECH, view.number, OpenRepair(diagnosis="Worn bearing"))
    shop.returns.repairs.record_test(TECH, view.number, RecordRepairTest(True, "Runs quiet"))
    return view.number


def test_the_repair_page_buys_the_label_and_the_unit_ships_on_it(floor, shop, sandbox) -> None:
    number = repair_ready_to_ship(shop)
    page = floor.get(f"/returns/{number}").get_data(as_text=True)
    buy = f'action="/returns/{number}/repair/label"'
    assert buy in page and "Buy label" in page and "Bought from sandbox" in page
    assert f'action="/returns/{number}/repair/ship"' in page  # by hand still works

    answer = floor.post(f"/returns/{number}/repair/label", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    page = floor.get(f"/returns/{number}").get_data(as_text=True)
    assert f"{number}: label ordered from the outbound carrier" in page
    assert shop.returns.repairs.get(number).status is RepairStatus.TESTED_OK  # not bought yet

    drain(shop)
    [label] = [x for x in sandbox.get("/v1/labels").json() if x["reference"].startswith(number)]
    repair = shop.returns.repairs.get(number)
    assert (repair.status, repair.carrier) == (RepairStatus.SHIPPED, "sandbox")
    assert repair.tracking_number == label["tracking_number"]
    assert shop.returns.get(number).status is RmaStatus.CLOSED
    page = floor.get(f"/returns/{number}").get_data(as_text=True)
    assert f"sandbox {label['tracking_number']}" in page and buy not in page


def test_without_an_outbound_carrier_the_page_ships_by_hand_only(floor, shop) -> None:
    shop.returns.ctx.labels = type(shop.returns.ctx.labels)(outbound_carrier="")
    number = repair_ready_to_ship(shop)
    page = floor.get(f"/returns/{number}").get_data(as_text=True)
    assert f"/returns/{number}/repair/label" not in page and "Buy label" not in page
    assert f'action="/returns/{number}/repair/ship"' in page
    # A stale page posting anyway: refused with the reason, nothing ordered.
    floor.post(f"/returns/{number}/repair/label", data={"csrf_token": csrf_token(page)})
    page = floor.get(f"/returns/{number}").get_data(as_text=True)
    assert "No outbound carrier is configured" in page
    assert shop.returns.repairs.get(number).status is RepairStatus.TESTED_OK


def test_the_label_form_needs_its_csrf_token(floor, shop) -> None:
    number = repair_ready_to_ship(shop)
    refused = floor.post(f"/returns/{number}/repair/label", data={})
    assert refused.status_code == 400
    assert shop.returns.repairs.get(number).status is RepairStatus.TESTED_OK
