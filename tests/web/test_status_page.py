"""The customer's status page: reached by its signed link only, showing their return only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.dates import format_skeleton

from demo.sandboxes.refunds import create_refunds_sandbox
from inventory.commands import ReceiveStock
from returns.status import Channel, Disposition, Reason, Resolution
from tests.support import desk as builders
from tests.support.sandbox_servers import serving
from tests.support.sandbox_webhooks import sandbox_payload, signed_request
from tests.web.test_pages import csrf_token

STAFF = "desk.person@shop.example"


@pytest.fixture(scope="module")
def refunds_url() -> Iterator[str]:
    with serving(create_refunds_sandbox("sk_test_status")) as url:
        yield url


@pytest.fixture
def app_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:
    return status_page_config(smtp_sink, refunds_url)


def status_page_config(smtp_sink: Any, refunds_url: str) -> dict[str, Any]:
    """The settings of the status page's tests: refunds and e-mail on loopback."""
    return {
        "REFUNDS_API_BASE": refunds_url,
        "REFUNDS_API_KEY": "sk_test_status",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_sink.port,
        "PUBLIC_URL": "https://returns.example.com",
        "STATUS_PAGE_GRACE_DAYS": 10,
        "STATUS_PAGE_RATE_LIMIT": "1000 per minute",
    }


@pytest.fixture
def shop(app: Any) -> Any:
    services = app.extensions["spareflow"]
    services.inventory.create_location(code="MAIN/A-01-01")
    services.inventory.create_location(code="MAIN/RETURNS")
    services.inventory.create_part(sku="FAN-80", name="Cooling fan 80mm")
    services.inventory.receive("setup", ReceiveStock(sku="FAN-80", location="MAIN/A-01-01", qty=4))
    return services


def open_return(services: Any, resolution: Resolution = Resolution.REFUND, **fields: Any) -> str:
    view = builders.open_rma(
        services.returns,
        STAFF,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=resolution,
        payment_reference="pi_123",
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99"), "serial": "S-1"}],
        **fields,
    )
    return view.number


def link(services: Any, number: str) -> str:
    return services.status_links.issue(number).removeprefix("https://returns.example.com")


