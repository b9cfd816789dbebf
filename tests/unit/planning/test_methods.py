"""Classification and forecasts against worked examples (the papers' update equations applied
by hand; the figures are in each test)."""

from __future__ import annotations

import pytest

from purchasing.planning.classification import DemandClass, classify
from purchasing.planning.forecasts import croston, croston_state, sba, ses, tsb, tsb_state

SERIES = (0, 0, 3, 0, 5, 0, 0, 0, 4)


@pytest.mark.parametrize(
    ("demand", "expected", "adi", "cv2"),
    [
        # 3 demands in 8 months: ADI 8/3; sizes 3, 5, 4: variance 2/3, mean 4, CV² 2/3 / 16.
        ((0, 0, 3, 0, 5, 0, 0, 4), DemandClass.INTERMITTENT, 8 / 3, 0.041667),
        # sizes 1, 2, 3, 4: variance 1.25, mean 2.5, CV² 0.2; ADI 1.
        ((1, 2, 3, 4), DemandClass.SMOOTH, 1.0, 0.2),
        # sizes 1, 10, 1, 10: variance 20.25, mean 5.5, CV² 0.669.
        ((1, 10, 1, 10), DemandClass.ERRATIC, 1.0, 0.669421),
        ((0, 0, 1, 0, 10, 0), DemandClass.LUMPY, 3.0, 0.669421),
        ((0, 0, 0), DemandClass.NONE, float("inf"), 0.0),
    ],
)
def test_syntetos_boylan_classes(
    demand: tuple[int, ...], expected: DemandClass, adi: float, cv2: float
) -> None:
    result = classify(demand)
    assert result.demand_class is expected
    assert result.adi == pytest.approx(adi)
    assert result.cv2 == pytest.approx(cv2, abs=1e-6)


def test_the_cut_offs_belong_to_the_intermittent_side() -> None:
    # 33 months with 25 demands of 1: ADI = 1.32 exactly, CV² 0 -> intermittent.
    assert classify((1,) * 25 + (0,) * 8).demand_class is DemandClass.INTERMITTENT
    assert classify((1,) * 26 + (0,) * 7).demand_class is DemandClass.SMOOTH


def test_ses_worked_example() -> None:
    # alpha 0.5 on 2, 4, 0: 2 -> 2 + 0.5 (4 - 2) = 3 -> 3 + 0.5 (0 - 3) = 1.5
    assert ses((2, 4, 0), 0.5) == pytest.approx(1.5)


def test_croston_and_sba_worked_example() -> None:
    # alpha 0.1. First demand 3 in period 3: z = 3, p = 3.
    # Period 5, demand 5 after 2: z = 3 + 0.1 (5 - 3) = 3.2, p = 3 + 0.1 (2 - 3) = 2.9.
    # Period 9, demand 4 after 4: z = 3.2 + 0.1 (4 - 3.2) = 3.28, p = 2.9 + 0.1 (4 - 2.9) = 3.01.
    state = croston_state(SERIES, 0.1)
    assert (state.size, state.interval, state.demands) == pytest.approx((3.28, 3.01, 3))
    assert croston(SERIES, 0.1) == pytest.approx(3.28 / 3.01)  # 1.0897
    assert sba(SERIES, 0.1) == pytest.approx(0.95 * 3.28 / 3.01)  # 1.0352 (1 - alpha / 2)
    assert croston((0, 0, 0), 0.1) == 0


def test_croston_does_not_move_in_months_without_demand() -> None:
    assert croston((*SERIES, 0, 0, 0), 0.1) == croston(SERIES, 0.1)


def test_tsb_worked_example_and_fading() -> None:
    # alpha = beta = 0.1. First demand in period 3: pi = 1/3, z = 3. Then per period:
    # 4 (0): pi 0.3; 5 (5): pi 0.37, z 3.2; 6: 0.333; 7: 0.2997; 8: 0.26973;
    # 9 (4): pi 0.26973 + 0.1 (1 - 0.26973) = 0.342757, z 3.28.
    state = tsb_state(SERIES, 0.1, 0.1)
    assert state.probability == pytest.approx(0.342757)
    assert state.size == pytest.approx(3.28)
    assert tsb(SERIES, 0.1, 0.1) == pytest.approx(0.342757 * 3.28)  # 1.1242
    # Twelve months without demand: pi x 0.9^12, the forecast fades (Croston's would not).
    assert tsb((*SERIES, *(0,) * 12), 0.1, 0.1) == pytest.approx(0.342757 * 0.9**12 * 3.28)
