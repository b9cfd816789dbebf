"""Shopify's order webhooks, received by the domain service on SQLite and PostgreSQL.

The bodies are Shopify's samples (tests/fixtures/shopify/README.md), signed as Shopify signs
them; each test reads the result back through ``Orders.get`` and the stored events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from sales.models import OrderSource, OrderWebhookEvent, OrderWebhookStatus, SalesOrder
from sales.order_webhooks import ShopifyOrderWebhooks, WebhookReceipt
from sales.orders import Orders
from sales.shopify import OrderWebhookRejected, ShopifyPayloadError, hmac_of, signature_matches

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"
SECRET = "hush"
#: ``openssl dgst -sha256 -hmac hush -binary < orders_create.json | base64``: computed outside
#: Python, so the test does not check the code against itself.
ORDERS_CREATE_HMAC = "5aJ8yzRvtm6CK7rQFu2rCP6kf8UDhUJ7jC79r+Z7pps="


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def changed(name: str, **fields: Any) -> bytes:
    payload = json.loads(fixture(name))
    payload.update(fields)
    return json.dumps(payload).encode()


@pytest.fixture
def webhooks(session_factory: sessionmaker[Session], clock: FrozenClock) -> ShopifyOrderWebhooks:
    return ShopifyOrderWebhooks(session_factory, clock, SECRET)


@pytest.fixture
def orders(session_factory: sessionmaker[Session], clock: FrozenClock) -> Orders:
    return Orders(session_factory, clock)


Deliver = Callable[..., WebhookReceipt]


@pytest.fixture
def deliver(webhooks: ShopifyOrderWebhooks) -> Deliver:
    counter = iter(range(1, 1000))

    def send(topic: str, body: bytes, webhook_id: str | None = None) -> WebhookReceipt:
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": hmac_of(SECRET, body),
            "X-Shopify-Shop-Domain": "johns-apparel.myshopify.com",
            "X-Shopify-API-Version": "2026-04",
            "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-0000-4b37-8a5f-{next(counter):012d}",
        }
        return webhooks.receive(body, headers)

    return send


def events(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str, str | None]]:
    with session_factory() as session:
        rows = session.scalars(select(OrderWebhookEvent).order_by(OrderWebhookEvent.id)).all()
        return [(row.provider, row.topic, row.status.value, row.error) for row in rows]


def refunded(session_factory: sessionmaker[Session], number: str = "#9999") -> int:
    with session_factory() as session:
        order = session.scalars(select(SalesOrder).where(SalesOrder.number == number)).one()
        return order.refunded_elsewhere_minor


# --- verification -------------------------------------------------------------------------


def test_the_signature_of_the_sample_body_is_the_one_computed_outside_python() -> None:
    body = fixture("orders_create.json")
    assert hmac_of(SECRET, body) == ORDERS_CREATE_HMAC
    assert signature_matches(SECRET, body, ORDERS_CREATE_HMAC)
    assert not signature_matches(SECRET, body + b"\n", ORDERS_CREATE_HMAC)
    assert not signature_matches("other", body, ORDERS_CREATE_HMAC)
    assert not signature_matches(SECRET, body, ORDERS_CREATE_HMAC.lower())
    assert not signature_matches(SECRET, body, "not base64!")
    assert not signature_matches(SECRET, body, "")


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "header is missing"),
        ({"X-Shopify-Hmac-Sha256": ""}, "header is missing"),
        ({"X-Shopify-Hmac-Sha256": hmac_of("guessed", b"{}")}, "does not match"),
        ({"X-Shopify-Hmac-Sha256": "garbage"}, "does not match"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_stored(
    webhooks: ShopifyOrderWebhooks,
    session_factory: sessionmaker[Session],
    headers: dict[str, str],
    message: str,
) -> None:
    body = fixture("orders_create.json")
    sent = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w-1", **headers}
    with pytest.raises(OrderWebhookRejected, match=message):
        webhooks.receive(body, sent)
    assert events(session_factory) == []


def test_without_a_secret_every_delivery_is_refused_as_not_configured(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    unconfigured = ShopifyOrderWebhooks(session_factory, clock, "")
    body = fixture("orders_create.json")
    headers = {"X-Shopify-Hmac-Sha256": hmac_of("", body), "X-Shopify-Webhook-Id": "w-1"}
    with pytest.raises(OrderWebhookRejected, match="not configured"):
        unconfigured.receive(body, headers)


def test_a_verified_delivery_without_webhook_id_is_a_bad_request(
    webhooks: ShopifyOrderWebhooks, session_factory: sessionmaker[Session]
) -> None:
    body = fixture("orders_create.json")
    headers = {"x-shopify-topic": "orders/create", "x-shopify-hmac-sha256": hmac_of(SECRET, body)}
    with pytest.raises(ShopifyPayloadError, match="X-Shopify-Webhook-Id"):
        webhooks.receive(body, headers)
    assert events(session_factory) == []


# --- orders -------------------------------------------------------------------------------


def test_the_sample_order_is_stored_and_readable_through_the_orders_service(
    deliver: Deliver, orders: Orders, session_factory: sessionmaker[Session]
) -> None:
    receipt = deliver("orders/create", fixture("orders_create.json"))

    assert receipt == WebhookReceipt(OrderWebhookStatus.APPLIED, duplicate=False)
    order = orders.get("#9999")
    assert order.channel == "shopify"
    assert order.source is OrderSource.SHOPIFY
    assert order.external_id == "820982911946154508"
    assert order.customer_name == "John Smith"
    assert order.customer_email == "jon@doe.ca"
    assert order.ordered_at == datetime(2019, 6, 4, 17, 53, 6, tzinfo=UTC)
    assert order.shipped_at is None
    assert order.currency == "USD"
    assert order.payment_reference == "820982911946154508"
    assert [(line.sku, line.qty, line.unit_price, line.external_id) for line in order.lines] == [
        ("IPOD2008PINK", 1, Decimal("199.00"), "866550311766439020"),
        ("IPOD2008PINK", 1, Decimal("199.00"), "141249953214522974"),
    ]
    # The sample's shipping phone "555-555-SHIP" breaks the phone rule: the order is kept
    # without the address, and the stored event says why.
    assert order.address is None
    [(_, topic, status, note)] = events(session_factory)
    assert (topic, status) == ("orders/create", "applied")
    assert note == "shipping address dropped (phone: bad_phone)"


def test_a_valid_shipping_address_is_kept(deliver: Deliver, orders: Orders) -> None:
    sample = json.loads(fixture("orders_create.json"))
    address = {**sample["shipping_address"], "phone": "+1 555 555 0100", "address2": "Suite 4"}
    deliver("orders/create", changed("orders_create.json", shipping_address=address))

    kept = orders.get("#9999").address
    assert kept is not None
    assert (kept.name, kept.company, kept.street, kept.street2) == (
        "Steve Shipper", "Shipping Company", "123 Shipping Street", "Suite 4",
    )  # fmt: skip
    assert (kept.city, kept.state, kept.postcode, kept.country, kept.phone) == (
        "Shippington", "Kentucky", "40003", "US", "+1 555 555 0100",
    )  # fmt: skip


def test_a_line_without_sku_is_left_out_and_noted(
    deliver: Deliver, orders: Orders, session_factory: sessionmaker[Session]
) -> None:
    sample = json.loads(fixture("orders_create.json"))
    tip = {**sample["line_items"][1], "sku": None, "id": 555}
    deliver(
        "orders/create", changed("orders_create.json", line_items=[sample["line_items"][0], tip])
    )

    assert [line.external_id for line in orders.get("#9999").lines] == ["866550311766439020"]
    assert "line items without a SKU left out: 555" in (events(session_factory)[0][3] or "")


def test_a_repeated_webhook_id_is_answered_and_applies_nothing(
    deliver: Deliver, orders: Orders, session_factory: sessionmaker[Session]
) -> None:
    deliver("orders/create", fixture("orders_create.json"), webhook_id="same")
    first = orders.get("#9999")
    # The same delivery id again, even with another body: nothing changes.
    again = deliver(
        "orders/create", changed("orders_create.json", email="x@y.z"), webhook_id="same"
    )

    assert again == WebhookReceipt(OrderWebhookStatus.APPLIED, duplicate=True)
    assert orders.get("#9999") == first
    assert len(events(session_factory)) == 1


def test_fulfilled_before_create_keeps_the_newer_fulfilled_copy(
    deliver: Deliver, orders: Orders, session_factory: sessionmaker[Session]
) -> None:
    assert deliver("orders/fulfilled", fixture("orders_fulfilled.json")).status == "applied"
    late = deliver("orders/create", fixture("orders_create.json"))

    assert late.status is OrderWebhookStatus.IGNORED
    order = orders.get("#9999")
    assert order.shipped_at == datetime(2019, 6, 5, 13, 12, 40, tzinfo=UTC)
    assert [status for _, _, status, _ in events(session_factory)] == ["applied", "ignored"]
    assert "older than the stored copy" in (events(session_factory)[1][3] or "")


def test_a_newer_update_replaces_and_an_older_one_arriving_late_changes_nothing(
    deliver: Deliver, orders: Orders
) -> None:
    deliver("orders/create", fixture("orders_create.json"))
    newer = changed("orders_create.json", updated_at="2019-06-07T08:00:00-04:00", email="n@e.w")
    older = changed("orders_create.json", updated_at="2019-06-06T08:00:00-04:00", email="o@l.d")

    assert deliver("orders/updated", newer).status is OrderWebhookStatus.APPLIED
    assert deliver("orders/updated", older).status is OrderWebhookStatus.IGNORED
    assert orders.get("#9999").customer_email == "n@e.w"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "The body is not JSON."),
        (b"[]", "not a Shopify order"),
        (json.dumps({"id": 1, "line_items": []}).encode(), "has no name"),
        (changed("orders_create.json", created_at=None), "created_at is missing"),
        (changed("orders_create.json", line_items=[]), "lines: An order has at least one line."),
        (changed("orders_create.json", email=None, contact_email=None, customer=None),
         "customer.email"),
    ],
)  # fmt: skip
def test_an_authentic_body_that_cannot_be_applied_is_stored_failed(
    deliver: Deliver, session_factory: sessionmaker[Session], body: bytes, reason: str
) -> None:
    receipt = deliver("orders/create", body)

    assert receipt == WebhookReceipt(OrderWebhookStatus.FAILED, duplicate=False)
    [(_, _, status, error)] = events(session_factory)
    assert status == "failed" and reason in (error or "")
    with session_factory() as session:
        assert session.scalars(select(SalesOrder)).all() == []


def test_an_unknown_topic_is_stored_ignored(
    deliver: Deliver, session_factory: sessionmaker[Session]
) -> None:
    receipt = deliver("products/update", b'{"id": 1}')
    assert receipt.status is OrderWebhookStatus.IGNORED
    assert events(session_factory) == [
        ("shopify", "products/update", "ignored", "topic products/update is not used")
    ]


# --- refunds ------------------------------------------------------------------------------


def test_a_refund_is_counted_once_per_refund_id(
    deliver: Deliver, session_factory: sessionmaker[Session]
) -> None:
    deliver("orders/create", fixture("orders_create.json"))
    refund = fixture("refunds_create.json")

    first = deliver("refunds/create", refund, webhook_id="r-1")
    assert first == WebhookReceipt(OrderWebhookStatus.APPLIED, duplicate=False)
    # The first delivery repeated (same webhook id): answered, nothing applied.
    assert deliver("refunds/create", refund, webhook_id="r-1").duplicate
    # The same refund through another delivery (another subscription, a new webhook id):
    assert deliver("refunds/create", refund).status is OrderWebhookStatus.IGNORED

    assert refunded(session_factory) == 19900
    claims = [row for row in events(session_factory) if row[0] == "shopify_refund"]
    assert claims == [
        ("shopify_refund", "refunds/create", "applied", "order #9999: 19900 minor units")
    ]


def test_only_successful_refund_transactions_count(
    deliver: Deliver, session_factory: sessionmaker[Session]
) -> None:
    deliver("orders/create", fixture("orders_create.json"))
    sample = json.loads(fixture("refunds_create.json"))
    done = sample["transactions"][0]
    transactions = [
        done,
        {**done, "id": 2, "amount": "50.00", "status": "failure"},
        {**done, "id": 3, "amount": "7.50", "kind": "refund", "status": "success"},
        {**done, "id": 4, "amount": "80.00", "kind": "sale", "status": "success"},
    ]
    deliver("refunds/create", changed("refunds_create.json", transactions=transactions))

    assert refunded(session_factory) == 19900 + 750


def test_a_refund_before_its_order_waits_and_counts_when_the_order_arrives(
    deliver: Deliver, session_factory: sessionmaker[Session]
) -> None:
    waiting = deliver("refunds/create", fixture("refunds_create.json"))
    assert waiting.status is OrderWebhookStatus.RECEIVED

    deliver("orders/create", fixture("orders_create.json"))
    deliver("orders/updated", changed("orders_create.json", updated_at="2019-06-08T00:00:00Z"))

    assert refunded(session_factory) == 19900
    statuses = [(topic, status) for provider, topic, status, _ in events(session_factory)
                if provider == "shopify"]  # fmt: skip
    assert statuses == [
        ("refunds/create", "applied"), ("orders/create", "applied"), ("orders/updated", "applied"),
    ]  # fmt: skip


def test_an_unreadable_refund_is_stored_failed(
    deliver: Deliver, session_factory: sessionmaker[Session]
) -> None:
    deliver("orders/create", fixture("orders_create.json"))
    receipt = deliver("refunds/create", changed("refunds_create.json", transactions=None))

    assert receipt.status is OrderWebhookStatus.FAILED
    assert refunded(session_factory) == 0
