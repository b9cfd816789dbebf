"""Friendly dead ends: an unknown RMA scan, a draft purchase order, a made-up tracking number,
and the parcel page's buttons that say what they do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounts.models import Role
from tests.web.test_desk_pages import desk_app as desk_pages_app
from tests.web.test_desk_pages import intake, signed_in
from tests.web.test_pages import csrf_token
from tests.web.test_rma_page_actions import authorise_on_page, open_return
from tests.web.test_warehouse_pages import floor as warehouse_floor

desk_app = desk_pages_app
floor = warehouse_floor


def test_an_unknown_rma_scan_says_what_went_wrong_and_what_to_do(floor: Any) -> None:
    token = csrf_token(floor.get("/warehouse").get_data(as_text=True))
    scanned = floor.post(
        "/warehouse/returns", data={"csrf_token": token, "rma": "rma-20990101-0001"}
    )
    assert scanned.status_code == 302
    page = floor.get(scanned.headers["Location"])
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert "No return RMA-20990101-0001" in html
    assert "Scan or type the number again" in html and "tell the returns desk" in html
    assert 'id="scan-rma"' in html and "autofocus" in html  # scan again straight away


def test_a_delivery_against_a_draft_order_answers_in_plain_words(app: Any, floor: Any) -> None:
    from core.db import UnitOfWork
    from inventory.ledger import Who, find_part
    from inventory.models import Supplier
    from purchasing import orders as purchasing

    services = app.extensions["spareflow"]
    services.inventory.create_supplier(code="ACME", name="Acme")
    with UnitOfWork(services.session_factory) as uow:
        supplier = uow.session.query(Supplier).filter_by(code="ACME").one()
        order = purchasing.create_draft(
            uow.session,
            Who("bob", services.clock),
            supplier,
            [purchasing.DraftLine(find_part(uow.session, "FAN-80"), 10, Decimal("4"))],
            "test",
        )
        number = order.number
        uow.commit()
    path = f"/warehouse/purchase-orders/{number}"
    html = floor.get(path).get_data(as_text=True)
    assert f"Purchase order {number} is still a draft" in html and "Ask a buyer to send it" in html
    assert 'id="goods-in"' not in html  # no form to fill in for nothing
    line_id = services.buying.purchasing.get_order(number).lines[0].id
    floor.post(
        path,
        data={"csrf_token": csrf_token(html), "location": "MAIN/A-01-02", f"qty-{line_id}": "4"},
    )
    after = floor.get(path).get_data(as_text=True)
    assert "cannot become" not in after and "still a draft" in after
    assert services.inventory.get_part("FAN-80").on_hand == 0


def test_a_made_up_tracking_number_is_questioned_until_confirmed(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    location = client.post("/returns/new", data=intake(token)).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": "NOPE"}
    client.post(location + "/authorise", data=form)
    html = client.get(location).get_data(as_text=True)
    assert "NOPE does not look like a tracking number (it has no digits)" in html
    assert 'data-state="requested"' in html  # not authorised silently
    client.post(location + "/authorise", data={**form, "tracking_confirmed": "1"})
    html = client.get(location).get_data(as_text=True)
    assert 'data-state="awaiting_pickup"' in html and "sandbox NOPE" in html


def test_the_parcel_page_buttons_say_what_they_do(desk_app: Any) -> None:
    desk = signed_in(desk_app, Role.SERVICE_DESK)
    location = open_return(desk, resolution="refund")
    authorise_on_page(desk, location, "SBXDE1")
    warehouse = signed_in(desk_app, Role.WAREHOUSE)
    html = warehouse.get(location.replace("/returns/", "/warehouse/returns/")).get_data(
        as_text=True
    )
    assert ">Book the parcel in</button>" in html and "Booked in<" not in html
    assert "Cooling fan 80mm" in html
