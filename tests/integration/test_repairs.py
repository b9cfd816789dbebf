"""Repairs: a received unit mended with parts from stock, tested, shipped back, the RMA closed;
short parts wait and are filled later; the ledger, the reorder demand and the metrics see it."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.audit import AuditEntry
from core.errors import Conflict
from inventory import ledger
from inventory.commands import ReceiveStock
from inventory.models import StockMove
from inventory.status import MoveKind
from purchasing.reorder.queries import demand_by_part
from returns.context import LabelSettings
from returns.metrics import compute
from returns.metrics_maths import Period
from returns.metrics_sheets import write_report
from returns.repair_orders import RepairPartStatus, RepairStatus
from returns.repairs import (
    OpenRepair,
    RecordLabour,
    RecordRepairTest,
    ShipRepair,
    UseRepairPart,
    fill_waiting_repairs,
)
from returns.status import Resolution, RmaStatus
from tests.integration import test_returns
from tests.integration.test_returns import level, open_rma
from tests.support import desk as builders

TECH = "tech@x.example"
#: The returns stages wired as the app wires them (test_returns.py's fixture).
desk = test_returns.desk


def received_repair(desk: dict[str, Any], tracking: str) -> str:
    """A repair RMA whose one unit of ABC-1 is booked in (customer's own tracking number)."""
    rma = open_rma(
        desk,
        resolution=Resolution.REPAIR,
        lines=[{"sku": "ABC-1", "qty": 1, "unit_price": "24.99"}],
        payment_reference=None,
    )
    builders.authorise(
        desk["returns"], "desk@x.example", rma.number, carrier="sandbox", tracking_number=tracking
    )
    builders.receive(desk["returns"], TECH, rma.number, lines=[{"sku": "ABC-1", "qty": 1}])
    return rma.number


def test_a_repair_uses_parts_from_stock_is_tested_and_ships_back_closing_the_rma(
    desk: dict[str, Any], clock: Any, session_factory: Any
) -> None:
    repairs = desk["returns"].repairs
    desk["inventory"].create_part(sku="CAP-10", name="Capacitor 10uF")
    desk["inventory"].receive(
        "tester", ReceiveStock(sku="CAP-10", location="MAIN/A-01-02", qty=5, reference="PO-2")
    )
    number = received_repair(desk, "SBX700")
    received_at = clock.now()
    clock.advance(timedelta(hours=2))
    view = repairs.open(TECH, number, OpenRepair(diagnosis="Dried capacitor on the fan board"))
    assert (view.status, view.technician, view.received_at) == (
        RepairStatus.OPEN,
        TECH,
        received_at,
    )
    view = repairs.use_part(TECH, number, UseRepairPart(sku="cap-10", qty=2))
    assert view.status is RepairStatus.IN_REPAIR
    [part] = view.parts
    assert (part.sku, part.qty, part.status, part.location) == (
        "CAP-10",
        2,
        RepairPartStatus.ISSUED,
        "MAIN/A-01-02",
    )
    assert level(desk["inventory"], "CAP-10", "MAIN/A-01-02") == (3, 0)
    view = repairs.record_labour(TECH, number, RecordLabour(minutes=45))
    view = repairs.record_labour(TECH, number, RecordLabour(minutes=15, technician="Li Wei"))
    assert (view.labour_minutes, view.technician) == (60, "Li Wei")
    with pytest.raises(Conflict) as untested:
        repairs.ship(TECH, number, ShipRepair(carrier="sandbox", tracking_number="SBX701"))
    assert untested.value.code == "repair_not_tested"
    view = repairs.record_test(TECH, number, RecordRepairTest(passed=False, result="Still rattles"))
    assert view.status is RepairStatus.FAILED_TEST
    view = repairs.record_test(TECH, number, RecordRepairTest(passed=True, result="Quiet, 2h run"))
    assert (view.status, view.test_passed) == (RepairStatus.TESTED_OK, True)
    clock.advance(timedelta(hours=22))
    view = repairs.ship(TECH, number, ShipRepair(carrier="sandbox", tracking_number="SBX701"))
    assert (view.status, view.tracking_number, view.turnaround_hours) == (
        RepairStatus.SHIPPED,
        "SBX701",
        24.0,
    )
    rma = desk["returns"].get(number)
    assert rma.status is RmaStatus.CLOSED
    assert level(desk["inventory"], "ABC-1", "MAIN/RETURNS") == (0, 0)  # the unit went back
    repair_notes = [t.reason for t in rma.timeline if t.kind == "repair"]
    assert repair_notes[0].startswith("Repair order opened")
    assert repair_notes[-1] == "Repaired unit shipped: sandbox SBX701"
    with session_factory() as session:
        move = session.get(StockMove, part.stock_move_id)
        assert (move.kind, move.qty, move.reference, move.reason) == (
            MoveKind.ISSUE,
            2,
            f"{number}/REP{view.id}",
            "repair part",
        )
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == number).order_by(AuditEntry.id)
        ).all()
        assert [a for a in actions if a.startswith("repair.")] == [
            "repair.opened",
            "repair.part_used",
            "repair.labour",
            "repair.labour",
            "repair.tested",
            "repair.tested",
            "repair.shipped",
        ]
        # Repair parts are demand for the reorder points; the unit shipped back is not.
        start, end = clock.now() - timedelta(days=1), clock.now() + timedelta(days=1)
        demand = demand_by_part(session, start, end)
        cap = ledger.find_part(session, "CAP-10")
        abc = ledger.find_part(session, "ABC-1")
        assert demand[cap.id][0] == 2
        assert abc.id not in demand
        metrics = compute(session, Period(start, end), clock.now())
    assert (metrics.repair_turnaround.count, metrics.repair_turnaround.median) == (1, 1.0)
    # The workbook carries it too: in the summary and on its own sheet, days as numbers.
    stream = BytesIO()
    write_report(metrics, stream)
    book = load_workbook(BytesIO(stream.getvalue()), read_only=True)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Repairs shipped back"] == 1
    assert summary["Repair turnaround, median"] == 1.0
    sheet = list(book["Repair turnaround"].iter_rows(values_only=True))
    assert sheet[0] == ("Repairs shipped back", "Mean (days)", "Median (days)", "90th pct (days)")
    assert sheet[1] == (1, 1.0, 1.0, 1.0)


