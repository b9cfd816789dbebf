"""Sales orders by number: idempotent feeds, late older copies, racing creators."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import InvalidInput, NotFound
from sales.commands import OrderCustomer, OrderLineInput, UpsertOrder
from sales.models import SalesOrder
from sales.orders import Orders


def order(**changes: Any) -> UpsertOrder:
    values: dict[str, Any] = {
        "number": "#1001",
        "channel": "shopify",
        "customer": OrderCustomer("Mia Chen", "mia@example.com"),
        "ordered_at": datetime(2026, 11, 1, tzinfo=UTC),
        "currency": "usd",
        "lines": (OrderLineInput("ABC-1", 1, Decimal("19.90")),),
        "provider_updated_at": datetime(2026, 11, 1, 12, tzinfo=UTC),
    }
    values.update(changes)
    return UpsertOrder(**values)


@pytest.fixture
def orders(session_factory: Any, clock: Any) -> Orders:
    return Orders(session_factory, clock)


def test_a_late_copy_of_an_older_version_changes_nothing(orders: Orders) -> None:
    newer = datetime(2026, 11, 3, tzinfo=UTC)
    orders.upsert(order(shipped_at=newer, provider_updated_at=newer))
    stored = orders.upsert(order(shipped_at=None))  # the create webhook, delivered last
    assert stored.shipped_at == newer
    assert orders.get("#1001").currency == "USD"


def test_the_rules_name_the_field(orders: Orders) -> None:
    with pytest.raises(InvalidInput) as no_lines:
        orders.upsert(order(lines=()))
    assert no_lines.value.field == "lines"
    with pytest.raises(InvalidInput) as serials:
        orders.upsert(order(lines=(OrderLineInput("ABC-1", 1, Decimal(1), ("A", "B")),)))
    assert serials.value.field == "lines.0.serials"
    with pytest.raises(NotFound):
        orders.get("#404")


def test_feeds_racing_to_create_one_order_make_one(orders: Orders, session_factory: Any) -> None:
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def feed() -> None:
        start.wait()
        try:
            orders.upsert(order())
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SalesOrder)) == 1
