"""Reorder suggestions and the recompute, against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.clock import FrozenClock
from core.errors import InvalidInput
from inventory.commands import IssueReservedStock, IssueStock, ReceiveStock, ReserveStock
from inventory.services import InventoryService
from purchasing.commands import ReceiptLine, ReceivePurchaseOrder
from purchasing.reorder.suggestions import IncomingReturns, SuggestionFilters
from purchasing.services import PurchasingService, ReorderService
from purchasing.status import ReorderMethod, Urgency
from tests.support.purchasing_scenarios import BIN, QUARANTINE, FixedReturns, build_scenario


@pytest.fixture
def reorder(session_factory: sessionmaker[Session], clock: FrozenClock) -> ReorderService:
    return ReorderService(session_factory, clock)


@pytest.fixture
def purchasing(session_factory: sessionmaker[Session], clock: FrozenClock) -> PurchasingService:
    return PurchasingService(session_factory, clock)


@pytest.fixture
def scenario(inventory: InventoryService) -> InventoryService:
    build_scenario(inventory)
    return inventory


def by_sku(service: ReorderService, **filters: object) -> dict[str, object]:
    return {s.stock.sku: s for s in service.suggestions(SuggestionFilters(**filters), limit=100)}  # type: ignore[arg-type]


def test_suggestions_list_the_parts_at_or_below_their_point_with_why(
    scenario: InventoryService, reorder: ReorderService
) -> None:
    found = by_sku(reorder)
    assert set(found) == {"FAN-80", "PSU-65", "CAB-1", "LOOSE-1"}  # not OK-1: plenty
    fan = found["FAN-80"]
    # 8 on hand, 5 reserved for a replacement, 2 in quarantine that nobody may promise.
    assert (fan.stock.on_hand, fan.stock.available, fan.stock.reserved, fan.position) == (
        10,
        3,
        5,
        3,
    )
    assert (fan.qty, fan.line_value, fan.urgency) == (
        47,
        Decimal("199.75"),
        Urgency.BELOW_SAFETY_STOCK,
    )
    assert fan.expected_arrival.isoformat() == "2026-12-02"  # ACME: 9 days
    assert "2 in quarantine/returns not counted" in fan.reasons
    assert found["PSU-65"].urgency is Urgency.SHORT
    assert found["CAB-1"].urgency is Urgency.BELOW_POINT
    assert (found["CAB-1"].qty, found["CAB-1"].line_value) == (21, Decimal("7.35"))


def test_open_purchase_orders_count_as_on_order_until_received_or_cancelled(
    scenario: InventoryService, reorder: ReorderService, purchasing: PurchasingService
) -> None:
    from inventory.catalog import supplier_by_code
    from inventory.ledger import Who, find_part
    from purchasing import orders as po

    with reorder.session_factory() as session, session.begin():
        who = Who("buyer", reorder.clock)
        acme = supplier_by_code(session, "ACME")
        fan, psu = find_part(session, "FAN-80"), find_part(session, "PSU-65")
        assert fan and psu
        po.create_draft(session, who, acme, [po.DraftLine(fan, 12, fan.unit_cost)], "test")
        po.create_draft(session, who, acme, [po.DraftLine(psu, 20, psu.unit_cost)], "test")
    found = by_sku(reorder)
    fan = found["FAN-80"]
    assert (fan.stock.on_order, fan.stock.on_order_in_drafts, fan.position, fan.qty) == (
        12,
        12,
        15,
        35,
    )
    assert "+ 12 on order, 12 of them on drafts" in fan.reasons
    assert "PSU-65" not in found  # 20 on a draft lifts it above its point of 5

    purchasing.send("buyer", "PO-2026-00001")
    purchasing.receive(
        "ann", ReceivePurchaseOrder("PO-2026-00001", (ReceiptLine("FAN-80", 4),), location=BIN)
    )
    fan = by_sku(reorder)["FAN-80"]
    # 4 arrived (available 7), 8 still expected on a sent order.
    assert (
        fan.stock.available,
        fan.stock.on_order,
        fan.stock.on_order_in_drafts,
        fan.position,
    ) == (
        7,
        8,
        0,
        15,
    )
    assert fan.reasons[2] == "+ 8 on order, next due 2026-12-02"

    purchasing.cancel("buyer", "PO-2026-00001", "supplier out of stock")
    fan = by_sku(reorder)["FAN-80"]
    assert (fan.stock.on_order, fan.position) == (0, 7)
    purchasing.cancel("buyer", "PO-2026-00002")
    assert "PSU-65" in by_sku(reorder)


def test_returns_picked_up_lift_the_position_at_the_restock_rate(
    scenario: InventoryService, session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    returns = FixedReturns(
        {
            "FAN-80": IncomingReturns(picked_up=10, restock_rate=Decimal("0.75")),
            "CAB-1": IncomingReturns(picked_up=2, restock_rate=Decimal("1")),
        }
    )
    found = by_sku(ReorderService(session_factory, clock, returns=returns))
    fan = found["FAN-80"]
    assert (fan.expected_returns, fan.position, fan.qty) == (7, 10, 40)
    assert (
        "+ 7 expected from returns = 10 picked up x 75% historic restock rate, rounded down"
        in fan.reasons
    )
    assert "CAB-1" not in found  # 9 free + 2 coming back = 11 > 10


def test_suggestions_filter_by_supplier_category_and_least_urgency(
    scenario: InventoryService, reorder: ReorderService
) -> None:
    assert set(by_sku(reorder, supplier="acme")) == {"FAN-80", "PSU-65"}
    assert set(by_sku(reorder, category="Cables")) == {"CAB-1"}
    assert set(by_sku(reorder, urgency=Urgency.SHORT)) == {"PSU-65", "LOOSE-1"}
    assert set(by_sku(reorder, urgency=Urgency.BELOW_SAFETY_STOCK)) == {
        "PSU-65",
        "LOOSE-1",
        "FAN-80",
    }


def test_suggestions_page_in_sku_order(scenario: InventoryService, reorder: ReorderService) -> None:
    first = reorder.suggestions(limit=2)
    assert [s.stock.sku for s in first] == ["CAB-1", "FAN-80"]
    rest = reorder.suggestions(after=first[-1].stock.sku_key, limit=10)
    assert [s.stock.sku for s in rest] == ["LOOSE-1", "PSU-65"]


def test_pack_size_minimum_order_and_max_level_shape_the_quantity(
    scenario: InventoryService, reorder: ReorderService
) -> None:
    reorder.update_policy("CAB-1", {"pack_size": 25, "min_order_qty": 30})
    cab = by_sku(reorder)["CAB-1"]
    assert cab.qty == 50  # 21 needed, at least 30, in packs of 25
    assert cab.reasons[-3:-1] == (
        "raised to the minimum order 30",
        "rounded up to whole packs of 25: 50",
    )
    reorder.update_policy("CAB-1", {"max_level": 100, "min_order_qty": 0, "pack_size": 1})
    assert by_sku(reorder)["CAB-1"].qty == 91


ISSUES = [0, 2, 4, 0, 3, 1, 0, 5, 2, 3]  # the worked example of docs/buyers.md


def issue_history(inventory: InventoryService, clock: FrozenClock, sku: str) -> None:
    """The worked example's ten days of demand through the real ledger, ending yesterday."""
    now = clock.now()
    for day, qty in enumerate(ISSUES):
        clock.set(now - timedelta(days=10 - day, hours=-2))
        if qty:
            inventory.receive("ann", ReceiveStock(sku=sku, location=BIN, qty=qty))
            # One unit leaves as a shipped replacement, the rest as plain issues.
            reservation = inventory.reserve("desk", ReserveStock(sku=sku, qty=1, reference="RMA"))
            inventory.issue("desk", IssueReservedStock(reservation_id=reservation.id))
            if qty > 1:
                inventory.issue(
                    "ann", IssueStock(sku=sku, location=BIN, qty=qty - 1, reference="REPAIR")
                )
    # Not demand: scrapping from quarantine, moves inside the warehouse, and today.
    inventory.receive("ann", ReceiveStock(sku=sku, location=QUARANTINE, qty=3))
    inventory.issue("ann", IssueStock(sku=sku, location=QUARANTINE, qty=3, reason="scrap"))
    clock.set(now)
    inventory.receive("ann", ReceiveStock(sku=sku, location=BIN, qty=9))
    inventory.issue("ann", IssueStock(sku=sku, location=BIN, qty=9, reference="TODAY"))