def test_a_short_part_makes_the_repair_wait_until_stock_arrives_and_fills_it(
    desk: dict[str, Any], clock: Any, session_factory: Any
) -> None:
    repairs = desk["returns"].repairs
    desk["inventory"].create_part(sku="BRG-3", name="Bearing 3mm")
    first, second = received_repair(desk, "SBX710"), received_repair(desk, "SBX711")
    for number in (first, second):
        repairs.open(TECH, number, OpenRepair(diagnosis="Worn bearing"))
    with pytest.raises(Conflict) as short:
        repairs.use_part(TECH, first, UseRepairPart(sku="BRG-3", qty=2, location="MAIN/A-01-01"))
    assert short.value.code == "parts_short"
    assert short.value.details["missing_skus"] == ["BRG-3"]
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Conflict):
        repairs.use_part(TECH, second, UseRepairPart(sku="BRG-3", qty=1))
    view = repairs.get(first)
    assert (view.status, view.missing_skus) == (RepairStatus.WAITING_FOR_PARTS, ["BRG-3"])
    with pytest.raises(Conflict) as waiting:  # no test while parts are missing
        repairs.record_test(TECH, first, RecordRepairTest(passed=True, result="ok"))
    assert waiting.value.code == "illegal_transition"
    # Retrying without stock changes nothing.
    assert repairs.retry_parts(TECH, first).status is RepairStatus.WAITING_FOR_PARTS
    # Two arrive: the older request (two units) is filled first, the later one keeps waiting.
    desk["inventory"].receive(
        "tester", ReceiveStock(sku="BRG-3", location="MAIN/A-01-02", qty=2, reference="PO-3")
    )
    # The receipt itself filled the older request, in its own transaction: no retry needed.
    assert repairs.get(first).status is RepairStatus.IN_REPAIR
    view = repairs.retry_parts(TECH, second)
    assert repairs.get(first).status is RepairStatus.IN_REPAIR
    assert (view.status, view.missing_skus) == (RepairStatus.WAITING_FOR_PARTS, ["BRG-3"])
    [filled] = repairs.get(first).parts
    assert (filled.status, filled.location) == (RepairPartStatus.ISSUED, "MAIN/A-01-02")
    # The hook's entry point, on an open session: with nothing new in stock it moves nothing.
    with session_factory() as session:
        assert fill_waiting_repairs(session, "BRG-3", ledger.Who("spareflow", clock)) == []
    # One more unit arrives: the receipt fills the second repair by itself.
    desk["inventory"].receive(
        "tester", ReceiveStock(sku="BRG-3", location="MAIN/A-01-02", qty=1, reference="PO-4")
    )
    assert repairs.get(second).status is RepairStatus.IN_REPAIR
    assert level(desk["inventory"], "BRG-3", "MAIN/A-01-02") == (0, 0)
    with session_factory() as session:
        references = session.scalars(
            select(StockMove.reference)
            .where(StockMove.kind == MoveKind.ISSUE, StockMove.reason == "repair part")
            .order_by(StockMove.id)
        ).all()
    assert [r.split("/")[0] for r in references] == [first, second]


