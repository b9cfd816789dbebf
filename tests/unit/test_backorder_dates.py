"""How units on order are handed out to backorders in promise order (returns/backorders.py)."""

from __future__ import annotations

from datetime import date

from returns.backorders import Expected, _hand_out

ESTIMATE = Expected(date(2026, 12, 31), True)
SOON, LATER = date(2026, 12, 1), date(2026, 12, 10)


def dates(queue: list[int], arriving: list[tuple[date, str, int]]) -> list[object]:
    handed = _hand_out([(n, qty) for n, qty in enumerate(queue)], arriving, ESTIMATE)
    return [e.purchase_order if not e.estimated else "estimated" for e in handed]


def test_each_backorder_is_expected_with_the_order_that_will_fill_it() -> None:
    arriving = [(SOON, "PO-1", 3), (LATER, "PO-2", 2)]
    # PO-1's 3 units: 2 to the first, the second (2) does not fit the 1 left, the third does.
    assert dates([2, 2, 1, 1], arriving) == ["PO-1", "PO-2", "PO-1", "estimated"]


def test_an_order_used_up_exactly_passes_on_to_the_next() -> None:
    arriving = [(SOON, "PO-1", 2), (LATER, "PO-2", 1)]
    assert dates([2, 1], arriving) == ["PO-1", "PO-2"]


def test_without_orders_every_backorder_is_estimated() -> None:
    assert dates([1, 5], []) == ["estimated", "estimated"]


def test_one_no_order_covers_is_estimated_and_the_next_that_fits_goes_first() -> None:
    assert dates([1, 4, 1], [(SOON, "PO-1", 3)]) == ["PO-1", "estimated", "PO-1"]


def test_units_left_over_from_one_order_count_with_the_next() -> None:
    arriving = [(SOON, "PO-1", 1), (LATER, "PO-2", 1)]
    assert dates([2], arriving) == ["PO-2"]
