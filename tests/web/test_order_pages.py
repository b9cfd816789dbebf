"""The desk's order pages through the Flask client: the list and its search, an order's page
with what came back and the RMAs made from it, and a return opened from an order (looked up
on the new-return form)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Role
from core.addresses import PostalAddress
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from tests.web.test_desk_pages import desk_app, signed_in  # noqa: F401  (fixture, helper)
from tests.web.test_pages import csrf_token

ADDRESS = PostalAddress(
    name="Mia Chen", street="1 High Street", city="London", postcode="SW1A 1AA", country="GB"
)


def feed(app: Any, number: str, email: str = "mia@example.com", name: str = "Mia Chen") -> None:
    app.extensions["spareflow"].orders.upsert(
        UpsertOrder(
            number=number,
            channel="webshop",
            customer=OrderCustomer(name, email, None, ADDRESS),
            # The tests' clock is 2026-11-23: the window (30 days) is open, so is the warranty.
            ordered_at=datetime(2026, 11, 1, 10, tzinfo=UTC),
            shipped_at=datetime(2026, 11, 3, 16, tzinfo=UTC),
            payment_reference="pi_1001",
            currency="USD",
            lines=(OrderLineInput("FAN-80", 2, Decimal("19.90"), ("FAN-A", "FAN-B")),),
        )
    )


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Several people sign in per test, twice per test (SQLite, PostgreSQL) in one minute.
    return {"SIGN_IN_RATE_LIMIT": "1000 per minute"}


@pytest.fixture
def orders_app(desk_app: Any) -> Any:  # noqa: F811
    feed(desk_app, "#1001")
    feed(desk_app, "#1002", email="li@example.cn", name="Li Wei")
    return desk_app


def pick(token: str, qty: str = "1", serials: str = "", **overrides: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "channel": "phone",
        "reason": "defective",
        "resolution": "refund",
        "priority": "medium",
        "description": "Rattles",
        "lines-0-sku": "FAN-80",
        "lines-0-qty": qty,
        "lines-0-serials": serials,
        **overrides,
    }


def test_the_orders_page_lists_and_searches_by_number_or_email(orders_app: Any) -> None:
    client = signed_in(orders_app, Role.SERVICE_DESK)
    html = client.get("/orders").get_data(as_text=True)
    assert 'id="nav-orders"' in html
    assert html.index("#1002") < html.index("#1001")  # newest first
    by_email = client.get("/orders?q=LI@example").get_data(as_text=True)
    assert "#1002" in by_email and "#1001" not in by_email
    by_number = client.get("/orders?q=%231001").get_data(as_text=True)
    assert 'href="/orders/%231001"' in by_number and "#1002" not in by_number
    assert "No order matches" in client.get("/orders?q=nobody").get_data(as_text=True)


def test_a_return_from_an_order_takes_its_price_and_shows_on_the_orders_page(
    orders_app: Any,
) -> None:
    client = signed_in(orders_app, Role.SERVICE_DESK)
    looked_up = client.get("/returns/new?order=%231001")
    assert looked_up.status_code == 302
    assert looked_up.headers["Location"] == "/orders/%231001/return"
    form = client.get(looked_up.headers["Location"]).get_data(as_text=True)
    assert "Mia Chen" in form and "pi_1001" in form
    assert re.search(r'class="window"><span class="good">open until Dec 3, 2026', form)
    assert "Shipped: FAN-A, FAN-B" in form
    response = client.post("/orders/%231001/return", data=pick(csrf_token(form), serials="FAN-B"))
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    rma = orders_app.extensions["spareflow"].rma_queries.get(location.rsplit("/", 1)[1])
    assert (rma.order_number, rma.payment_reference) == ("#1001", "pi_1001")
    assert [(line.sku, line.serial, line.unit_price) for line in rma.lines] == [
        ("FAN-80", "FAN-B", Decimal("19.9000"))
    ]
    page = client.get("/orders/%231001").get_data(as_text=True)
    assert re.search(r'class="num returned">1<', page)
    assert re.search(r'class="num returnable">1<', page)
    assert f'href="{location}"' in page  # the RMA, linked from its order


def test_picking_more_than_is_left_is_refused_at_the_line(orders_app: Any) -> None:
    client = signed_in(orders_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/orders/%231001/return").get_data(as_text=True))
    response = client.post("/orders/%231001/return", data=pick(token, qty="3"))
    assert response.status_code == 422
    assert "Only 2 of FAN-80 can still be returned on this order." in response.get_data(
        as_text=True
    )
    nothing = client.post("/orders/%231001/return", data=pick(token, qty="0"))
    assert "Choose how many of at least one line come back." in nothing.get_data(as_text=True)
    assert orders_app.extensions["spareflow"].rma_queries.matching() == []


def test_an_unknown_order_number_falls_back_to_the_typed_form(orders_app: Any) -> None:
    client = signed_in(orders_app, Role.SERVICE_DESK)
    response = client.get("/returns/new?order=SO-ELSEWHERE")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "No stored order SO-ELSEWHERE: type the return in." in html
    assert 'value="SO-ELSEWHERE"' in html
    assert client.get("/orders/SO-ELSEWHERE").status_code == 404


def test_the_order_pages_speak_chinese_too(orders_app: Any) -> None:
    client = signed_in(orders_app, Role.SERVICE_DESK)
    token = csrf_token(client.get("/orders").get_data(as_text=True))
    client.post("/account/language", data={"csrf_token": token, "language": "zh_Hans"})
    html = client.get("/orders/%231001").get_data(as_text=True)
    # Strings the catalogue has already; the new ones follow when the lead regenerates it.
    assert "<dt>客户</dt>" in html and "<dt>电子邮箱</dt>" in html


def test_buyers_and_the_warehouse_do_not_see_orders(orders_app: Any) -> None:
    for role in (Role.BUYER, Role.WAREHOUSE):
        client = signed_in(orders_app, role)
        assert client.get("/orders").status_code == 403
        assert client.get("/orders/%231001").status_code == 403
        assert 'id="nav-orders"' not in client.get("/dashboard").get_data(as_text=True)