def test_the_recompute_reads_demand_from_the_ledger_and_gives_the_worked_example(
    scenario: InventoryService, reorder: ReorderService, clock: FrozenClock
) -> None:
    scenario.create_part(sku="GEAR-1", name="Gear", supplier="ACME", lead_time_days=9)
    issue_history(scenario, clock, "GEAR-1")
    reorder.update_policy("GEAR-1", {"pack_size": 25, "min_order_qty": 50})
    summary = reorder.recompute(window_days=10)
    assert (summary.parts, summary.parts_with_demand, summary.window_days) == (6, 1, 10)
    policy = reorder.get_policy("GEAR-1")
    assert (policy.demand_total, policy.avg_daily_demand, policy.demand_std_dev) == (
        20,
        Decimal("2.0000"),
        Decimal("1.7638"),
    )
    assert (
        policy.suggested_safety_stock,
        policy.suggested_reorder_point,
        policy.suggested_reorder_qty,
        policy.lead_time_days_used,
        policy.service_level_used,
    ) == (9, 27, 75, 9, Decimal("0.9500"))
    assert policy.reorder_point == 0  # manual: the computed figures are advice only


def test_parts_on_the_computed_method_take_the_new_points_and_a_rerun_changes_nothing(
    scenario: InventoryService, reorder: ReorderService, clock: FrozenClock
) -> None:
    scenario.create_part(sku="GEAR-1", name="Gear", supplier="ACME", lead_time_days=9)
    issue_history(scenario, clock, "GEAR-1")
    reorder.update_policy(
        "GEAR-1", {"method": ReorderMethod.COMPUTED, "service_level": Decimal("0.99")}
    )
    first = reorder.recompute(window_days=10)
    gear = scenario.get_part("GEAR-1").part
    # z(0.99) = 2.3263: safety stock ceil(2.3263 x 1.7638 x 3) = 13, point 18 + 13.
    assert (gear.safety_stock, gear.reorder_point, gear.reorder_qty) == (13, 31, 60)
    assert first.points_applied == 1
    assert "GEAR-1" in by_sku(reorder)  # nothing on hand: now below its new point
    again = reorder.recompute(window_days=10)
    assert (again.points_applied, again.newly_flagged, again.cleared) == (0, 0, 0)


