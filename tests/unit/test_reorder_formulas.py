"""The reorder formulas, with the worked examples of docs/buyers.md. No database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.errors import InvalidInput
from inventory.models import Part
from purchasing.reorder.formulas import DemandStats, compute_point, order_quantity, z_score
from purchasing.reorder.policies import PolicyView
from purchasing.reorder.suggestions import IncomingReturns, StockPosition, suggest
from purchasing.status import ReorderMethod, Urgency

TODAY = date(2026, 11, 23)


def test_the_worked_example_gives_safety_stock_9_and_reorder_point_27() -> None:
    # Ten days of demand: 0 2 4 0 3 1 0 5 2 3 (docs/buyers.md, "A worked example").
    stats = DemandStats.from_daily(10, [0, 2, 4, 0, 3, 1, 0, 5, 2, 3])
    assert (stats.total, stats.sum_of_squares) == (20, 68)
    assert stats.mean == Decimal(2)
    assert stats.std_dev.quantize(Decimal("0.0001")) == Decimal("1.7638")  # sqrt(28 / 9)
    point = compute_point(
        stats,
        lead_time_days=9,
        service_level=Decimal("0.95"),
        order_cycle_days=30,
        pack_size=25,
        min_order_qty=50,
    )
    assert point.z == Decimal("1.6449")
    assert point.safety_stock == 9  # ceil(1.6449 x 1.7638 x 3) = ceil(8.70)
    assert point.reorder_point == 27  # ceil(2 x 9) + 9
    assert point.reorder_qty == 75  # 2 x 30 = 60, at least 50, in packs of 25


@pytest.mark.parametrize(
    ("level", "z"),
    [("0.5", "0.0000"), ("0.90", "1.2816"), ("0.95", "1.6449"), ("0.98", "2.0537"),
     ("0.99", "2.3263")],
)  # fmt: skip
def test_the_service_level_sets_z_from_the_normal_distribution(level: str, z: str) -> None:
    assert z_score(Decimal(level)) == Decimal(z)


@pytest.mark.parametrize("level", ["0.4", "1", "1.5", "0"])
def test_a_service_level_outside_one_half_to_0_9999_is_refused(level: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        z_score(Decimal(level))
    assert refused.value.field == "service_level"


def test_a_higher_service_level_holds_more_safety_stock() -> None:
    stats = DemandStats.from_daily(10, [0, 2, 4, 0, 3, 1, 0, 5, 2, 3])
    points = [
        compute_point(
            stats, lead_time_days=9, service_level=Decimal(level), order_cycle_days=30
        ).safety_stock
        for level in ("0.90", "0.95", "0.99")
    ]
    assert points == [7, 9, 13]  # ceil(1.2816 x 5.29), ceil(1.6449 x 5.29), ceil(2.3263 x 5.29)


def test_steady_demand_needs_no_safety_stock() -> None:
    point = compute_point(
        DemandStats.from_daily(7, [3] * 7),
        lead_time_days=4,
        service_level=Decimal("0.99"),
        order_cycle_days=10,
    )
    assert (point.std_dev, point.safety_stock, point.reorder_point, point.reorder_qty) == (
        0,
        0,
        12,
        30,
    )


def test_fractional_demand_is_rounded_up_to_whole_units() -> None:
    # 7 units in 30 days: 0.2333 a day; over 10 days' lead time 2.33 -> 3 units.
    point = compute_point(
        DemandStats(30, total=7, sum_of_squares=7),
        lead_time_days=10,
        service_level=Decimal("0.5"),
        order_cycle_days=30,
    )
    assert (point.safety_stock, point.reorder_point, point.reorder_qty) == (0, 3, 7)


def test_no_demand_means_no_reorder_point_and_no_quantity() -> None:
    point = compute_point(
        DemandStats(90),
        lead_time_days=14,
        service_level=Decimal("0.95"),
        order_cycle_days=30,
        pack_size=10,
        min_order_qty=40,
    )
    assert (point.safety_stock, point.reorder_point, point.reorder_qty) == (0, 0, 0)


def test_a_zero_lead_time_needs_no_safety_stock() -> None:
    point = compute_point(
        DemandStats.from_daily(4, [1, 5, 0, 2]),
        lead_time_days=0,
        service_level=Decimal("0.95"),
        order_cycle_days=10,
    )
    assert (point.safety_stock, point.reorder_point) == (0, 0)


@pytest.mark.parametrize(
    ("moq", "pack", "max_level", "expected"),
    [
        (0, 1, None, 47),  # 20 + 30 - 3
        (60, 1, None, 60),  # raised to the minimum order
        (0, 12, None, 48),  # 47 in whole packs of 12
        (50, 12, None, 60),  # 50 first, then packs of 12
        (0, 1, 100, 97),  # up to the max level instead
        (0, 1, 15, 47),  # a max level at or below the point is ignored
    ],
)
def test_the_order_quantity_reaches_the_target_in_whole_packs(
    moq: int, pack: int, max_level: int | None, expected: int
) -> None:
    quantity = order_quantity(
        position=3,
        reorder_point=20,
        reorder_qty=30,
        max_level=max_level,
        pack_size=pack,
        min_order_qty=moq,
    )
    assert quantity.qty == expected
    assert quantity.qty % pack == 0 and quantity.qty >= moq


def test_without_a_reorder_qty_the_order_lifts_stock_one_above_the_point() -> None:
    quantity = order_quantity(
        position=4, reorder_point=5, reorder_qty=0, max_level=None, pack_size=1, min_order_qty=0
    )
    assert (quantity.target, quantity.qty) == (6, 2)


def position(**overrides: object) -> StockPosition:
    values: dict[str, object] = {
        "part_id": 1,
        "sku": "FAN-80",
        "sku_key": "fan-80",
        "name": "Cooling fan",
        "category": "Cooling",
        "unit": "pcs",
        "unit_cost": Decimal("4.2500"),
        "supplier_code": "ACME",
        "supplier_name": "Acme",
        "lead_time_days": 9,
        "reorder_point": 20,
        "reorder_qty": 30,
        "safety_stock": 4,
        "on_hand": 10,
        "pickable_on_hand": 8,
        "reserved": 5,
        "on_order": 0,
        "on_order_in_drafts": 0,
        "next_arrival": None,
    }
    values.update(overrides)
    return StockPosition(**values)  # type: ignore[arg-type]


def test_a_suggestion_counts_reserved_stock_as_taken_and_open_orders_as_coming() -> None:
    suggestion = suggest(
        position(on_order=12, on_order_in_drafts=2, next_arrival=date(2026, 11, 30)), None, TODAY
    )
    assert suggestion is not None
    assert (suggestion.stock.available, suggestion.position, suggestion.qty) == (3, 15, 35)
    assert suggestion.line_value == Decimal("148.75")
    assert suggestion.urgency is Urgency.BELOW_SAFETY_STOCK
    assert suggestion.expected_arrival == date(2026, 12, 2)
    assert suggestion.reasons[:4] == (
        "available 3 = 8 on hand in storage/receiving - 5 reserved (replacements, orders)",
        "2 in quarantine/returns not counted",
        "+ 12 on order, 2 of them on drafts, next due 2026-11-30",
        "= position 15 <= reorder point 20",
    )
    assert "50 - position 15 = 35 needed" in suggestion.reasons


def test_returns_picked_up_count_as_supply_at_the_historic_restock_rate() -> None:
    incoming = IncomingReturns(picked_up=7, restock_rate=Decimal("0.6"))
    assert incoming.expected == 4  # 4.2, rounded down
    suggestion = suggest(position(), incoming, TODAY)
    assert suggestion is not None
    assert (suggestion.position, suggestion.qty) == (7, 43)
    assert (
        "+ 4 expected from returns = 7 picked up x 60% historic restock rate, rounded down"
        in suggestion.reasons
    )


def test_enough_returns_on_the_way_make_an_order_unnecessary() -> None:
    incoming = IncomingReturns(picked_up=20, restock_rate=Decimal("0.9"))
    assert suggest(position(), incoming, TODAY) is None  # 3 + 18 = 21 > 20


def test_a_restock_rate_outside_0_to_1_is_clamped() -> None:
    assert IncomingReturns(10, Decimal("1.5")).expected == 10
    assert IncomingReturns(10, Decimal("-1")).expected == 0


@pytest.mark.parametrize(
    ("pickable", "reserved", "safety", "urgency"),
    [
        (5, 5, 4, Urgency.SHORT),  # everything on hand is promised
        (0, 0, 0, Urgency.SHORT),  # nothing on hand
        (8, 5, 4, Urgency.BELOW_SAFETY_STOCK),
        (8, 0, 4, Urgency.BELOW_POINT),
    ],
)
def test_urgency_says_how_bad_it_is(
    pickable: int, reserved: int, safety: int, urgency: Urgency
) -> None:
    suggestion = suggest(
        position(
            pickable_on_hand=pickable, on_hand=pickable, reserved=reserved, safety_stock=safety
        ),
        None,
        TODAY,
    )
    assert suggestion is not None and suggestion.urgency is urgency


def test_parts_above_their_point_or_without_one_are_not_suggested() -> None:
    assert suggest(position(pickable_on_hand=30, on_hand=30, reserved=0), None, TODAY) is None
    assert suggest(position(reorder_point=0), None, TODAY) is None


def test_needed_by_is_when_free_stock_reaches_the_safety_stock_at_the_average_demand() -> None:
    # 15 free, safety 4, 2 a day: 11 / 2 = 5.5 -> 5 days.
    stock = position(pickable_on_hand=15, on_hand=15, reserved=0, avg_daily_demand=Decimal(2))
    suggestion = suggest(stock, None, TODAY)
    assert suggestion is not None and suggestion.needed_by == date(2026, 11, 28)
    already = suggest(position(), None, TODAY)
    assert already is not None and already.needed_by == TODAY  # 3 free < 4 safety
    unknown = suggest(position(pickable_on_hand=15, on_hand=15, reserved=0), None, TODAY)
    assert unknown is not None and unknown.needed_by is None  # no demand recorded


def test_line_values_round_half_up_to_the_cent() -> None:
    # 45 x 0.0050 = 0.225: half-up gives 0.23 (banker's rounding would give 0.22).
    stock = position(unit_cost=Decimal("0.0050"), pickable_on_hand=10, on_hand=10)
    suggestion = suggest(stock, None, TODAY)
    assert suggestion is not None and suggestion.qty == 45
    assert suggestion.line_value == Decimal("0.23")


def test_a_misspelt_figure_of_a_suggestion_raises_instead_of_reading_none() -> None:
    suggestion = suggest(position(), None, TODAY)
    assert suggestion is not None
    assert suggestion.stock.available == 3
    with pytest.raises(AttributeError):
        suggestion.availabel  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        suggestion.sku  # type: ignore[attr-defined]  # noqa: B018  # in suggestion.stock


def test_a_part_without_a_policy_shows_the_defaults_and_no_made_up_fields() -> None:
    part = Part(sku="FAN-80", reorder_point=20, reorder_qty=30, safety_stock=4)
    view = PolicyView.of(part, None)
    assert (view.sku, view.method, view.pack_size, view.min_order_qty) == (
        "FAN-80",
        ReorderMethod.MANUAL,
        1,
        0,
    )
    assert (view.reorder_point, view.max_level, view.demand_total) == (20, None, None)
    with pytest.raises(AttributeError):
        view.pack_sise  # type: ignore[attr-defined]  # noqa: B018
