"""The repair order's rules without a database: states move only along the table, a waiting
part holds the order in ``waiting_for_parts`` and blocks the test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from returns.errors import IllegalTransition
from returns.repair_orders import (
    REPAIR_TRANSITIONS,
    RepairOrder,
    RepairPart,
    RepairPartStatus,
    RepairStatus,
)

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)


def order(status: RepairStatus = RepairStatus.OPEN) -> RepairOrder:
    return RepairOrder(id=7, status=status, parts=[], labour_minutes=0, updated_at=NOW)


def part(sku: str, status: RepairPartStatus) -> RepairPart:
    return RepairPart(sku=sku, qty=1, status=status)


def test_a_shipped_repair_moves_nowhere() -> None:
    assert REPAIR_TRANSITIONS[RepairStatus.SHIPPED] == frozenset()
    with pytest.raises(IllegalTransition):
        order(RepairStatus.SHIPPED).move_to(RepairStatus.IN_REPAIR, NOW)


def test_only_a_tested_unit_ships() -> None:
    for status in RepairStatus:
        allowed = RepairStatus.SHIPPED in REPAIR_TRANSITIONS[status]
        assert allowed is (status is RepairStatus.TESTED_OK)


def test_a_waiting_part_keeps_the_order_waiting_and_names_the_sku() -> None:
    repair = order()
    repair.parts.extend(
        [part("B-2", RepairPartStatus.WAITING), part("A-1", RepairPartStatus.ISSUED)]
    )
    repair.after_parts_change(NOW)
    assert (repair.status, repair.missing_skus) == (RepairStatus.WAITING_FOR_PARTS, ["B-2"])
    with pytest.raises(IllegalTransition):
        repair.record_test(True, "ok", NOW)
    repair.parts[0].status = RepairPartStatus.ISSUED
    repair.after_parts_change(NOW)
    assert (repair.status, repair.missing_skus) == (RepairStatus.IN_REPAIR, [])


def test_a_failed_test_sends_the_unit_back_to_work_and_a_pass_makes_it_ready() -> None:
    repair = order(RepairStatus.IN_REPAIR)
    repair.record_test(False, "still noisy", NOW)
    assert (repair.status, repair.test_passed) == (RepairStatus.FAILED_TEST, False)
    repair.record_test(True, "quiet", NOW)
    assert (repair.status, repair.test_result, repair.tested_at) == (
        RepairStatus.TESTED_OK,
        "quiet",
        NOW,
    )