def test_only_a_received_repair_rma_gets_a_repair_order(desk: dict[str, Any]) -> None:
    repairs = desk["returns"].repairs
    refund = open_rma(desk).number
    with pytest.raises(Conflict) as wrong:
        repairs.open(TECH, refund, OpenRepair(diagnosis="x"))
    assert wrong.value.code == "not_a_repair"
    waiting = open_rma(desk, resolution=Resolution.REPAIR, payment_reference=None).number
    with pytest.raises(Conflict) as early:
        repairs.open(TECH, waiting, OpenRepair(diagnosis="x"))
    assert early.value.code == "unit_not_received"
    number = received_repair(desk, "SBX720")
    repairs.open(TECH, number, OpenRepair(diagnosis="x"))
    with pytest.raises(Conflict) as twice:
        repairs.open(TECH, number, OpenRepair(diagnosis="y"))
    assert twice.value.code == "repair_exists"


def test_the_repaired_unit_ships_on_an_outbound_label_bought_through_the_outbox(
    desk: dict[str, Any],
) -> None:
    returns = desk["returns"]
    number = received_repair(desk, "SBX730")
    returns.repairs.open(TECH, number, OpenRepair(diagnosis="Loose connector"))
    returns.repairs.record_labour(TECH, number, RecordLabour(minutes=10))
    with pytest.raises(Conflict) as unset:
        returns.outbound_labels.order_for_repair(TECH, number)
    assert unset.value.code == "no_outbound_carrier"
    returns.repairs.record_test(TECH, number, RecordRepairTest(passed=True, result="ok"))
    returns.ctx.labels = LabelSettings(outbound_carrier="sandbox")
    view = returns.outbound_labels.order_for_repair(TECH, number)
    assert view.status is RepairStatus.TESTED_OK  # bought by the worker, not in the request
    desk["worker"].drain()
    view = returns.repairs.get(number)
    assert view.status is RepairStatus.SHIPPED and view.carrier == "sandbox"
    rma = returns.get(number)
    assert rma.status is RmaStatus.CLOSED
    outbound = [s for s in rma.shipments if s.direction.value == "outbound"]
    assert [s.tracking_number for s in outbound] == [view.tracking_number]
    # Ordering again once shipped is refused: the repair is no longer tested_ok.
    with pytest.raises(Conflict):
        returns.outbound_labels.order_for_repair(TECH, number)
