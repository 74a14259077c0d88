"""The built-in CHECK step: every declared KPI against its target.

``kpi.check`` reads each KPI's value from the step output its ``source`` names,
compares it with the KPI's current target (the definition's target as moved by
earlier cycles' decisions), and tests the KPI's history against the control-chart
rules its ``control:`` enables. A missed KPI is a result, never an error; a KPI
whose source produced no value is reported as ``no_data``, which policies and
reviewers see like any other result.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from tasks.registry import StepContext, task

KpiStatus = Literal["met", "missed", "no_data"]


class KpiTarget(TypedDict):
    min: float | None
    max: float | None


class KpiResult(TypedDict):
    actual: float | None
    target: KpiTarget
    met: bool | None
    missed: bool | None
    delta: float | None
    status: KpiStatus
    unit: str
    signals: list[str]
    trend: Literal["up", "down", "flat"] | None


class KpiCheckResult(TypedDict):
    results: dict[str, KpiResult]
    met: list[str]
    missed: list[str]
    no_data: list[str]
    signals: dict[str, list[str]]


@task("kpi.check", phases=("check",))
def check(
    context: StepContext,
    *,
    history_cycles: int = 24,
    trend_cycles: int = 6,
) -> KpiCheckResult:
    """Evaluate every declared KPI against its target and test its history for control-chart signals.

    ``delta`` is how far the actual value lies from the nearest target bound, signed
    so that a positive delta is on the good side (above a ``min``, below a ``max``).
    A trend is reported when the last ``trend_cycles`` values rise or fall steadily.

    Args:
        context: the cycle this step runs in (passed by the engine); it carries the
            step outputs the KPIs read and the targets in force this cycle.
        history_cycles: past cycles of each KPI used for control limits and trends.
        trend_cycles: consecutive cycles that make a trend.

    Returns:
        ``results`` (KPI id -> actual, target, met, missed, delta, status, unit,
        signals, trend), and the KPI ids that were ``met``, ``missed`` or had
        ``no_data``, and ``signals`` (KPI id -> the control rules that fired).
    """
    raise NotImplementedError("kpi.check is registered for validation; its body arrives with the engine issue")
