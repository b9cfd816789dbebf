"""A Shopify order's RMA is refunded through Shopify, released by the carrier's pickup scan,
exactly once; every other RMA still goes to the Stripe-shaped provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from carriers.services import CarrierService
from core.db import UnitOfWork
from core.outbox import OutboxMessage, OutboxStatus, OutboxWorker
from inventory.status import LocationKind
from returns.policy import ReturnPolicy
from returns.refund_provider import StripeRefunds
from returns.refund_providers import NO_SHOPIFY_PROVIDER
from returns.shopify_refunds import ShopifyRefunds, idempotency_marker
from returns.status import Channel, Reason, RefundStatus, Resolution
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.models import OrderSource
from sales.orders import upsert_in
from tests.conftest import RETURN_ADDRESS
from tests.support import desk as builders
from tests.support.fake_shopify import FakeShopify, fake_shopify
from tests.support.sandbox_webhooks import sandbox_adapter, sandbox_payload, signed_request

DESK = "desk@x.example"
SHOPIFY_ORDER_ID = "450789469"


@pytest.fixture
def flow(
    stocked: Any,
    session_factory: Any,
    clock: Any,
    refunds_sandbox: Any,
    carrier_sandbox: str,
    refunds_made: Any,
) -> Iterator[dict[str, Any]]:
    stocked.create_location(code="MAIN/RETURNS", kind=LocationKind.RETURNS)
    with httpx.Client(timeout=10) as http, fake_shopify() as shop:
        carriers = CarrierService(
            session_factory, clock, {"sandbox": sandbox_adapter(carrier_sandbox)}
        )
        carriers.adapters["sandbox"].http = http
        returns = builders.wire_returns(
            session_factory,
            clock,
            ReturnPolicy(auto_refund_limit_minor=20_000, customer_refund_limit_minor=90_000),
            carriers,
            StripeRefunds(refunds_sandbox[0], "sk_test_returns", http),
            return_address=RETURN_ADDRESS,
        )
        settings = {"SHOPIFY_ADMIN_API_BASE": shop.api_base, "SHOPIFY_ACCESS_TOKEN": ""}
        returns.ctx.shopify_refunds = lambda: ShopifyRefunds.from_settings(settings, http=http)
        settings["SHOPIFY_ACCESS_TOKEN"] = shop.access_token  # read on each use
        shop.add_order(SHOPIFY_ORDER_ID, paid="80.00", currency="EUR")
        yield {
            "returns": returns,
            "carriers": carriers,
            "worker": OutboxWorker(session_factory, clock, returns.outbox_handlers()),
            "shop": shop,
            "settings": settings,
            "session_factory": session_factory,
        }


def sales_order(flow: dict[str, Any], clock: Any, number: str, source: OrderSource) -> None:
    command = UpsertOrder(
        number=number,
        channel=source.value,
        customer=OrderCustomer(name="Mia Chen", email="mia@example.com"),
        ordered_at=clock.now() - timedelta(days=3),
        currency="EUR",
        lines=(OrderLineInput(sku="ABC-1", qty=1, unit_price=Decimal("24.99"), external_id="51"),),
        source=source,
        external_id=SHOPIFY_ORDER_ID if source is OrderSource.SHOPIFY else None,
        payment_reference="pi_3OrderPaid",
    )
    with UnitOfWork(flow["session_factory"]) as uow:
        upsert_in(uow.session, command, clock.now())
        uow.commit()


def picked_up(flow: dict[str, Any], clock: Any, order_number: str, tracking: str) -> str:
    returns = flow["returns"]
    number = builders.open_rma(
        returns,
        DESK,
        customer={"name": "Mia Chen", "email": f"mia-{tracking.lower()}@example.com"},
        channel=Channel.EMAIL,
        reason=Reason.DEFECTIVE,
        resolution=Resolution.REFUND,
        payment_reference="pi_3OrderPaid",
        order_number=order_number,
        lines=[{"sku": "ABC-1", "qty": 1, "unit_price": Decimal("24.99")}],
    ).number
    builders.authorise(returns, DESK, number, carrier="sandbox", tracking_number=tracking)
    body = sandbox_payload(tracking, "picked_up", clock.now())
    flow["carriers"].receive_webhook("sandbox", signed_request(body, clock.now()))
    return number


def run_again(flow: dict[str, Any], number: str) -> None:
    """The refund's outbox message runs once more (a worker that died before its commit)."""
    with UnitOfWork(flow["session_factory"]) as uow:
        message = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"refund:{number}")
        ).one()
        message.status, message.attempts = OutboxStatus.PENDING, 0
        message.next_attempt_at = message.created_at
        uow.commit()
    flow["worker"].drain()


