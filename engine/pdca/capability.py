"""``change_target: {kpi, capability: {k, cycles}, limit}``: a target from what the process has shown it can do.

The target is the mean of the KPI's last ``cycles`` values (this cycle's included)
minus (a ``min`` bound) or plus (a ``max`` bound) ``k`` sigma; a band gets both.
Sigma is the XmR chart's: the average moving range / d2 (1.128), from
:func:`pdcaflow.engine.pdca.spc.xmr_limits`, which is what the control chart of the same KPI
uses and, unlike the sample standard deviation, is not inflated by a shift or
trend within the window. ``limit`` is a value the new bound never passes (a
``min`` never rises above it, a ``max`` never falls below it; on a band it holds
the side of the middle it lies on). Targets are rounded to four significant
digits (a target of 4.145, not 4.145390071). Fewer than ``cycles`` values with data: the
target stays and the effect says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pdcaflow.engine.pdca.policy_effects import TargetEffect
from pdcaflow.engine.pdca.records import KpiResult, KpiStatus, Target
from pdcaflow.engine.pdca.spc import xmr_limits
from pdcaflow.tasks.sdk.display import decimals_for, rounded
from pdcaflow.tasks.sdk.numbers import finite, show


def capability_target(kpi: str, target: Target, results: Sequence[KpiResult],
                      k: float, cycles: int, limit: Any = None) -> TargetEffect:
    """The target ``mean -/+ k sigma`` of the last ``cycles`` results, never past ``limit``."""
    low, high = target.min, target.max
    window = list(results[-cycles:])
    numbers = [result.actual for result in window if result.status != KpiStatus.NO_DATA and result.actual is not None]
    how = f"capability (k {show(k)}, {cycles} cycles)"
    if len(numbers) < cycles:
        return TargetEffect(kpi, target, target, how, (f"needs {cycles} cycles with data, has {len(numbers)}",))
    limits = xmr_limits(numbers)
    mean, sigma = limits.centre, limits.sigma
    places = decimals_for(window[-1].unit, window[-1].decimals)
    notes = [f"mean {show(_four(mean))}, sigma {show(_four(sigma))} (average moving range / 1.128) of "
             + ", ".join(rounded(value, places) for value in numbers)]
    stop = finite(limit)
    middle = (low + high) / 2 if low is not None and high is not None else None
    new_low, new_high = low, high
    if low is not None:
        new_low = _four(mean - k * sigma)
        if stop is not None and (middle is None or stop < middle) and new_low > stop:
            new_low = stop
            notes.append(f"min stopped at its limit {show(stop)}")
    if high is not None:
        new_high = _four(mean + k * sigma)
        if stop is not None and (middle is None or stop >= middle) and new_high < stop:
            new_high = stop
            notes.append(f"max stopped at its limit {show(stop)}")
    return TargetEffect(kpi, target, Target(min=new_low, max=new_high), how, tuple(notes))


def _four(value: float) -> float:
    return float(f"{value:.4g}")
