"""Purchase orders: numbering, transitions recorded, receiving through the ledger."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from core.errors import DomainError
from inventory.catalog import supplier_by_code
from inventory.errors import UnknownLocation
from inventory.ledger import Who, find_part
from inventory.models import StockMove
from inventory.services import InventoryService
from purchasing import orders as po
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.errors import (
    IllegalTransition,
    NotOnOrder,
    OverReceipt,
    PurchaseOrderNotFound,
)
from purchasing.services import PurchasingService
from purchasing.status import PurchaseOrderStatus
from tests.support.purchasing_scenarios import BIN, build_scenario, counts

S = PurchaseOrderStatus


@pytest.fixture
def purchasing(
    inventory: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> PurchasingService:
    build_scenario(inventory)
    return PurchasingService(session_factory, clock)


def draft(service: PurchasingService, supplier: str, lines: dict[str, int]) -> str:
    with service.session_factory() as session, session.begin():
        parts = {sku: find_part(session, sku) for sku in lines}
        order = po.create_draft(
            session,
            Who("buyer@test.example", service.clock),
            supplier_by_code(session, supplier),
            [
                po.DraftLine(part, qty, part.unit_cost)
                for sku, qty in lines.items()
                if (part := parts[sku])
            ],
            "by hand",
        )
        return order.number


def test_orders_are_numbered_per_year_without_gaps(
    purchasing: PurchasingService, clock: FrozenClock
) -> None:
    assert draft(purchasing, "ACME", {"FAN-80": 1}) == "PO-2026-00001"
    assert draft(purchasing, "BOLT", {"CAB-1": 1}) == "PO-2026-00002"
    clock.set(clock.now().replace(year=2027, month=1, day=2))
    assert draft(purchasing, "ACME", {"FAN-80": 1}) == "PO-2027-00001"


def test_an_order_goes_from_draft_to_sent_to_partially_received_to_received(
    purchasing: PurchasingService, inventory: InventoryService
) -> None:
    number = draft(purchasing, "ACME", {"FAN-80": 30, "PSU-65": 10})
    sent = purchasing.send("buyer@test.example", number, "emailed to Acme")
    assert (sent.status, sent.sent_at, sent.expected_on.isoformat()) == (
        S.SENT,
        purchasing.clock.now(),
        "2026-12-02",  # ACME's 9 days
    )
    order, moves = purchasing.receive(
        "ann@test.example",
        ReceivePurchaseOrder(
            number,
            (ReceiptLine("fan-80", 10), ReceiptLine("FAN-80", 5, "MAIN/QUARANTINE")),
            location=BIN,
        ),
    )
    assert order.status is S.PARTIALLY_RECEIVED
    assert [(m.kind.value, m.qty, m.to_location.code, m.reference) for m in moves] == [
        ("receipt", 10, BIN, number),
        ("receipt", 5, "MAIN/QUARANTINE", number),
    ]
    assert {line.sku: line.qty_received for line in order.lines} == {"FAN-80": 15, "PSU-65": 0}
    assert inventory.get_part("FAN-80").on_hand == 10 + 8 + 2 + 5

    order, _ = purchasing.receive(
        "ann@test.example",
        ReceivePurchaseOrder(
            number, (ReceiptLine("FAN-80", 15), ReceiptLine("PSU-65", 10)), location=BIN
        ),
    )
    assert order.status is S.RECEIVED and order.closed_at == purchasing.clock.now()
    assert [(e.from_status, e.to_status, e.actor) for e in order.events] == [
        (None, S.DRAFT, "buyer@test.example"),
        (S.DRAFT, S.SENT, "buyer@test.example"),
        (S.SENT, S.PARTIALLY_RECEIVED, "ann@test.example"),
        (S.PARTIALLY_RECEIVED, S.RECEIVED, "ann@test.example"),
    ]
    assert order.events[1].reason == "emailed to Acme"
    assert order.events[2].reason == "received 15 unit(s) on 2 line(s)"
    assert inventory.verify_levels() == []


@pytest.mark.parametrize(
    ("setup", "action", "status"),
    [
        ([], "receive", "draft"),  # goods cannot arrive against an order never sent
        (["send"], "send", "sent"),
        (["cancel"], "send", "cancelled"),
        (["cancel"], "cancel", "cancelled"),
        (["send", "receive_all"], "cancel", "received"),
        (["send", "receive_all"], "receive", "received"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    purchasing: PurchasingService,
    session_factory: sessionmaker[Session],
    setup: list[str],
    action: str,
    status: str,
) -> None:
    number = draft(purchasing, "BOLT", {"CAB-1": 5})

    def receipt(qty: int) -> ReceivePurchaseOrder:
        return ReceivePurchaseOrder(number, (ReceiptLine("CAB-1", qty),), location=BIN)

    steps = {
        "send": lambda: purchasing.send("b", number),
        "cancel": lambda: purchasing.cancel("b", number),
        "receive": lambda: purchasing.receive("w", receipt(1)),
        "receive_all": lambda: purchasing.receive("w", receipt(5)),
    }
    for step in setup:
        steps[step]()
    before = counts(session_factory)
    with pytest.raises(IllegalTransition) as refused:
        steps[action]()
    assert refused.value.code == "illegal_transition"
    assert refused.value.details["status"] == status
    assert counts(session_factory) == before
    assert purchasing.get_order(number).status.value == status


def test_receiving_more_than_is_outstanding_is_refused_and_nothing_is_written(
    purchasing: PurchasingService, session_factory: sessionmaker[Session]
) -> None:
    number = draft(purchasing, "ACME", {"FAN-80": 10, "PSU-65": 4})
    purchasing.send("b", number)
    before = counts(session_factory)
    with pytest.raises(OverReceipt) as refused:
        # Split over two lines of the request, the total is what counts.
        purchasing.receive(
            "w",
            ReceivePurchaseOrder(
                number,
                (ReceiptLine("PSU-65", 4), ReceiptLine("FAN-80", 6), ReceiptLine("FAN-80", 5)),
                location=BIN,
            ),
        )
    assert refused.value.details == {
        "number": number, "sku": "FAN-80", "requested": 11, "outstanding": 10,
    }  # fmt: skip
    assert counts(session_factory) == before
    assert [line.qty_received for line in purchasing.get_order(number).lines] == [0, 0]


def test_a_receipt_names_the_line_or_location_it_cannot_use(
    purchasing: PurchasingService,
) -> None:
    number = draft(purchasing, "ACME", {"FAN-80": 10})
    purchasing.send("b", number)
    with pytest.raises(NotOnOrder) as not_ordered:
        purchasing.receive(
            "w",
            ReceivePurchaseOrder(
                number, (ReceiptLine("FAN-80", 1), ReceiptLine("CAB-1", 1)), location=BIN
            ),
        )
    assert not_ordered.value.field == "lines.1.sku"
    with pytest.raises(UnknownLocation) as unknown:
        purchasing.receive(
            "w",
            ReceivePurchaseOrder(number, (ReceiptLine("FAN-80", 1, "MAIN/NOPE"),), location=BIN),
        )
    assert unknown.value.field == "lines.0.location"
    with pytest.raises(PurchaseOrderNotFound):
        purchasing.get_order("PO-1999-00001")


def test_cancelling_after_a_partial_receipt_keeps_what_arrived(
    purchasing: PurchasingService, session_factory: sessionmaker[Session]
) -> None:
    number = draft(purchasing, "BOLT", {"CAB-1": 20})
    purchasing.send("b", number)
    purchasing.receive("w", ReceivePurchaseOrder(number, (ReceiptLine("CAB-1", 8),), location=BIN))
    order = purchasing.cancel("b", number, "rest discontinued")
    assert order.status is S.CANCELLED
    assert order.lines[0].qty_received == 8
    with session_factory() as session:
        receipts = session.scalars(select(StockMove).where(StockMove.reference == number)).all()
        assert [m.qty for m in receipts] == [8]


def test_the_order_value_is_exact(purchasing: PurchasingService) -> None:
    number = draft(purchasing, "BOLT", {"CAB-1": 3})  # 3 x 0.3500
    assert purchasing.get_order(number).total_value == Decimal("1.05")


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_receipts_racing_for_the_last_units_of_a_line_cannot_both_book_them(
    purchasing: PurchasingService, inventory: InventoryService
) -> None:
    number = draft(purchasing, "BOLT", {"CAB-1": 10})
    purchasing.send("b", number)
    workers = 8
    barrier = threading.Barrier(workers)

    def receive(_: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return purchasing.receive(
                "w", ReceivePurchaseOrder(number, (ReceiptLine("CAB-1", 6),), location=BIN)
            )
        except DomainError as refusal:
            return refusal

    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(receive, range(workers)))
    assert sum(1 for o in outcomes if isinstance(o, tuple)) == 1
    assert all(isinstance(o, OverReceipt) for o in outcomes if not isinstance(o, tuple))
    assert purchasing.get_order(number).lines[0].qty_received == 6
    assert inventory.get_part("CAB-1").on_hand == 9 + 6
    assert inventory.verify_levels() == []
