"""The backtest rules of shared/data/README.md on hand-made series, worked out by hand."""

from __future__ import annotations

import pytest

from purchasing.planning.backtest import order_size, run_backtest, simulate
from purchasing.planning.history import ItemHistory


def test_lead_time_zero_orders_arrive_at_once_and_fill_backorders_first() -> None:
    # Backtest from month 2, S = 2 every month, demand 1, 3, 0.
    # t=2: on hand 2 (the start), demand 1 -> served 1, end 1.
    # t=3: position 1, order 1, arrives at once -> on hand 2; demand 3 -> served 2,
    #      backordered 1, end 0.
    # t=4: position -1, order 3: 1 fills the backorder, on hand 2; no demand, end 2.
    item = ItemHistory("A", 0, 10.0, (0, 0, 1, 3, 0))
    outcome = simulate(item, [2, 2, 2], first_month=2)
    assert outcome.demanded == 4
    assert outcome.served == 3  # fill rate 0.75
    assert outcome.stock_value == pytest.approx((1 + 0 + 2) / 3 * 10.0)


def test_lead_time_one_orders_arrive_the_next_month_before_its_demand() -> None:
    # Backtest from month 1, S = 2, L = 1, demand 2, 1, 0, 1.
    # t=1: on hand 2, demand 2 -> served 2, end 0.
    # t=2: position 0, order 2 (arrives t=3); demand 1 -> served 0, backordered 1, end 0.
    # t=3: 2 arrive, 1 fills the backorder, on hand 1; position 1, order 1 (arrives t=4);
    #      no demand, end 1.
    # t=4: 1 arrives, on hand 2; position 2, no order; demand 1 -> served 1, end 1.
    item = ItemHistory("B", 1, 4.0, (0, 2, 1, 0, 1))
    outcome = simulate(item, [2, 2, 2, 2], first_month=1)
    assert (outcome.demanded, outcome.served) == (4, 3)
    assert outcome.stock_value == pytest.approx((0 + 0 + 1 + 1) / 4 * 4.0)  # 2.0


def test_a_backorder_is_not_counted_as_served_when_it_is_filled_later() -> None:
    # S = 0 for the first month, then 5; L = 2: the unit asked in month 1 is never served
    # from stock in its month, though it is delivered in month 3.
    item = ItemHistory("C", 2, 1.0, (0, 1, 0, 0))
    outcome = simulate(item, [0, 5, 5], first_month=1)
    # t=1: on hand 0, demand 1 -> backordered, end 0. t=2: position -1, order 6 (t=4).
    # t=3: nothing arrives in the file; end 0.
    assert (outcome.demanded, outcome.served) == (1, 0)
    assert outcome.stock_value == 0


def test_the_fill_rate_is_over_all_units_and_the_stock_value_a_sum_over_items() -> None:
    a = ItemHistory("A", 0, 10.0, (0, 0, 1, 3, 0))  # 3 of 4 served, value 10
    b = ItemHistory("B", 1, 4.0, (0, 0, 2, 1, 0))
    # b from month 2, S = 0, 0, 0: nothing ever served, 3 units asked, nothing on hand.
    levels = {"A": [2, 2, 2], "B": [0, 0, 0]}
    result = run_backtest([a, b], lambda item: levels[item.item], lambda item: item.item,
                          first_month=2)  # fmt: skip
    assert result.overall.demanded == 7
    assert result.overall.fill_rate == pytest.approx(3 / 7)  # not the mean of 0.75 and 0
    assert result.overall.stock_value == pytest.approx(10.0)
    assert result.by_group["B"].fill_rate == 0


def test_the_number_of_levels_must_match_the_backtest_months() -> None:
    with pytest.raises(ValueError):
        simulate(ItemHistory("A", 0, 1.0, (0, 0, 1)), [1, 1], first_month=2)


def test_orders_are_raised_to_the_minimum_and_rounded_to_packs() -> None:
    assert order_size(0) == 0
    assert order_size(-2, min_order=5, pack_size=4) == 0
    assert order_size(3) == 3
    assert order_size(3, min_order=5) == 5
    assert order_size(6, min_order=5, pack_size=4) == 8
    # L = 0, S = 2, demand 1 each month, packs of 5: month 3 orders 1 -> a pack of 5, so
    # on hand runs 1 (month 2), 5 (month 3: 1 + 5 - 1), 4 (month 4: position 5 >= 2).
    item = ItemHistory("P", 0, 1.0, (0, 0, 1, 1, 1))
    outcome = simulate(item, [2, 2, 2], first_month=2, pack_size=5)
    assert outcome.served == 3
    assert outcome.stock_value == pytest.approx((1 + 5 + 4) / 3)