def carrier_scan(client: Any, clock: Any, tracking: str, status: str) -> None:
    request = signed_request(sandbox_payload(tracking, status, clock.now()), clock.now())
    response = client.post(
        "/webhooks/carriers/sandbox", data=request.body, headers=dict(request.headers)
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_page_follows_the_return_through_each_state(client, shop, clock) -> None:
    number = open_return(shop)
    url = link(shop, number)
    page = client.get(url).get_data(as_text=True)
    assert f"Return {number}" in page and 'class="current">Request received' in page

    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-1")
    page = client.get(url).get_data(as_text=True)
    assert 'class="current">Return authorised' in page and "SBX-1" in page
    assert "released as soon as the carrier collects your parcel" in page
    assert "hand the parcel to the carrier by Dec 7, 2026." in page

    clock.advance(timedelta(hours=1))
    carrier_scan(client, clock, "SBX-1", "picked_up")
    shop.outbox.drain()
    page = client.get(url).get_data(as_text=True)
    assert 'class="current">Parcel with the carrier' in page
    assert "released on Nov 23, 2026, back to the payment you used" in page
    assert "24.99 USD" in page
    assert "picked up" in page  # the carrier's scan

    builders.receive(shop.returns, STAFF, number, lines=[{"sku": "FAN-80", "qty": 1}])
    assert 'class="current">Parcel at our warehouse' in client.get(url).get_data(as_text=True)
    builders.inspect(
        shop.returns,
        STAFF,
        number,
        lines=[{"sku": "FAN-80", "disposition": Disposition.RESTOCK, "location": "MAIN/A-01-01"}],
    )
    assert 'class="current">Parts inspected' in client.get(url).get_data(as_text=True)
    shop.returns.closing.close(STAFF, number)
    page = client.get(url).get_data(as_text=True)
    assert 'class="current">Complete' in page and 'id="feedback"' in page
    # Nothing internal: no staff, no notes, no other customer's data.
    assert STAFF not in page and "desk.person" not in page
    assert "Opened via" not in page and "pi_123" not in page


def test_the_customer_answers_the_follow_up_on_the_page(client, shop) -> None:
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-2")
    builders.receive(shop.returns, STAFF, number, lines=[{"sku": "FAN-80", "qty": 1}])
    shop.returns.closing.close(STAFF, number)
    url = link(shop, number)
    token = csrf_token(client.get(url).get_data(as_text=True))
    refused = client.post(f"{url}/feedback", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "Choose a score from 1 to 5" in client.get(url).get_data(as_text=True)
    client.post(
        f"{url}/feedback",
        data={"csrf_token": token, "satisfaction": "4", "confirmed_fixed": "y", "comment": "Quick"},
    )
    page = client.get(url).get_data(as_text=True)
    assert "Thank you for rating us 4/5" in page and 'id="feedback"' not in page
    rma = shop.returns.get(number)
    assert (rma.satisfaction, rma.satisfaction_comment, rma.confirmed_fixed) == (4, "Quick", True)
    # Without the CSRF token nothing is recorded.
    assert client.post(f"{url}/feedback", data={"satisfaction": "1"}).status_code == 400
    assert shop.returns.get(number).satisfaction == 4


def test_a_replacement_shows_its_carrier_and_tracking_link(client, shop) -> None:
    shop.returns.ctx.addresses.tracking_urls["sandbox"] = "https://track.example/?n={number}"
    number = open_return(shop, Resolution.REPLACEMENT)
    view = builders.authorise(
        shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-3"
    )
    builders.ship(
        shop.returns, STAFF, view.replacements[0].id, carrier="sandbox", tracking_number="OUT-9"
    )
    page = client.get(link(shop, number)).get_data(as_text=True)
    assert "shipped with sandbox" in page
    assert '<a href="https://track.example/?n=OUT-9">OUT-9</a>' in page


def test_the_printable_return_sheet_has_the_full_address_and_the_qr_code(client, shop) -> None:
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-4")
    sheet = client.get(link(shop, number) + "/sheet").get_data(as_text=True)
    assert f"Return {number}" in sheet and "<svg" in sheet
    for value in ("Returns dept", "1 Dock Road", "Leeds", "LS1 1AA", "GB"):
        assert value in sheet


def test_a_tampered_unknown_old_style_or_expired_link_is_a_plain_404(client, shop, clock) -> None:
    number = open_return(shop)
    url = link(shop, number)
    token = url.rsplit("/", 1)[1]
    tampered = url[:-3] + ("xyz" if not url.endswith("xyz") else "abc")
    assert client.get(tampered).status_code == 404
    assert client.get("/status/not-a-token").status_code == 404
    assert client.get(f"/status/{token}x/sheet").status_code == 404
    # The link of the old kind (the RMA number signed with SECRET_KEY) opens nothing now.
    from itsdangerous import URLSafeSerializer

    signed = URLSafeSerializer("test-secret-key", salt="rma-status-page").dumps(number)
    assert client.get(f"/status/{signed}").status_code == 404
    # A link to an RMA that does not exist, and the RMA number itself.
    assert client.get("/status/RMA-20990101-0001").status_code == 404
    assert client.get(f"/status/{number}").status_code == 404

    shop.returns.authorisation.cancel(STAFF, number, "customer changed their mind")
    assert client.get(url).status_code == 200  # still there during the grace period
    assert "This return was cancelled" in client.get(url).get_data(as_text=True)
    clock.advance(timedelta(days=10, seconds=1))
    expired = client.get(url)
    assert expired.status_code == 404
    assert number not in expired.get_data(as_text=True)


def test_the_authorisation_email_links_to_the_page(client, shop, clock, smtp_sink) -> None:
    number = open_return(shop)
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-5")
    shop.outbox.drain()
    [message] = smtp_sink.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    [url] = re.findall(r"https://returns\.example\.com/status/\S+", text)
    page = client.get(url.removeprefix("https://returns.example.com"))
    assert page.status_code == 200 and f"Return {number}" in page.get_data(as_text=True)


def test_the_page_is_rate_limited(app, client, shop) -> None:
    app.config["STATUS_PAGE_RATE_LIMIT"] = "3 per minute"
    number = open_return(shop)
    url = link(shop, number).replace("https://returns.example.com", "")
    url = "/status/" + url.rsplit("/", 1)[1]
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_page_speaks_the_customers_language(client, shop) -> None:
    view = builders.open_rma(
        shop.returns,
        STAFF,
        customer={"name": "王芳", "email": "wang@example.cn", "language": "zh-CN"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_9",
        lines=[{"sku": "FAN-80", "qty": 1, "unit_price": Decimal("24.99")}],
    )
    number = view.number
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-ZH")
    # Whatever the browser asks for, the page follows the customer's language.
    page = client.get(link(shop, number), headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert f"退货 {number}" in html and 'class="current">退货已批准' in html
    assert "快递公司揽收您的包裹后立即发放。" in html
    assert "Return authorised" not in html
    sheet = client.get(link(shop, number) + "/sheet").get_data(as_text=True)
    assert "Please put this sheet" not in sheet


def test_a_backordered_replacement_shows_when_it_is_expected_then_that_it_is_in_stock(
    client, shop, clock
) -> None:
    shop.inventory.create_part(sku="PSU-65", name="Power supply 65W", lead_time_days=10)
    number = builders.open_rma(
        shop.returns,
        STAFF,
        customer={"name": "Mia Chen", "email": "mia@example.com"},
        channel=Channel.WEB,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REPLACEMENT,
        lines=[{"sku": "PSU-65", "qty": 1, "unit_price": Decimal("40")}],
    ).number
    builders.authorise(shop.returns, STAFF, number, carrier="sandbox", tracking_number="SBX-7")
    url = link(shop, number)
    expected = format_skeleton("yMMMd", clock.now().date() + timedelta(days=10), locale="en")
    page = client.get(url).get_data(as_text=True)
    assert "waiting for stock" in page and f"expected around {expected} (estimated)" in page

    shop.inventory.receive("goods-in", ReceiveStock(sku="PSU-65", location="MAIN/A-01-01", qty=1))

    page = client.get(url).get_data(as_text=True)
    assert "waiting for stock" not in page
    assert "in stock, being prepared for shipping" in page


def test_an_enquirys_page_shows_its_own_steps_highlighted(client, shop) -> None:
    """No parcel steps for a question: open -> answered -> resolved -> complete, the current
    one highlighted as the desk moves the case."""
    from returns.cases import OpenCase
    from returns.commands import Customer
    from returns.status import CaseKind

    number = shop.returns.cases.open(
        STAFF,
        OpenCase(
            kind=CaseKind.ENQUIRY,
            customer=Customer(name="Mia Chen", email="mia@example.com"),
            channel=Channel.WEB,
            description="Which fan fits the X200?",
        ),
    ).number
    url = link(shop, number)
    page = client.get(url).get_data(as_text=True)
    assert 'data-step="open" class="current">We are looking at it' in page
    assert "Request received" not in page and "Parcel with the carrier" not in page
    assert f"<h1>Question {number}</h1>" in page and "Your return" not in page
    shop.returns.cases.move(STAFF, number, "wait")
    page = client.get(url).get_data(as_text=True)
    assert 'data-step="open" class="done"' in page
    assert 'data-step="answered" class="current"' in page
    shop.returns.cases.move(STAFF, number, "resolve")
    page = client.get(url).get_data(as_text=True)
    assert 'data-step="resolved" class="current"' in page
    assert 'data-step="closed" class="todo"' in page
