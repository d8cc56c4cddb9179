"""Student's t quantiles at any two-sided level, for the intervals of a comparison of N
candidates (each against the baseline at a Bonferroni-corrected level, so the family of N - 1
intervals holds at the level asked for).

Exact for whole degrees of freedom: P(|T| < t) has a closed form in theta = atan(t / sqrt(df))
(Abramowitz and Stegun 26.7.3-4), inverted by bisection. A fractional df is rounded down, which
widens the interval a little: the safe side. Past _EXACT_DF the Cornish-Fisher expansion around
the normal quantile is closer than 1e-5.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_EXACT_DF = 300


def _central(t: float, df: int) -> float:
    """P(|T| < t) for T ~ Student's t with `df` degrees of freedom."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        if df == 1:
            return 2 * theta / math.pi
        term = total = math.cos(theta)
        for k in range(3, df - 1, 2):  # (2.4...(k-1)) / (1.3...k) cos^k
            term *= (k - 1) / k * c2
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * total)
    term = total = 1.0
    for k in range(2, df - 1, 2):  # (1.3...(k-1)) / (2.4...k) cos^k
        term *= (k - 1) / k * c2
        total += term
    return math.sin(theta) * total


def t_two_sided(level: float, df: float) -> float:
    """t such that P(|T| < t) = level, with `df` >= 1 degrees of freedom (0.95, 30: 2.042)."""
    if df < 1:
        raise ValueError(f"t quantile needs df >= 1, got {df}")
    if not 0 < level < 1:
        raise ValueError(f"a level is in (0, 1), got {level}")
    whole = math.floor(df)
    if whole > _EXACT_DF:
        z = NormalDist().inv_cdf(0.5 + level / 2)
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        return z + g1 / whole + g2 / whole**2 + g3 / whole**3
    low, high = 0.0, 1.0
    while _central(high, whole) < level:
        high *= 2
    for _ in range(100):  # to the float's last bits
        mid = (low + high) / 2
        if _central(mid, whole) < level:
            low = mid
        else:
            high = mid
    return high
