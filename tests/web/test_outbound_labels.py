# ruff: noqa: F811 (the shop fixture comes from test_status_page.py)
"""Outbound labels for replacements through the API and the warehouse pages: bought from the
outbound carrier (the sandbox carrier, served on loopback), printed with the pick list, and the
customer's e-mail and status page carrying the carrier's tracking link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from accounts.models import Role
from carriers.models import Shipment
from inventory.commands import ReceiveStock
from returns.status import Channel, Reason, ReplacementStatus, Resolution
from tests.support import desk as builders
from tests.web.test_pages import PASSWORD, csrf_token, sign_in
from tests.web.test_status_page import shop  # noqa: F401 (a fixture: a part in stock)

STAFF = "desk@shop.example"
TRACKING_URL = "https://track.example/?n={number}"
ZPL = b"^XA^FO50,50^ADN,36,20^FDSPAREFLOW^FS^XZ"


@pytest.fixture
def app_config(carrier_url: str, smtp_sink: Any) -> dict[str, Any]:
    return {
        "SANDBOX_CARRIER_URL": carrier_url,
        "OUTBOUND_CARRIER": "sandbox",
        "CARRIER_TRACKING_URLS": {"sandbox": TRACKING_URL},
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
        "PUBLIC_URL": "https://returns.example.com",
    }


@pytest.fixture
def floor(app: Any, shop: Any) -> Any:
    shop.auth.create_user("ann@wh.example", Role.WAREHOUSE, PASSWORD)
    client = app.test_client()
    sign_in(client, "ann@wh.example", PASSWORD)
    return client


def queued_replacement(shop: Any, sku: str = "FAN-80") -> tuple[str, int]:
    """An RMA for a replacement, authorised: its replacement reserved, in the pick queue."""
    view = builders.open_rma(
        shop.returns,
        STAFF,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        lines=[{"sku": sku, "qty": 1, "unit_price": Decimal("24.99")}],
    )
    rma = builders.authorise(
        shop.returns, STAFF, view.number, carrier="sandbox", tracking_number="SBX-BACK-1"
    )
    return view.number, rma.replacements[0].id


def drain(shop: Any) -> None:
    for _ in range(3):
        shop.outbox.drain()


# --- the API -------------------------------------------------------------------------------


def test_the_api_orders_the_label_then_serves_it_and_the_rma_shows_it(
    client, shop, sandbox, role_headers
) -> None:
    headers = role_headers[Role.WAREHOUSE]
    number, replacement_id = queued_replacement(shop)
    before = client.get(f"/api/v1/replacements/{replacement_id}/label", headers=headers)
    assert before.status_code == 404 and before.json["error"]["code"] == "no_label"

    ordered = client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    assert ordered.status_code == 202, ordered.json
    assert ordered.json["id"] == replacement_id and ordered.json["rma_number"] == number
    assert (ordered.json["status"], ordered.json["label_ordered"]) == ("queued", True)
    assert ordered.json["label"] is None
    [queued] = client.get("/api/v1/replacements", headers=headers).json
    assert queued["label_ordered"] is True

    drain(shop)
    [label] = [x for x in sandbox.get("/v1/labels").json() if x["reference"].startswith(number)]
    pdf = client.get(f"/api/v1/replacements/{replacement_id}/label?format=pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    no_zpl = client.get(f"/api/v1/replacements/{replacement_id}/label?format=zpl", headers=headers)
    assert no_zpl.status_code == 404 and no_zpl.json["error"]["code"] == "no_label_format"

    [replacement] = client.get(f"/api/v1/returns/{number}", headers=headers).json["replacements"]
    assert replacement["status"] == "shipped"
    assert replacement["tracking_number"] == label["tracking_number"]
    assert replacement["label"] == {"provider": "sandbox", "id": label["id"], "cost_minor": 650}
    assert replacement["delivered_at"] is None
    # Shipped on a label bought here, not yet collected: still in the queue, to print and pack.
    [waiting] = client.get("/api/v1/replacements", headers=headers).json
    assert (waiting["status"], waiting["label_ordered"]) == ("shipped", False)
    assert waiting["label"]["id"] == label["id"]

    again = client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "replacement_not_queued"


def test_a_zpl_label_is_served_as_zpl(client, shop, sandbox, role_headers, session_factory) -> None:
    """A ZPL label stored before ``label_zpl`` existed (in ``label``): still ZPL, no PDF."""
    headers = role_headers[Role.WAREHOUSE]
    number, replacement_id = queued_replacement(shop)
    client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    drain(shop)
    tracking = shop.returns.get(number).replacements[0].tracking_number
    with session_factory() as session:
        session.execute(
            update(Shipment)
            .where(Shipment.tracking_number == tracking)
            .values(label=ZPL, label_media_type="application/zpl")
        )
        session.commit()
    zpl = client.get(f"/api/v1/replacements/{replacement_id}/label?format=zpl", headers=headers)
    assert (zpl.status_code, zpl.mimetype, zpl.data) == (200, "application/zpl", ZPL)
    default = client.get(f"/api/v1/replacements/{replacement_id}/label", headers=headers)
    assert (default.mimetype, default.data) == ("application/zpl", ZPL)
    pdf = client.get(f"/api/v1/replacements/{replacement_id}/label?format=pdf", headers=headers)
    assert pdf.status_code == 404 and pdf.json["error"]["code"] == "no_label_format"


def test_the_api_refuses_without_an_outbound_carrier_or_a_queued_replacement(
    client, shop, role_headers
) -> None:
    headers = role_headers[Role.WAREHOUSE]
    _, replacement_id = queued_replacement(shop)
    missing = client.post("/api/v1/replacements/999999/label", headers=headers, json={})
    assert missing.status_code == 404
    shop.returns.ctx.labels = type(shop.returns.ctx.labels)(outbound_carrier="")
    refused = client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "no_outbound_carrier"
    assert "SPAREFLOW_OUTBOUND_CARRIER" in refused.json["error"]["message"]
    buyer = client.post(
        f"/api/v1/replacements/{replacement_id}/label", headers=role_headers[Role.BUYER], json={}
    )
    assert buyer.status_code == 403


def test_a_refused_label_is_not_ordered_again_the_warehouse_ships_by_hand(
    client, shop, sandbox, role_headers
) -> None:
    headers = role_headers[Role.WAREHOUSE]
    number, replacement_id = queued_replacement(shop)
    sandbox.post("/v1/sandbox/faults", json={"refuse": 1}).raise_for_status()
    client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    drain(shop)
    assert shop.returns.get(number).replacements[0].status.value == "queued"
    again = client.post(f"/api/v1/replacements/{replacement_id}/label", headers=headers, json={})
    assert again.status_code == 409 and again.json["error"]["code"] == "outbound_label_failed"
    assert "the sandbox refuses this address" in again.json["error"]["message"]


# --- the pages -----------------------------------------------------------------------------


def test_the_pick_queue_buys_the_label_and_prints_it_with_the_pick_list(
    floor, shop, sandbox
) -> None:
    number, replacement_id = queued_replacement(shop)
    page = floor.get("/warehouse").get_data(as_text=True)
    buy = f'action="/warehouse/picks/{replacement_id}/label"'
    assert buy in page and "Buy label" in page
    assert f'action="/warehouse/picks/{replacement_id}/ship"' in page  # by hand still works

    answer = floor.post(
        f"/warehouse/picks/{replacement_id}/label", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 302
    page = floor.get("/warehouse").get_data(as_text=True)
    assert f"Label for {number} ordered" in page and "label ordered from sandbox" in page
    assert buy not in page

    drain(shop)
    tracking = shop.returns.get(number).replacements[0].tracking_number
    page = floor.get("/warehouse").get_data(as_text=True)
    assert f"label bought: sandbox {tracking}" in page
    assert f'href="/warehouse/picks/{replacement_id}/label"' in page
    assert "format=zpl" not in page  # the sandbox sells PDF labels only
    printed = floor.get(f"/warehouse/picks/{replacement_id}/label")
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")

    pick_list = floor.get("/warehouse/pick-list").get_data(as_text=True)
    assert number in pick_list and tracking in pick_list
    assert f"/warehouse/picks/{replacement_id}/label" in pick_list
    assert "<script>" not in pick_list and "style=" not in pick_list  # the CSP: nothing inline


def test_a_serialised_replacement_s_label_is_ordered_with_the_serials_scanned(
    client, floor, shop, sandbox, role_headers
) -> None:
    shop.inventory.create_part(sku="CAM-1", name="Camera", serialised=True)
    receipt = ReceiveStock("CAM-1", "MAIN/A-01-01", 2, serials=("CAM-100", "CAM-101"))
    shop.inventory.receive("setup", receipt)
    number, replacement_id = queued_replacement(shop, "CAM-1")
    headers = role_headers[Role.WAREHOUSE]
    url = f"/api/v1/replacements/{replacement_id}/label"
    refused = client.post(url, headers=headers, json={})
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "serials_required"
    assert "label ordered" not in floor.get("/warehouse").get_data(as_text=True)

    page = floor.get("/warehouse").get_data(as_text=True)
    answer = floor.post(
        f"/warehouse/picks/{replacement_id}/label",
        data={"csrf_token": csrf_token(page), "serials": "CAM-101\n"},
    )
    assert answer.status_code == 302
    drain(shop)
    assert shop.returns.get(number).replacements[0].status is ReplacementStatus.SHIPPED
    [unit] = shop.inventory.serial("CAM-101")
    assert (unit.state, unit.customer_email) == ("with_customer", "mia@example.com")


def test_without_an_outbound_carrier_there_is_no_buy_button(floor, shop) -> None:
    shop.returns.ctx.labels = type(shop.returns.ctx.labels)(outbound_carrier="")
    _, replacement_id = queued_replacement(shop)
    page = floor.get("/warehouse").get_data(as_text=True)
    assert f"/warehouse/picks/{replacement_id}/label" not in page and "Buy label" not in page
    assert f'action="/warehouse/picks/{replacement_id}/ship"' in page
    assert floor.get(f"/warehouse/picks/{replacement_id}/label").status_code == 404


def test_the_customer_gets_the_tracking_link_of_a_bought_label(
    client, floor, shop, sandbox, smtp_sink
) -> None:
    number, replacement_id = queued_replacement(shop)
    shop.returns.outbound_labels.order("ann@wh.example", replacement_id)
    drain(shop)
    tracking = shop.returns.get(number).replacements[0].tracking_number
    link = TRACKING_URL.format(number=tracking)
    [mail] = [
        m
        for m in smtp_sink.messages
        if number in str(m["Subject"]) and "replacement" in str(m["Subject"]).lower()
    ]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and link in body.get_content()
    status_url = shop.status_links.issue(number).removeprefix("https://returns.example.com")
    page = client.get(status_url).get_data(as_text=True)
    assert "shipped with sandbox" in page and f'href="{link}"' in page.replace("&amp;", "&")
