"""The returns desk pages through the Flask client: intake form, queue, RMA page and its actions."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.dates import format_skeleton

from accounts.models import Role
from inventory.commands import ReceiveStock
from returns.status import Channel, Reason, Resolution
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in


@pytest.fixture
def desk_app(app: Any) -> Any:
    services = app.extensions["spareflow"]
    for role in (Role.SERVICE_DESK, Role.WAREHOUSE, Role.BUYER, Role.ADMIN):
        services.auth.create_user(f"{role.value}@desk.example", role, PASSWORD)
    inventory = services.inventory
    inventory.create_location(code="MAIN/A-01-01")
    inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=4))
    return app


def signed_in(app: Any, role: Role) -> Any:
    client = app.test_client()
    response = sign_in(client, f"{role.value}@desk.example", PASSWORD)
    assert response.status_code == 302
    return client


def intake(token: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "customer_name": "Mia Chen",
        "customer_email": "mia@example.com",
        "customer_phone": "",
        "order_number": "SO-1",
        "payment_reference": "pi_123",
        "purchase_date": "2026-11-13",
        "channel": "phone",
        "reason": "defective",
        "resolution": "replacement",
        "priority": "medium",
        "description": "Rattles",
        "lines-0-sku": "FAN-80",
        "lines-0-qty": "1",
        "lines-0-serial": "",
        "lines-0-unit_price": "24.99",
        "lines-1-sku": "",
        "lines-1-qty": "",
        "lines-1-serial": "",
        "lines-1-unit_price": "",
        "lines-2-sku": "",
        "lines-2-qty": "",
        "lines-2-serial": "",
        "lines-2-unit_price": "",
    }
    return {**form, **overrides}


def test_the_desk_opens_a_return_from_the_form_and_lands_on_its_page(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    page = client.get("/returns/new")
    assert page.status_code == 200
    response = client.post("/returns/new", data=intake(csrf_token(page.get_data(as_text=True))))
    assert response.status_code == 302
    assert response.headers["Location"] == "/returns/RMA-20261123-0001"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "RMA-20261123-0001" in html and "Mia Chen" in html and 'id="authorise"' in html
    queue = client.get("/returns").get_data(as_text=True)
    assert "RMA-20261123-0001" in queue


def test_a_form_error_names_the_field_and_keeps_what_was_typed(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    response = client.post("/returns/new", data=intake(token, **{"lines-0-sku": "NOPE-1"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "No part with SKU &#39;NOPE-1&#39;." in html or "No part with SKU 'NOPE-1'." in html
    assert 'value="NOPE-1"' in html and 'value="Mia Chen"' in html and 'value="pi_123"' in html
    future = client.post("/returns/new", data=intake(token, purchase_date="2027-01-01"))
    assert "The purchase date is in the future." in future.get_data(as_text=True)
    bad_email = client.post("/returns/new", data=intake(token, customer_email="mia"))
    assert "Not an e-mail address." in bad_email.get_data(as_text=True)
    no_lines = client.post("/returns/new", data=intake(token, **{"lines-0-sku": ""}))
    assert "Add at least one line" in no_lines.get_data(as_text=True)


def test_authorising_from_the_page_reserves_the_replacement(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    location = client.post("/returns/new", data=intake(token)).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    response = client.post(
        location + "/authorise",
        data={"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": "SBX77"},
    )
    assert response.status_code == 302
    html = client.get(location).get_data(as_text=True)
    assert 'id="state" data-state="awaiting_pickup"' in html
    assert "reserved at MAIN/A-01-01" in html
    assert "sandbox SBX77" in html
    illegal = client.post(location + "/close", data={"csrf_token": csrf_token(html), "reason": "x"})
    assert illegal.status_code == 302
    assert "cannot become closed" in client.get(location).get_data(as_text=True)


def test_other_roles_are_refused_on_the_server(desk_app: Any) -> None:
    desk = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(desk.get("/returns/new").get_data(as_text=True))
    location = desk.post("/returns/new", data=intake(token)).headers["Location"]
    buyer = signed_in(desk_app, Role.BUYER)
    assert buyer.get("/returns").status_code == 403
    assert buyer.get("/returns/new").status_code == 403
    warehouse = signed_in(desk_app, Role.WAREHOUSE)
    page = warehouse.get(location)
    assert page.status_code == 200  # the warehouse looks RMAs up ...
    assert 'id="authorise"' not in page.get_data(as_text=True)
    forged = warehouse.post(
        location + "/authorise", data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert forged.status_code == 403  # ... but cannot act for the desk
    assert 'id="release-refund"' not in desk.get(location).get_data(
        as_text=True
    )  # supervisors only
    assert desk_app.test_client().get("/returns").status_code == 302  # signed out: to sign-in


def _record_pickup_by_phone(desk_app: Any, role: Role, tracking: str) -> tuple[str, str]:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    location = client.post("/returns/new", data=intake(token, resolution="refund")).headers[
        "Location"
    ]
    page = client.get(location).get_data(as_text=True)
    client.post(
        location + "/authorise",
        data={"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": tracking},
    )
    person = signed_in(desk_app, role)
    page = person.get(location).get_data(as_text=True)
    assert 'id="carrier-event"' in page
    person.post(
        location + "/carrier-event",
        data={
            "csrf_token": csrf_token(page),
            "status": "picked_up",
            "reason": "Courier called: collected at 10:05",
        },
    )
    return location, person.get(location).get_data(as_text=True)


def test_a_pickup_the_desk_records_by_phone_holds_the_refund_for_a_supervisor(
    desk_app: Any,
) -> None:
    location, html = _record_pickup_by_phone(desk_app, Role.SERVICE_DESK, "SBX78")
    assert 'id="state" data-state="picked_up"' in html
    assert "Recorded by service_desk@desk.example: Courier called: collected at 10:05" in html
    assert "sent to the payment provider" not in html  # a person's word releases no money
    assert re.search(r'class="refund-status">\s*held', html)
    hold = re.search(r'id="refund-hold">([^<]*)<', html)
    assert hold and "entered by hand by service_desk@desk.example" in hold.group(1)
    assert "held by service_desk@desk.example" in hold.group(1)
    # The supervisor sees who holds it and why, and releases it with a reason.
    admin = signed_in(desk_app, Role.ADMIN)
    page = admin.get(location).get_data(as_text=True)
    assert 'id="release-refund"' in page
    admin.post(
        location + "/release-refund",
        data={"csrf_token": csrf_token(page), "reason": "Courier's collection note checked"},
    )
    html = admin.get(location).get_data(as_text=True)
    assert "sent to the payment provider (released by a supervisor)" in html
    assert re.search(r'id="refund-released-by">\s*admin@desk.example', html)


def test_a_pickup_an_admin_records_by_phone_releases_the_refund_in_their_name(
    desk_app: Any,
) -> None:
    _, html = _record_pickup_by_phone(desk_app, Role.ADMIN, "SBX77")
    assert re.search(r'class="refund-status">\s*pending', html)
    assert "sent to the payment provider (picked up entered by hand by admin@desk.example" in html
    assert re.search(r'id="refund-released-by">\s*admin@desk.example', html)


def test_the_dashboard_shows_the_return_queue_refunds_today_and_stock_alerts(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    client.post("/returns/new", data=intake(token))
    desk_app.extensions["spareflow"].inventory.create_part(
        sku="LOW-1", name="Short part", reorder_point=5
    )
    html = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r"requested</td><td class=\"num\">1</td>", html)
    assert "LOW-1" in html and "1 part at or below its reorder point" in html
    assert re.search(
        r'id="refunds-today">\s*<h2>Refunds released today</h2>\s*<p class="big">0</p>', html
    )


def test_a_backordered_replacement_shows_on_the_desk_queue(desk_app: Any) -> None:
    client = signed_in(desk_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/returns/new").get_data(as_text=True))
    location = client.post("/returns/new", data=intake(token, **{"lines-0-qty": "9"})).headers[
        "Location"
    ]
    page = client.get(location).get_data(as_text=True)
    client.post(
        location + "/authorise",
        data={"csrf_token": csrf_token(page), "carrier": "sandbox", "tracking_number": "SBX79"},
    )
    queue = client.get("/returns").get_data(as_text=True)
    assert re.search(r"replacement <span class=\"badge badge-high\">backordered</span>", queue)
    # No open order and no lead time of its own: estimated with the default 14 days.
    today = desk_app.extensions["spareflow"].clock.now().date()
    due = format_skeleton("yMMMd", today + timedelta(days=14), locale="en")  # the pages' format
    expected = f"expected {due} (estimated)"
    assert expected in client.get(location).get_data(as_text=True)
    warehouse = signed_in(desk_app, Role.WAREHOUSE).get("/warehouse").get_data(as_text=True)
    assert expected in re.sub(r"<[^>]+>", "", warehouse)


def test_a_supervisor_sends_a_failed_refund_again_from_the_rma_page(desk_app: Any) -> None:
    services = desk_app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/RETURNS")
    view = builders.open_rma(
        services.returns,
        "desk@desk.example",
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_1",
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99")}],
    )
    number = view.number
    builders.authorise(
        services.returns, "desk@desk.example", number, carrier="sandbox", tracking_number="T9"
    )
    services.returns.refunds.release_by_supervisor(
        "admin@desk.example", number, "scan lost", supervisor=True
    )
    # No refund provider is listening in this app: an outage, waited out for three days
    # (core.outbox.OUTAGE_GIVE_UP), then the refund fails for good.
    services.outbox.drain()
    for _ in range(14):
        services.clock.advance(timedelta(hours=6))
        services.outbox.drain()
    assert services.returns.get(number).refund_status.value == "failed"

    desk = signed_in(desk_app, Role.SERVICE_DESK)
    assert 'id="retry-refund"' not in desk.get(f"/returns/{number}").get_data(as_text=True)
    admin = signed_in(desk_app, Role.ADMIN)
    page = admin.get(f"/returns/{number}").get_data(as_text=True)
    assert 'id="retry-refund"' in page
    admin.post(
        f"/returns/{number}/retry-refund",
        data={"csrf_token": csrf_token(page), "reason": "provider back", "payment_reference": ""},
    )
    rma = services.returns.get(number)
    assert rma.refund_status.value == "pending"
    assert "sent again with the same idempotency key: provider back" in rma.timeline[-1].reason
