"""Order-up-to levels for a target fill rate, month by month, from each month's past only.

Periodic review every month, lead time ``L`` months, backorders: the protection period is
``L + 1`` months, and the expected units short per review period for a level ``S`` are
(Hadley & Whitin 1963; Silver, Pyke & Thomas 2017, ch. 7)

    ESPRC(S) = E[(D_{L+1} - S)^+] - E[(D_L - S)^+]

with ``D_n`` the demand over ``n`` months. The expected fill rate is ``1 - ESPRC(S) / mu``
(``mu`` = mean demand per month), and the level is the smallest integer ``S`` whose expected
fill rate meets the target. The second term credits what was already short before the period
started; it matters on lumpy demand. Because a period without demand has no shortage, this
difference is the same as conditioning the period on a demand occurring: the "replenishment
cycle starting with a demand" of Teunter & Duncan (2009) is built in.

The protection-period demand distribution, per part:

- ``normal`` (the textbook baseline of shared/data/README.md): mean and sample standard
  deviation of the last 24 months, normal distribution over ``L + 1``, safety factor ``k``
  from ``sigma G(k) = (1 - target) mu``, level rounded up;
- ``lumpy``: mean ``m`` and sample variance ``v`` of the last 24 months (the
  baseline's own inputs), demand over ``k`` months with mean ``k m`` and variance
  ``v (k + k^2 / n)`` (``n`` = months in the window; the ``k^2 / n`` term is the error of the
  estimated mean, Prak, Teunter & Syntetos 2017, "On the calculation of safety stocks when
  demand is forecasted", EJOR 256(2)), as a negative binomial (a compound Poisson with
  logarithmic sizes: lumps) fitted by these two moments, Poisson when the variance does not
  exceed the mean; a normal approximation above a mean of 5,000 units over ``L + 1``.
  Integer levels, found by a scan from 0 that updates both loss functions one unit at a time.
- ``reactive``: as ``lumpy``, with the last 6 months instead whenever their mean is higher.

The default ``system`` method (portfolio.py) uses the ``reactive`` model for every part but
sets the levels of all parts together. See docs/planning.md for the choices and measurements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

from purchasing.planning.backtest import FIRST_MONTH
from purchasing.planning.history import ItemHistory

NORMAL_WINDOW = 24
#: Months of history behind each level of the lumpy method (the baseline's window too).
WINDOW = 24
#: Above this mean over the protection period the scan would be long: normal approximation
#: (also used where P(D = 0) underflows).
SCAN_LIMIT = 5000.0
METHODS = ("lumpy", "reactive", "normal")
#: The ``reactive`` method's short window (months).
RECENT = 6


# --- the textbook normal baseline --------------------------------------------------------


def _normal_loss(k: float) -> float:
    """G(k) = phi(k) - k (1 - Phi(k)), the standard normal loss function."""
    return math.exp(-k * k / 2) / math.sqrt(2 * math.pi) - k * 0.5 * math.erfc(k / math.sqrt(2))


@lru_cache(maxsize=65536)
def safety_factor(loss: float) -> float:
    """The ``k`` with G(k) = loss (G is decreasing), by bisection on [-10, 10]."""
    low, high = -10.0, 10.0
    for _ in range(60):
        middle = (low + high) / 2
        if _normal_loss(middle) > loss:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def normal_level(window: Sequence[int], lead_time: int, target: float) -> int:
    n = len(window)
    if n < 2:
        return 0
    mean = sum(window) / n
    std = math.sqrt(sum((units - mean) ** 2 for units in window) / (n - 1))
    periods = lead_time + 1
    mean_p, std_p = mean * periods, std * math.sqrt(periods)
    if std_p == 0:
        return max(0, math.ceil(mean_p))
    k = safety_factor(round((1 - target) * mean / std_p, 12))
    return max(0, math.ceil(mean_p + k * std_p))


def normal_levels(item: ItemHistory, target: float, first_month: int = FIRST_MONTH) -> list[int]:
    demand = item.demand
    return [
        normal_level(demand[max(0, t - NORMAL_WINDOW) : t], item.lead_time, target)
        for t in range(first_month, len(demand))
    ]


# --- fill-rate levels on a negative binomial / Poisson protection-period demand ----------


def fill_rate_level(
    mean: float, variance_after: float, variance_before: float, lead_time: int, target: float
) -> int:
    """Smallest ``S`` whose expected fill rate meets ``target``.

    ``mean``: demand per month; ``variance_after`` / ``variance_before``: variance of the
    demand over ``L + 1`` and over ``L`` months."""
    if mean <= 0:
        return 0
    allowed = (1 - target) * mean  # expected units short per month
    if mean * (lead_time + 1) > SCAN_LIMIT:
        return _normal_fill_rate_level(mean, variance_after, variance_before, lead_time, allowed)
    after = _Loss(mean * (lead_time + 1), variance_after)
    before = _Loss(mean * lead_time, variance_before) if lead_time else None
    if after.pmf == 0 or (before is not None and before.pmf == 0):  # P(D = 0) underflows
        return _normal_fill_rate_level(mean, variance_after, variance_before, lead_time, allowed)
    level = 0
    while after.value - (before.value if before else 0.0) > allowed:
        after.step()
        if before:
            before.step()
        level += 1
    return level


class _Loss:
    """E[(D - S)^+] for S = 0, 1, 2, ... of a negative binomial (or Poisson) D, stepwise."""

    __slots__ = ("cdf", "grow", "k", "pmf", "shape", "value")

    def __init__(self, mean: float, variance: float) -> None:
        self.value = mean  # E[(D - 0)^+]
        self.k = 0
        if variance > mean * (1 + 1e-9):
            success = mean / variance
            self.shape = mean * success / (1 - success)  # r = mean^2 / (variance - mean)
            self.grow = 1 - success
            self.pmf = math.exp(self.shape * math.log(success))
        else:  # Poisson: grow = mean, shape = None-like marker
            self.shape = -1.0
            self.grow = mean
            self.pmf = math.exp(-mean)
        self.cdf = self.pmf

    def advance(self, units: int) -> None:
        """``step`` ``units`` times, in one tight loop (the system method's busy parts)."""
        value, cdf, pmf, k = self.value, self.cdf, self.pmf, self.k
        grow, shape = self.grow, self.shape
        if shape < 0:
            for _ in range(units):
                value -= 1 - cdf
                k += 1
                pmf *= grow / k
                cdf += pmf
        else:
            for _ in range(units):
                value -= 1 - cdf
                pmf *= (k + shape) / (k + 1) * grow
                k += 1
                cdf += pmf
        self.value = value if value > 0 else 0.0
        self.pmf, self.k = pmf, k
        self.cdf = cdf if cdf < 1 else 1.0

    def step(self) -> None:
        # E[(D - (S + 1))^+] = E[(D - S)^+] - P(D > S)
        self.value = max(0.0, self.value - (1 - self.cdf))
        k = self.k
        if self.shape < 0:
            self.pmf *= self.grow / (k + 1)
        else:
            self.pmf *= (k + self.shape) / (k + 1) * self.grow
        self.k = k + 1
        self.cdf = min(1.0, self.cdf + self.pmf)


def _normal_fill_rate_level(
    mean: float, variance_after: float, variance_before: float, lead_time: int, allowed: float
) -> int:
    # Large means: the negative binomial is close to normal, and a scan would be long.
    def loss(periods: int, variance: float, level: float) -> float:
        if periods == 0:
            return 0.0
        mu, sigma = mean * periods, math.sqrt(max(variance, mean * periods))
        return sigma * _normal_loss((level - mu) / sigma)

    after = lead_time + 1
    high = math.ceil(mean * after + 10 * math.sqrt(max(variance_after, mean * after)))
    low = 0
    while low < high:  # the shortfall decreases in S
        middle = (low + high) // 2
        if (
            loss(after, variance_after, middle) - loss(lead_time, variance_before, middle)
            <= allowed
        ):
            high = middle
        else:
            low = middle + 1
    return low


def lumpy_levels(
    item: ItemHistory, target: float, first_month: int = FIRST_MONTH, recent: int = 0
) -> list[int]:
    """Levels for months ``first_month ..``, each from the last 24 months before it.

    Per-month mean ``m`` and sample variance ``v`` of the window of ``n`` months; over ``k``
    months the demand has mean ``k m`` and variance ``v (k + k^2 / n)``: the second term is the
    error of the estimated mean carried over ``k`` months (Prak, Teunter & Syntetos 2017),
    which a level set from 24 months of lumpy history must cover.

    With ``recent`` (the ``reactive`` method: 6), the last ``recent`` months are used instead
    whenever their mean is higher: demand that steps up is followed within months, demand that
    falls away is followed only as the 24-month window forgets it.
    """
    demand = item.demand
    lead = item.lead_time
    levels: list[int] = []
    cache: dict[tuple[int, ...], int] = {}
    for t in range(first_month, len(demand)):
        windows = [demand[max(0, t - WINDOW) : t]]
        if recent:
            windows.append(demand[max(0, t - recent) : t])
        stats = [(len(w), sum(w), sum(units * units for units in w)) for w in windows]
        key = tuple(figure for window in stats for figure in window)  # mostly unchanged
        level = cache.get(key)
        if level is None:
            n, total, squares = max(stats, key=lambda s: s[1] / s[0] if s[0] else 0.0)
            level = cache[key] = window_level(n, total, squares, lead, target)
        levels.append(level)
    return levels


def window_level(n: int, total: int, squares: int, lead_time: int, target: float) -> int:
    """The fill-rate level from a window's count, sum and sum of squares."""
    if n < 2 or total <= 0:
        return 0
    mean = total / n
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    after = lead_time + 1
    return fill_rate_level(
        mean,
        variance * (after + after * after / n),
        variance * (lead_time + lead_time * lead_time / n),
        lead_time,
        target,
    )


def policy(method: str, target: float) -> Callable[[ItemHistory], list[int]]:
    if method == "normal":
        return lambda item: normal_levels(item, target)
    if method == "lumpy":
        return lambda item: lumpy_levels(item, target)
    if method == "reactive":
        return lambda item: lumpy_levels(item, target, recent=RECENT)
    raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
