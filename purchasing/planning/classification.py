"""Demand classes of Syntetos, Boylan & Croston (2005), "On the categorization of demand
patterns", Journal of the Operational Research Society 56(5), 495-503.

- ADI, the average inter-demand interval: periods per period with demand (n / demands);
- CV², the squared coefficient of variation of the nonzero demand sizes (population
  variance / mean²);
- cut-offs ADI = 1.32 and CV² = 0.49: smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32,
  CV² >= 0.49), intermittent (ADI >= 1.32, CV² < 0.49), lumpy (both at or above).
A series without any demand is ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class DemandClass(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    NONE = "none"


class Classification(NamedTuple):  # a tuple: one per part and month of a backtest, made fast
    demand_class: DemandClass
    adi: float  # inf when there is no demand
    cv2: float


def classify(demand: Sequence[int]) -> Classification:
    sizes = [units for units in demand if units > 0]
    if not sizes:
        return Classification(DemandClass.NONE, float("inf"), 0.0)
    adi = len(demand) / len(sizes)
    mean = sum(sizes) / len(sizes)
    cv2 = (sum((size - mean) ** 2 for size in sizes) / len(sizes)) / mean**2
    if adi < ADI_CUTOFF:
        demand_class = DemandClass.SMOOTH if cv2 < CV2_CUTOFF else DemandClass.ERRATIC
    else:
        demand_class = DemandClass.INTERMITTENT if cv2 < CV2_CUTOFF else DemandClass.LUMPY
    return Classification(demand_class, adi, cv2)
