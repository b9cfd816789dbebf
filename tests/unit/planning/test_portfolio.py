"""The system method: levels of all parts set together for one fill rate over all units."""

from __future__ import annotations

from purchasing.planning.history import ItemHistory
from purchasing.planning.levels import fill_rate_level
from purchasing.planning.portfolio import levels_for, portfolio_levels

PATTERN = (0, 2, 0, 0, 1, 0, 3, 0, 0, 0, 1, 0)


def test_the_cheap_part_carries_more_of_the_fill_rate_than_the_dear_one() -> None:
    cheap = ItemHistory("cheap", 2, 1.0, PATTERN * 3)
    dear = ItemHistory("dear", 2, 1000.0, PATTERN * 3)
    levels = portfolio_levels([cheap, dear], 0.90)
    assert levels["cheap"][0] > levels["dear"][0]
    # Each alone at 0.90 sits between the two: the set meets 0.90 with the dear part lower.
    alone = levels_for([cheap], "reactive", 0.90)["cheap"][0]  # the same model, alone
    assert levels["dear"][0] < alone < levels["cheap"][0]


def test_a_single_part_gets_about_its_own_fill_rate_level() -> None:
    # One part (mean 7/12 a month over 24 months, L = 0): the set's shortfall is the part's,
    # so the system level is the smallest S meeting the target, as the part's own scan finds.
    part = ItemHistory("only", 0, 5.0, PATTERN * 2 + (0,))
    window = PATTERN * 2
    mean = sum(window) / 24
    variance = sum((u - mean) ** 2 for u in window) / 23
    own = fill_rate_level(mean, variance * (1 + 1 / 24), 0.0, 0, 0.95)
    assert portfolio_levels([part], 0.95, recent=0)["only"] == [own]


def test_a_higher_target_never_lowers_the_stock_and_no_history_no_stock() -> None:
    items = [
        ItemHistory("a", 3, 2.0, PATTERN * 3),
        ItemHistory("b", 0, 50.0, (1, 1, 2, 0) * 9),
        ItemHistory("c", 5, 9.0, (0,) * 30 + (4,) * 6),
    ]
    low, high = portfolio_levels(items, 0.85), portfolio_levels(items, 0.97)
    assert all(h >= lo for key in low for lo, h in zip(low[key], high[key], strict=True))
    assert low["c"][:6] == [0] * 6  # nothing in months 0-29


def test_levels_do_not_change_when_later_months_are_cut() -> None:
    items = [
        ItemHistory("a", 3, 2.0, PATTERN * 5),
        ItemHistory("b", 0, 50.0, (1, 1, 2, 0) * 15),
        ItemHistory("c", 9, 0.5, (0, 0, 0, 0, 30) * 12),
    ]
    full = portfolio_levels(items, 0.95)
    for cut in (25, 41):
        shorter = [ItemHistory(i.item, i.lead_time, i.unit_price, i.demand[:cut]) for i in items]
        cut_levels = portfolio_levels(shorter, 0.95)
        assert all(cut_levels[key] == full[key][: cut - 24] for key in full)
