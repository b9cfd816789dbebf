"""Supplier claims to the end (open → shipped → acknowledged → credited | rejected), late
purchase-order lines alerting buyers once per line, and the per-supplier claim figures,
against real databases and the real carrier sandbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from bootstrap.services import _notify_buyers, _vendor_parcels
from carriers.models import Direction, Shipment
from core.errors import InvalidInput
from inventory.catalog import supplier_by_code
from inventory.ledger import Who, find_part
from purchasing import orders as po
from purchasing.claim_lifecycle import ClaimFilters, ClaimService
from purchasing.claims import ClaimStatus, IllegalClaimTransition, SupplierClaimEvent
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.late_lines import LateLineMonitor
from purchasing.services import PurchasingService
from returns.models import Notification
from returns.status import Disposition
from tests.integration.test_returns import desk, open_rma  # noqa: F401 (the fixture)
from tests.support import desk as builders

BUYER = "bea@shop.example"
S = ClaimStatus


@pytest.fixture
def claims(desk: dict[str, Any], session_factory: Any, clock: Any) -> ClaimService:  # noqa: F811
    return ClaimService(session_factory, clock, _vendor_parcels(desk["carriers"]))


def a_claim(desk: dict[str, Any], tracking: str, qty: int = 2) -> int:  # noqa: F811
    """An RMA whose part goes back to its supplier (ACME): its claim's id."""
    number = open_rma(
        desk,
        description="Bearing seized",
        lines=[{"sku": "ABC-1", "qty": qty, "unit_price": Decimal("24.99")}],
    ).number
    builders.authorise(
        desk["returns"], "desk@x.example", number, carrier="sandbox", tracking_number=tracking
    )
    builders.receive(desk["returns"], "ann@x.example", number, lines=[{"sku": "ABC-1", "qty": qty}])
    rma = builders.inspect(
        desk["returns"],
        "ann@x.example",
        number,
        lines=[{"sku": "ABC-1", "disposition": Disposition.RETURN_TO_VENDOR}],
    )
    [claim] = rma.claims
    return int(claim.id)


def test_a_claim_goes_to_its_vendor_is_acknowledged_and_credited_every_step_recorded(
    desk,  # noqa: F811
    claims: ClaimService,
    session_factory: Any,
    clock: Any,
) -> None:
    claim_id = a_claim(desk, "SBXC1")
    opened = claims.get(claim_id)
    assert (opened.status, opened.supplier_code, opened.qty) == (S.OPEN, "ACME", 2)
    assert [(e.from_status, e.to_status) for e in opened.events] == [(None, "open")]

    shipped = claims.ship(BUYER, claim_id, "sandbox", "sbxvendor1")
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == (
        S.SHIPPED_TO_VENDOR,
        "sandbox",
        "SBXVENDOR1",
    )
    assert shipped.shipment_status == "pre_transit"  # a tracked shipment, found by its number
    with session_factory() as session:
        parcel = session.scalars(
            select(Shipment).where(Shipment.tracking_number == "SBXVENDOR1")
        ).one()
        assert (parcel.direction, parcel.reference) == (Direction.OUTBOUND, shipped.number)

    clock.advance(timedelta(days=3))
    acknowledged = claims.acknowledge(BUYER, claim_id, "ACME-RMA-77")
    assert (acknowledged.status, acknowledged.vendor_rma) == (S.ACKNOWLEDGED, "ACME-RMA-77")
    credited = claims.credit(BUYER, claim_id, Decimal("49.98"), "eur", "CN-2026-015")
    assert (
        credited.status,
        credited.credit_amount,
        credited.credit_currency,
        credited.credit_note,
        credited.closed_at,
    ) == (S.CREDITED, Decimal("49.98"), "EUR", "CN-2026-015", clock.now())
    assert [(e.from_status, e.to_status, e.actor) for e in credited.events] == [
        (None, "open", "ann@x.example"),
        ("open", "shipped_to_vendor", BUYER),
        ("shipped_to_vendor", "acknowledged", BUYER),
        ("acknowledged", "credited", BUYER),
    ]
    assert "CN-2026-015" in credited.events[-1].reason
    assert credited.allowed == []


def test_illegal_moves_are_refused_and_change_nothing(
    desk,  # noqa: F811
    claims: ClaimService,
    session_factory: Any,
) -> None:
    claim_id = a_claim(desk, "SBXC2")
    with pytest.raises(IllegalClaimTransition) as early:
        claims.credit(BUYER, claim_id, Decimal("10"), "EUR", "CN-1")
    assert early.value.code == "illegal_claim_transition"
    assert early.value.details["allowed"] == ["cancelled", "shipped_to_vendor"]
    with pytest.raises(IllegalClaimTransition):
        claims.acknowledge(BUYER, claim_id, "X-1")

    with pytest.raises(InvalidInput) as no_carrier:  # no such carrier adapter: nothing moves
        claims.ship(BUYER, claim_id, "pigeon", "P-1")
    assert no_carrier.value.field == "carrier"
    assert claims.get(claim_id).status is S.OPEN

    claims.ship(BUYER, claim_id, "sandbox", "SBXVENDOR2")
    with pytest.raises(IllegalClaimTransition):
        claims.cancel(BUYER, claim_id, "changed our mind")  # it has left: too late
    rejected = claims.reject(BUYER, claim_id, "Damage by misuse, not a defect")
    assert (rejected.status, rejected.rejection_reason) == (
        S.REJECTED,
        "Damage by misuse, not a defect",
    )
    with pytest.raises(IllegalClaimTransition):
        claims.credit(BUYER, claim_id, Decimal("10"), "EUR", "CN-1")
    with session_factory() as session:
        moves = session.scalar(
            select(func.count())
            .select_from(SupplierClaimEvent)
            .where(SupplierClaimEvent.claim_id == claim_id)
        )
    assert moves == 3  # opened, shipped, rejected: the refusals wrote nothing


