"""The nightly allocation by rounds on a shortfall price gives the levels of the one-step-at-a-
time marginal allocation (Sherbrooke's heap), at every target and trade-off checkpoint."""

from __future__ import annotations

import heapq
import random

import pytest

from purchasing.planning.allocation import NO_GAIN, Curve, PlanPart, allocate, curves
from purchasing.planning.portfolio import MIN_PRICE


def heap_levels(parts: list[PlanPart], target: float) -> list[int]:
    """The definition: start at 0, raise the part whose next step removes the most expected
    units short per money, one step per heap operation, until the shortfall is allowed."""
    tabled = curves(parts)
    levels = [0] * len(parts)
    total = sum(c.mean for c in tabled if c is not None)
    short, allowed = total, (1 - target) * total
    heap: list[tuple[float, int]] = []

    def gain(curve: Curve, step: int) -> float:
        while len(curve.esprc) < step + 2:
            curve.extend()
        return curve.esprc[step] - curve.esprc[step + 1]

    def unit(index: int, curve: Curve) -> float:
        return max(parts[index].price, MIN_PRICE) * curve.chunk

    for index, curve in enumerate(tabled):  # every part's first step, whatever its gain
        if curve is not None:
            heap.append((-gain(curve, 0) / unit(index, curve), index))
    heapq.heapify(heap)
    while heap and short > allowed:
        _, index = heapq.heappop(heap)
        curve = tabled[index]
        assert curve is not None
        step = levels[index] // curve.chunk
        short -= gain(curve, step)
        levels[index] += curve.chunk
        following = gain(curve, step + 1)
        if following > NO_GAIN:
            heapq.heappush(heap, (-following / unit(index, curve), index))
    return levels


def catalogue(size: int, seed: int) -> list[PlanPart]:
    rng = random.Random(seed)
    parts = []
    for _ in range(size):
        months = [0] * 24
        for _ in range(rng.randint(0, 10)):  # lumps, mostly in the last months
            months[rng.choice(range(24) if rng.random() < 0.5 else range(18, 24))] += rng.randint(
                1, 6
            )
        if rng.random() < 0.05:  # a busy part: chunked steps, or the normal approximation
            months = [rng.randint(20, 400) for _ in range(24)]
        price = rng.choice([0.0, 0.004, 1.0, 1.0]) if rng.random() < 0.1 else rng.uniform(0.1, 500)
        parts.append(PlanPart(tuple(months), rng.randint(0, 4), price))
    return parts


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_the_rounds_give_the_heaps_levels(seed: int, target: float) -> None:
    parts = catalogue(150, seed)
    levels, _ = allocate(parts, target)
    assert [level.level for level in levels] == heap_levels(parts, target)


def test_equal_parts_tie_and_the_trade_off_matches_each_targets_allocation() -> None:
    parts = catalogue(120, 7)
    parts += parts[:40]  # identical parts: equal effective gains, one shared curve
    targets = [round(0.8 + step / 100, 2) for step in range(20)]
    _, points = allocate(parts, 0.99, targets)
    assert [p.target for p in points] == targets
    for point in points[::4]:
        levels, _ = allocate(parts, point.target)
        assert [level.level for level in levels] == heap_levels(parts, point.target)
        value = sum(level.expected_on_hand * part.price
                    for level, part in zip(levels, parts, strict=True))  # fmt: skip
        assert value == pytest.approx(point.stock_value, rel=1e-9)


def test_a_target_out_of_reach_raises_every_part_as_far_as_it_helps() -> None:
    parts = [PlanPart((1, 0) * 12, 1, 5.0), PlanPart((0,) * 24, 0, 1.0)]
    levels, _ = allocate(parts, 1.0)
    assert levels[0].level == heap_levels(parts, 1.0)[0] > 0
    assert levels[1].level == 0
