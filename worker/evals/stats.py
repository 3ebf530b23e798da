"""The two statistics the eval reports and `compare` rest on, in plain Python (no scipy).

A pass rate from a handful of runs is a rough estimate: 3 of 3 passes is consistent with a true rate
as low as 44%. So every rate comes with a Wilson score interval (it behaves at 0 and n, where the
normal approximation collapses to a zero-width interval), and a suite-level drop is called a
regression only when a one-sided two-proportion z-test says it is unlikely to be noise.
"""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # two-sided 95%


def wilson(passed: int, runs: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of `passed` out of `runs`; (0, 1) when there are no runs."""
    if runs <= 0:
        return 0.0, 1.0
    p = passed / runs
    denominator = 1 + z * z / runs
    centre = (p + z * z / (2 * runs)) / denominator
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def drop_p_value(passed_a: int, runs_a: int, passed_b: int, runs_b: int) -> float:
    """One-sided p-value that B's pass rate is below A's: pooled two-proportion z-test.

    1.0 when either side has no runs or both rates are 0 or 1 alike (no evidence of a drop)."""
    if runs_a <= 0 or runs_b <= 0:
        return 1.0
    pooled = (passed_a + passed_b) / (runs_a + runs_b)
    variance = pooled * (1 - pooled) * (1 / runs_a + 1 / runs_b)
    if variance == 0:
        return 1.0
    z = (passed_a / runs_a - passed_b / runs_b) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))
