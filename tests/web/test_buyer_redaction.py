"""A buyer, as an attacker: every route a buyer may call, searched for the customer's data.

An RMA with the customer's name, e-mail, phone and payment reference everywhere they can end
up (intake fields, the description, e-mails sent and their timeline notes, the refund, the
parcel) is fetched through every API endpoint and page open to buyers; none of the customer's
details appears in any answer. The desk, fetching the same, does see them (so the search
would find them).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Role
from demo.sandboxes.refunds import create_refunds_sandbox
from inventory.status import LocationKind
from returns.commands import CustomerAddress
from returns.status import Channel, Disposition, Reason, Resolution
from tests.support import desk as builders
from tests.support.sandbox_servers import serving
from tests.web.test_page_roles import EXPECTED_PAGE_ROLES
from tests.web.test_pages import PASSWORD, sign_in
from tests.web.test_status_page import carrier_scan

EMAIL = "mia.chen@example.com"
PHONE = "+44 20 7946 0123"
PAYMENT = "pi_3SecretPay4242"
NAME = "Mia Zhou-Chen"
STREET = "17 Juniper Mews"
ADDRESS = CustomerAddress(
    name="M. Zhou-Chen (home)",
    company="Zhou Cooling Ltd",
    street=STREET,
    street2="Flat 4B",
    city="Leeds",
    postcode="LS1 4AB",
    country="GB",
    phone="+44 113 496 0555",
)
TRACKING = "SBX-PII-1"


@pytest.fixture(scope="module")
def refunds_url() -> Iterator[str]:
    with serving(create_refunds_sandbox("sk_test_redaction")) as url:
        yield url


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:
    return {
        "REFUNDS_API_BASE": refunds_url,
        "REFUNDS_API_KEY": "sk_test_redaction",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
        "STATUS_PAGE_RATE_LIMIT": "1000 per minute",
    }


@pytest.fixture
def rma(app: Any, client: Any, clock: Any) -> dict[str, str]:
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    services.auth.create_user("buyer@redaction.example", Role.BUYER, PASSWORD)
    number = builders.open_rma(
        services.returns,
        "desk@redaction.example",
        customer={"name": NAME, "email": EMAIL, "phone": PHONE, "address": ADDRESS},
        channel=Channel.PHONE,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference=PAYMENT,
        order_number="SO-77",
        description=(
            f"Fan rattles. Call me on {PHONE} or write to {EMAIL}; paid with {PAYMENT}. "
            f"Collect from {STREET}, Flat 4B; office +44 113 496 0555, Zhou Cooling Ltd."
        ),
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99")}],
    ).number
    builders.authorise(services.returns, "desk@redaction.example", number, carrier="sandbox",
                               tracking_number=TRACKING)  # fmt: skip
    clock.advance(timedelta(hours=1))
    carrier_scan(client, clock, TRACKING, "picked_up")  # releases the refund (a re_ id)
    services.returns.closing.reply(
        "desk@redaction.example", number, f"Dear {NAME}, noted: {PHONE}."
    )
    services.outbox.drain()  # e-mails sent: "E-mail ... sent to mia.chen@..." on the timeline
    view = services.returns.get(number)
    assert view.refund_reference and view.emails
    return {"number": number, "refund": view.refund_reference}


def personal(rma: dict[str, str]) -> list[str]:
    return [
        EMAIL,
        "mia.chen",
        PHONE,
        "7946 0123",
        "442079460123",
        PAYMENT,
        rma["refund"],
        NAME,
        "Zhou-Chen",
        STREET,
        "Juniper",
        "Flat 4B",
        "Zhou Cooling",
        "496 0555",
        "LS1 4AB",
    ]


def leaks(body: bytes, rma: dict[str, str]) -> list[str]:
    if body[:2] == b"PK":  # an xlsx: search every part of the workbook
        with zipfile.ZipFile(io.BytesIO(body)) as workbook:
            body = b"".join(workbook.read(name) for name in workbook.namelist())
    text = body.decode("utf-8", "replace").lower()
    return [value for value in personal(rma) if value.lower() in text]


def buyer_api_paths(number: str) -> list[str]:
    return [
        "/api/v1/returns",
        "/api/v1/returns?state=picked_up&limit=5",
        f"/api/v1/returns/{number}",
        f"/api/v1/returns/{number.lower()}",
        f"/api/v1/shipments/{TRACKING}",
        "/api/v1/metrics",
        "/api/v1/metrics?from=2026-11-01&to=2026-12-31",
        "/api/v1/replacements",
        "/api/v1/parts/FAN-80",
        "/api/v1/stock/FAN-80",
        "/api/v1/stock/FAN-80/moves",
    ]


def test_a_buyer_token_gets_no_customer_data_from_any_endpoint(
    client: Any, rma: dict[str, str], role_headers: Any
) -> None:
    buyer, desk = role_headers[Role.BUYER], role_headers[Role.SERVICE_DESK]
    number = rma["number"]
    control = client.get(f"/api/v1/returns/{number}", headers=desk)
    assert set(leaks(control.data, rma)) >= {EMAIL, PHONE, PAYMENT, rma["refund"], NAME, STREET}
    for path in buyer_api_paths(number):
        response = client.get(path, headers=buyer)
        assert response.status_code in (200, 403), (path, response.status_code)
        assert leaks(response.data, rma) == [], path
    redacted = client.get(f"/api/v1/returns/{number}", headers=buyer).json
    assert redacted["rma_number"] == number and redacted["lines"][0]["sku"] == "FAN-80"
    assert redacted["customer"] == {"name": None, "email": None, "phone": None, "vip": False,
                                    "language": "en", "address": None}  # fmt: skip
    assert redacted["payment_reference"] is None and redacted["emails"] == []
    assert redacted["refund"]["status"] == "released" and redacted["refund"]["reference"] is None
    assert redacted["description"].startswith("Fan rattles. Call me on [redacted]")
    assert any("[redacted]" in entry["reason"] for entry in redacted["timeline"])
    [summary] = client.get("/api/v1/returns", headers=buyer).json["items"]
    assert (summary["customer_name"], summary["customer_email"]) == (None, None)


def test_a_buyer_cannot_probe_for_a_customer_or_fetch_a_label(
    client: Any, rma: dict[str, str], role_headers: Any
) -> None:
    buyer = role_headers[Role.BUYER]
    for who in (EMAIL, NAME, "mia"):
        probe = client.get("/api/v1/returns", query_string={"customer": who}, headers=buyer)
        assert probe.status_code == 403, who
        assert leaks(probe.data, rma) == []
    label = client.get(f"/api/v1/shipments/{TRACKING}/label", headers=buyer)
    assert label.status_code == 403
    desk = client.get(
        "/api/v1/returns", query_string={"customer": EMAIL}, headers=role_headers[Role.SERVICE_DESK]
    )
    assert [item["rma_number"] for item in desk.json["items"]] == [rma["number"]]


def claim_from(app: Any, number: str) -> int:
    """The fan goes back to its supplier: a supplier claim whose fault text is the customer's
    description (which names them)."""
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    services.inventory.create_location(code="MAIN/QUARANTINE", kind=LocationKind.QUARANTINE)
    builders.receive(services.returns, "warehouse@redaction.example", number,
                     lines=[{"sku": "FAN-80", "qty": 1}])  # fmt: skip
    detail = builders.inspect(
        services.returns, "warehouse@redaction.example", number,
        lines=[{"sku": "FAN-80", "disposition": Disposition.RETURN_TO_VENDOR}],
    )  # fmt: skip
    [claim] = detail.claims
    assert "Fan rattles" in claim.fault and PHONE not in claim.fault and EMAIL not in claim.fault
    return int(claim.id)


def test_no_page_open_to_a_buyer_shows_customer_data(app: Any, rma: dict[str, str]) -> None:
    number = rma["number"]
    claim_id = claim_from(app, number)
    client = app.test_client()
    assert sign_in(client, "buyer@redaction.example", PASSWORD).status_code == 302
    pages = [
        rule.replace("<sku>", "FAN-80")
        .replace("<number>", number)
        .replace("<int(max=2147483647):claim_id>", str(claim_id))
        for (method, rule), roles in EXPECTED_PAGE_ROLES.items()
        if method == "GET"
        and roles != "public"
        and Role.BUYER in roles
        and not rule.startswith("/buying/purchase-orders/")
    ]
    pages += ["/?q=FAN-80", "/metrics?from=2026-11-01&to=2026-12-31", f"/returns/{number}"]
    assert "/metrics/report.xlsx" in pages and "/dashboard" in pages
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        assert leaks(response.data, rma) == [], path
