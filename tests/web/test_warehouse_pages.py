"""Warehouse pages through the Flask client: scan, book, ship, receive and inspect returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Role
from inventory.commands import ReceiveStock
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def floor(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.auth.create_user("ann@wh.example", Role.WAREHOUSE, PASSWORD)
    services.auth.create_user("bob@wh.example", Role.BUYER, PASSWORD)
    inventory = services.inventory
    for code in ("MAIN/A-01-01", "MAIN/A-01-02"):
        inventory.create_location(code=code)
    from inventory.status import LocationKind

    inventory.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    inventory.create_location(code="MAIN/QUARANTINE", kind=LocationKind.QUARANTINE)
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm", barcode="4006381333931")
    client = app.test_client()
    sign_in(client, "ann@wh.example", PASSWORD)
    return client


def post_form(client: Any, path: str, **data: Any) -> Any:
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_a_barcode_scan_receives_stock_into_a_bin(app: Any, floor: Any) -> None:
    response = post_form(
        floor,
        "/warehouse/receive",
        part="4006381333931",
        location="main/a-01-01",
        qty="6",
        reference="PO-7",
    )
    assert response.status_code == 302
    assert "Received 6 x FAN-80 into MAIN/A-01-01." in floor.get("/warehouse/receive").get_data(
        as_text=True
    )
    assert app.extensions["spareflow"].inventory.get_part("FAN-80").on_hand == 6


def test_mistakes_are_shown_beside_the_field_and_nothing_typed_is_lost(
    app: Any, floor: Any
) -> None:
    post_form(floor, "/warehouse/receive", part="FAN-80", location="MAIN/A-01-01", qty="2")
    too_many = post_form(
        floor,
        "/warehouse/move",
        part="FAN-80",
        from_location="MAIN/A-01-01",
        to_location="MAIN/A-01-02",
        qty="5",
    )
    assert too_many.status_code == 422
    html = too_many.get_data(as_text=True)
    assert "Only 2 of FAN-80 at MAIN/A-01-01 available; 5 requested." in html
    assert 'value="MAIN/A-01-02"' in html and 'value="5"' in html
    unknown = post_form(floor, "/warehouse/receive", part="NOPE", location="MAIN/A-01-01", qty="1")
    assert "No part with SKU" in unknown.get_data(as_text=True)
    bad_bin = post_form(floor, "/warehouse/receive", part="FAN-80", location="MAIN/ZZ", qty="1")
    assert "No location with code" in bad_bin.get_data(as_text=True)
    assert app.extensions["spareflow"].inventory.get_part("FAN-80").on_hand == 2


def test_a_cycle_count_books_the_difference(app: Any, floor: Any) -> None:
    post_form(floor, "/warehouse/receive", part="FAN-80", location="MAIN/A-01-01", qty="5")
    post_form(floor, "/warehouse/count", location="MAIN/A-01-01", part="FAN-80", counted_qty="4")
    assert "difference -1" in floor.get("/warehouse/count").get_data(as_text=True)
    assert app.extensions["spareflow"].inventory.get_part("FAN-80").on_hand == 4


def test_a_replacement_is_shipped_from_the_pick_queue_and_the_return_booked_in(
    app: Any, floor: Any
) -> None:
    services = app.extensions["spareflow"]
    services.inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=3))
    view = builders.open_rma(
        services.returns,
        "desk@x",
        customer={"name": "Mia", "email": "mia@example.com"},
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("20")}],
    )
    number = view.number
    rma = builders.authorise(
        services.returns, "desk@x", number, carrier="sandbox", tracking_number="SBXW1"
    )
    page = floor.get("/warehouse").get_data(as_text=True)
    assert number in page
    floor.post(
        f"/warehouse/picks/{rma.replacements[0].id}/ship",
        data={"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": "SBXOUT-W1"},
    )
    assert "shipped" in floor.get("/warehouse").get_data(as_text=True)
    assert services.inventory.get_part("FAN-80").on_hand == 2

    scanned = floor.post(
        "/warehouse/returns", data={"csrf_token": csrf_token(page), "rma": number.lower()}
    )
    assert scanned.headers["Location"] == f"/warehouse/returns/{number}"
    parcel = floor.get(scanned.headers["Location"]).get_data(as_text=True)
    line_id = services.returns.get(number).lines[0].id
    floor.post(
        f"/warehouse/returns/{number}",
        data={
            "csrf_token": csrf_token(parcel),
            "step": "receive",
            f"qty-{line_id}": "1",
            f"condition-{line_id}": "dented",
        },
    )
    inspect = floor.get(f"/warehouse/returns/{number}").get_data(as_text=True)
    assert 'id="inspect"' in inspect
    floor.post(
        f"/warehouse/returns/{number}",
        data={
            "csrf_token": csrf_token(inspect),
            "step": "inspect",
            f"disposition-{line_id}": "restock",
            f"location-{line_id}": "MAIN/A-01-02",
        },
    )
    assert services.returns.get(number).status.value == "inspected"
    assert services.inventory.get_part("FAN-80").on_hand == 3
    assert services.inventory.verify_levels() == []


def test_other_roles_cannot_use_the_warehouse_pages(app: Any, floor: Any) -> None:
    buyer = app.test_client()
    sign_in(buyer, "bob@wh.example", PASSWORD)
    assert buyer.get("/warehouse").status_code == 403
    token = csrf_token(buyer.get("/").get_data(as_text=True))
    assert (
        buyer.post(
            "/warehouse/receive",
            data={"csrf_token": token, "part": "FAN-80", "location": "MAIN/A-01-01", "qty": "1"},
        ).status_code
        == 403
    )
    assert app.extensions["spareflow"].inventory.get_part("FAN-80").on_hand == 0


def test_the_pick_list_and_return_sheet_print_with_qr_codes(app: Any, floor: Any) -> None:
    services = app.extensions["spareflow"]
    services.inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-02", qty=2))
    number = builders.open_rma(
        services.returns,
        "desk@x",
        customer={"name": "Mia", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("20")}],
    ).number
    builders.authorise(
        services.returns, "desk@x", number, carrier="sandbox", tracking_number="SBXP1"
    )
    pick_list = floor.get("/warehouse/pick-list").get_data(as_text=True)
    assert number in pick_list and "MAIN/A-01-02" in pick_list and "<svg" in pick_list
    sheet = floor.get(f"/returns/{number}/sheet").get_data(as_text=True)
    assert f"<title>{number}</title>" in sheet  # the QR code carries the RMA number
    assert "SBXP1" in sheet and "FAN-80" in sheet


def test_a_delivery_is_booked_against_its_purchase_order(app: Any, floor: Any) -> None:
    from core.db import UnitOfWork
    from inventory.ledger import Who, find_part
    from inventory.models import Supplier
    from purchasing import orders as purchasing

    services = app.extensions["spareflow"]
    services.inventory.create_supplier(code="ACME", name="Acme")
    with UnitOfWork(services.session_factory) as uow:
        supplier = uow.session.query(Supplier).filter_by(code="ACME").one()
        part = find_part(uow.session, "FAN-80")
        order = purchasing.create_draft(
            uow.session,
            Who("bob", services.clock),
            supplier,
            [purchasing.DraftLine(part, 10, Decimal("4"))],
            "test",
        )
        number = order.number
        uow.commit()
    scan = floor.get("/warehouse/purchase-orders").get_data(as_text=True)
    assert number not in scan  # a draft is not expected
    services.buying.purchasing.send("bob@wh.example", number)
    scan = floor.get("/warehouse/purchase-orders").get_data(as_text=True)
    # The sent order is listed to tap, beside the scan box.
    assert f'href="/warehouse/purchase-orders/{number}"' in scan and "Acme" in scan
    found = floor.post(
        "/warehouse/purchase-orders",
        data={"csrf_token": csrf_token(scan), "number": number.lower()},
    )
    page = floor.get(found.headers["Location"]).get_data(as_text=True)
    assert "10 due" in page
    line_id = services.buying.purchasing.get_order(number).lines[0].id
    floor.post(
        f"/warehouse/purchase-orders/{number}",
        data={"csrf_token": csrf_token(page), "location": "MAIN/A-01-02", f"qty-{line_id}": "4"},
    )
    html = floor.get(f"/warehouse/purchase-orders/{number}").get_data(as_text=True)
    assert "Received 4 units" in html and "partially received" in html
    # Partly received: the rest is still expected.
    assert number in floor.get("/warehouse/purchase-orders").get_data(as_text=True)
    assert services.inventory.get_part("FAN-80").on_hand == 4