def test_the_recompute_flags_parts_at_their_point_and_clears_them_when_restocked(
    scenario: InventoryService, reorder: ReorderService, clock: FrozenClock
) -> None:
    summary = reorder.recompute()
    assert (summary.flagged, summary.newly_flagged) == (4, 4)
    flagged_at = clock.now()
    assert reorder.get_policy("CAB-1").flagged_since == flagged_at
    clock.advance(timedelta(days=1))
    scenario.receive("ann", ReceiveStock(sku="CAB-1", location=BIN, qty=50))
    summary = reorder.recompute()
    assert (summary.flagged, summary.newly_flagged, summary.cleared) == (3, 0, 1)
    assert reorder.get_policy("CAB-1").flagged_since is None
    assert reorder.get_policy("FAN-80").flagged_since == flagged_at  # still, since then


def test_a_recompute_with_an_impossible_service_level_is_refused(
    scenario: InventoryService, reorder: ReorderService
) -> None:
    with pytest.raises(InvalidInput) as refused:
        reorder.recompute(service_level=Decimal("1.2"))
    assert refused.value.field == "service_level"


def test_the_demand_window_ends_before_today(
    scenario: InventoryService, reorder: ReorderService, clock: FrozenClock
) -> None:
    scenario.create_part(sku="GEAR-1", name="Gear", supplier="ACME")
    scenario.receive("ann", ReceiveStock(sku="GEAR-1", location=BIN, qty=10))
    clock.set(datetime(2026, 11, 12, 23, 59, tzinfo=UTC))  # 11 days ago: outside 10 days
    scenario.issue("ann", IssueStock(sku="GEAR-1", location=BIN, qty=4))
    clock.set(datetime(2026, 11, 13, 0, 0, tzinfo=UTC))  # the window's first instant
    scenario.issue("ann", IssueStock(sku="GEAR-1", location=BIN, qty=1))
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    reorder.recompute(window_days=10)
    assert reorder.get_policy("GEAR-1").demand_total == 1