def test_a_shopify_orders_refund_goes_to_shopify_once_even_when_its_message_runs_twice(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    shop: FakeShopify = flow["shop"]
    sales_order(flow, clock, "#1001", OrderSource.SHOPIFY)
    number = picked_up(flow, clock, "#1001", "SBX-SH1")
    flow["worker"].drain()

    rma = flow["returns"].get(number)
    [made] = shop.refunds_of(SHOPIFY_ORDER_ID)
    assert rma.refund_status is RefundStatus.RELEASED
    assert rma.refund_reference == str(made["id"])
    assert [t["amount"] for t in made["transactions"]] == ["24.99"]
    assert idempotency_marker(f"refund:{number}") in made["note"]
    assert refunds_made == []  # nothing went to the Stripe-shaped provider
    assert any("sent to Shopify" in t.reason for t in rma.timeline if t.kind == "refund")

    run_again(flow, number)
    assert len(shop.refunds_of(SHOPIFY_ORDER_ID)) == 1 and len(shop.posted_refunds()) == 1
    assert flow["returns"].get(number).refund_reference == str(made["id"])


def test_shopifys_lost_answer_is_retried_by_the_outbox_without_a_second_refund(
    flow: dict[str, Any], clock: Any
) -> None:
    shop: FakeShopify = flow["shop"]
    sales_order(flow, clock, "#1002", OrderSource.SHOPIFY)
    number = picked_up(flow, clock, "#1002", "SBX-SH2")
    shop.drop_answer_after_next("refund_create")
    flow["worker"].drain()
    assert flow["returns"].get(number).refund_status is RefundStatus.PENDING  # will retry
    assert len(shop.refunds_of(SHOPIFY_ORDER_ID)) == 1

    clock.advance(timedelta(hours=1))
    flow["worker"].drain()
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.RELEASED
    assert rma.refund_reference == str(shop.refunds_of(SHOPIFY_ORDER_ID)[0]["id"])
    assert len(shop.refunds_of(SHOPIFY_ORDER_ID)) == 1 and len(shop.posted_refunds()) == 1


def test_shopifys_refusal_sends_the_refund_back_to_the_desk(
    flow: dict[str, Any], clock: Any
) -> None:
    shop: FakeShopify = flow["shop"]
    shop.add_order(SHOPIFY_ORDER_ID, paid="10.00", currency="EUR")  # less than 24.99 left
    sales_order(flow, clock, "#1003", OrderSource.SHOPIFY)
    number = picked_up(flow, clock, "#1003", "SBX-SH3")
    flow["worker"].drain()
    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.FAILED
    assert "Shopify 422" in (rma.refund_error or "")
    assert shop.refunds_of(SHOPIFY_ORDER_ID) == []


def test_any_other_order_still_goes_to_the_stripe_shaped_provider(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    sales_order(flow, clock, "WEB-77", OrderSource.API)
    number = picked_up(flow, clock, "WEB-77", "SBX-SH4")
    no_order = picked_up(flow, clock, "", "SBX-SH5")
    flow["worker"].drain()

    assert flow["returns"].get(number).refund_status is RefundStatus.RELEASED
    assert flow["returns"].get(no_order).refund_status is RefundStatus.RELEASED
    assert len(refunds_made) == 2
    assert flow["shop"].requests == []


def test_a_shopify_order_without_shopify_configured_is_held_saying_so(
    flow: dict[str, Any], clock: Any, refunds_made: list[Any]
) -> None:
    flow["settings"]["SHOPIFY_ACCESS_TOKEN"] = ""
    sales_order(flow, clock, "#1004", OrderSource.SHOPIFY)
    number = picked_up(flow, clock, "#1004", "SBX-SH6")
    flow["worker"].drain()

    rma = flow["returns"].get(number)
    assert rma.refund_status is RefundStatus.HELD
    assert rma.refund_hold_reason == NO_SHOPIFY_PROVIDER
    assert refunds_made == [] and flow["shop"].requests == []  # never to Stripe instead