def test_a_claim_not_yet_shipped_can_be_cancelled_and_lists_filter_by_supplier_and_state(
    desk,  # noqa: F811
    claims: ClaimService,
) -> None:
    first, second = a_claim(desk, "SBXC3"), a_claim(desk, "SBXC4", qty=1)
    with pytest.raises(InvalidInput):
        claims.cancel(BUYER, first, "  ")  # a reason is required
    claims.cancel(BUYER, first, "kept as a spare after all")
    assert [c.id for c in claims.list_claims(ClaimFilters(supplier="acme"))] == [second, first]
    assert [c.id for c in claims.list_claims(ClaimFilters(status=S.CANCELLED))] == [first]
    assert [c.id for c in claims.list_claims(before=second)] == [first]
    assert claims.list_claims(ClaimFilters(status=S.CREDITED)) == []


def _sent_order(purchasing: PurchasingService, qty: int) -> str:
    with purchasing.session_factory() as session, session.begin():
        part = find_part(session, "ABC-1")
        assert part is not None
        order = po.create_draft(
            session,
            Who(BUYER, purchasing.clock),
            supplier_by_code(session, "ACME"),
            [po.DraftLine(part, qty, Decimal("5"))],
            "by hand",
        )
        number = order.number
    purchasing.send(BUYER, number)
    return number


def test_late_purchase_order_lines_alert_buyers_once_per_line(
    stocked: Any, session_factory: Any, clock: Any
) -> None:
    purchasing = PurchasingService(session_factory, clock)
    late, received = _sent_order(purchasing, 5), _sent_order(purchasing, 3)
    purchasing.receive(
        BUYER,
        ReceivePurchaseOrder(received, (ReceiptLine("ABC-1", 3),), location="MAIN/A-01-01"),
    )
    monitor = LateLineMonitor(session_factory, clock, _notify_buyers)
    assert monitor.alert() == 0  # nothing is past its date yet
    expected_on = purchasing.get_order(late).expected_on
    clock.set(clock.now() + timedelta(days=60))
    purchasing.receive(  # partly received: the rest is still late
        BUYER, ReceivePurchaseOrder(late, (ReceiptLine("ABC-1", 2),), location="MAIN/A-01-01")
    )
    assert monitor.alert() == 1
    assert monitor.alert() == 0  # the next run, and the one after: nothing new
    assert LateLineMonitor(session_factory, clock, _notify_buyers).alert() == 0
    with session_factory() as session:
        [alert] = session.scalars(select(Notification)).all()
    assert (alert.audience, alert.kind, alert.rma_id) == ("buyers", "late_po_line", None)
    assert f"{late} (ACME): 3 x ABC-1 still expected, due {expected_on}" in alert.message


def test_supplier_figures_on_a_small_hand_made_set(
    desk,  # noqa: F811
    claims: ClaimService,
    session_factory: Any,
    clock: Any,
) -> None:
    purchasing = PurchasingService(session_factory, clock)
    start = clock.now()
    order = _sent_order(purchasing, 40)
    purchasing.receive(
        BUYER, ReceivePurchaseOrder(order, (ReceiptLine("ABC-1", 40),), location="MAIN/A-01-01")
    )
    credited, rejected, still_open = a_claim(desk, "SBXF1", 2), a_claim(desk, "SBXF2", 1), 0
    still_open = a_claim(desk, "SBXF3", 1)
    cancelled = a_claim(desk, "SBXF4", 1)
    claims.cancel(BUYER, cancelled, "kept")
    claims.ship(BUYER, credited, "sandbox", "SBXV1")
    claims.credit(BUYER, credited, Decimal("40.50"), "EUR", "CN-9")
    claims.ship(BUYER, rejected, "sandbox", "SBXV2")
    claims.reject(BUYER, rejected, "misuse")
    end = clock.now() + timedelta(seconds=1)

    [acme] = claims.supplier_figures(start, end)
    assert (acme.supplier_code, acme.claims, acme.units_claimed, acme.units_received) == (
        "ACME",
        3,  # the cancelled claim is left out
        4,
        40,
    )
    assert (acme.credited, acme.rejected, acme.open) == (1, 1, 1)
    assert acme.recovered == {"EUR": Decimal("40.50")}
    assert acme.claim_rate == pytest.approx(0.1)  # 4 units claimed per 40 received
    assert still_open != credited
    # A period after all of it has none of it.
    assert claims.supplier_figures(end, end + timedelta(days=1)) == []
