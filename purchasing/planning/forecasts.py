"""Forecasts of mean demand per period, each updated period by period (the last value is the
forecast for the next period). Small, dependency-free implementations of:

- SES, simple exponential smoothing (Brown 1959): ``f <- f + alpha (d - f)``;
- Croston (1972), "Forecasting and stock control for intermittent demands", Operational
  Research Quarterly 23(3): after each period with demand ``d > 0`` that came ``q`` periods
  after the previous one, ``z <- z + alpha (d - z)``, ``p <- p + alpha (q - p)``; forecast
  ``z / p`` (unchanged in periods without demand);
- SBA, Syntetos & Boylan (2005), "The accuracy of intermittent demand estimates",
  International Journal of Forecasting 21(2): Croston times ``1 - alpha / 2`` (removes
  Croston's bias);
- TSB, Teunter, Syntetos & Babai (2011), "Intermittent demand: linking forecasting to
  inventory obsolescence", European Journal of Operational Research 214(3): the probability of
  demand ``pi <- pi + beta (1[d > 0] - pi)`` every period, the size ``z <- z + alpha (d - z)``
  in periods with demand; forecast ``pi z`` (fades while no demand comes: dying parts).

Initialisation (the usual one, e.g. in Syntetos & Boylan 2005): ``z`` = the first demand size,
``p`` = the periods up to and including the first demand, ``pi`` = 1 / p; SES starts at the
first observation. Before the first demand the Croston-type forecasts are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


def ses(demand: Sequence[float], alpha: float) -> float:
    if not demand:
        return 0.0
    level = float(demand[0])
    for units in demand[1:]:
        level += alpha * (units - level)
    return level


class CrostonState(NamedTuple):
    size: float  # z, smoothed nonzero demand size
    interval: float  # p, smoothed periods between demands
    demands: int  # periods with demand seen


def croston_state(demand: Sequence[float], alpha: float) -> CrostonState:
    size = interval = 0.0
    demands = 0
    since = 0
    for units in demand:
        since += 1
        if units > 0:
            if demands == 0:
                size, interval = float(units), float(since)
            else:
                size += alpha * (units - size)
                interval += alpha * (since - interval)
            demands += 1
            since = 0
    return CrostonState(size, interval, demands)


def croston(demand: Sequence[float], alpha: float) -> float:
    state = croston_state(demand, alpha)
    return state.size / state.interval if state.demands else 0.0


def sba(demand: Sequence[float], alpha: float) -> float:
    return (1 - alpha / 2) * croston(demand, alpha)


class TsbState(NamedTuple):
    probability: float  # pi
    size: float  # z


def tsb_state(demand: Sequence[float], alpha: float, beta: float) -> TsbState:
    probability = size = 0.0
    started = False
    since = 0
    for units in demand:
        since += 1
        if not started:
            if units > 0:
                started = True
                probability, size = 1.0 / since, float(units)
            continue
        probability += beta * ((1.0 if units > 0 else 0.0) - probability)
        if units > 0:
            size += alpha * (units - size)
    return TsbState(probability, size)


def tsb(demand: Sequence[float], alpha: float, beta: float) -> float:
    state = tsb_state(demand, alpha, beta)
    return state.probability * state.size
