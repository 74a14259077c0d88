"""The built-in CHECK step: every declared KPI against its target.

``kpi.check`` takes each KPI's value (read by the engine from the step output its
``source`` names) and compares it with the KPI's current target (the definition's
target as moved by earlier cycles' decisions): met or missed, the margin to the
target, the change since the previous cycle and the trend; a KPI with ``control:``
is charted on its history (XmR limits, the Western Electric / Nelson rules it
selects: see :mod:`pdcaflow.engine.pdca.control`). A missed KPI is a result, never an error; a KPI whose source produced no
value is reported as ``no_data``, which policies and reviewers see like any
other result. The task is a pure function of its context: no I/O, deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from pdcaflow.engine.pdca.control import MIN_POINTS, control_check, fired_rules, usable_actual
from pdcaflow.engine.pdca.records import JsonObject, KpiResult, KpiStatus, Target, Trend
from pdcaflow.tasks.sdk.numbers import bounds, finite, tidy
from pdcaflow.tasks.sdk.registry import StepContext, task

HISTORY_CYCLES = 24


class KpiCheckResult(TypedDict):
    """``kpi.check``'s outputs: ``results`` holds each KPI's :class:`KpiResult` as JSON."""

    results: dict[str, JsonObject]
    met: list[str]
    missed: list[str]
    no_data: list[str]
    signals: dict[str, list[str]]


@task("kpi.check", phases=("check",))
def check(
    context: StepContext,
    *,
    history_cycles: int = HISTORY_CYCLES,
    trend_cycles: int = 6,
    control_min_points: int = MIN_POINTS,
) -> KpiCheckResult:
    """Evaluate every declared KPI against its target: met or missed, margin, change and trend.

    ``delta`` is the change since the previous cycle's actual value; ``margin`` is
    how far the actual value lies from the nearest target bound, signed so that a
    positive margin is on the good side (above a ``min``, below a ``max``, inside a
    band). A trend is reported when the last ``trend_cycles`` values (earlier
    cycles and this one, skipping cycles without data) rise or fall strictly.
    A KPI with ``control:`` gets XmR limits (from its baseline cycles, or from the
    last ``history_cycles`` values and this one) and ``signals``: the rules it
    selects whose pattern ends on this cycle's value.

    Args:
        context: the cycle this step runs in (passed by the engine); ``kpi_specs``
            carries each KPI's value, read by the engine, and the target in force.
        history_cycles: past cycles of each KPI used for control limits and trends.
        trend_cycles: consecutive cycles that make a trend (at least 2).
        control_min_points: values a KPI without a fixed baseline needs before it
            gets control limits (at least 2; fewer: ``too_few_points``, no signal).

    Returns:
        ``results`` (KPI id -> actual, target, met, missed, delta, margin, status,
        unit, signals, trend), and the KPI ids that were ``met``, ``missed`` or had
        ``no_data`` (in declaration order), and ``signals`` (KPI id -> the control
        rules that fired; KPIs without signals are left out).

    Raises:
        ValueError: ``trend_cycles`` or ``control_min_points`` below 2, or ``history_cycles`` negative.
    """
    if trend_cycles < 2:
        raise ValueError(f"kpi.check: trend_cycles must be at least 2 (a trend needs two values), got {trend_cycles}")
    if history_cycles < 0:
        raise ValueError(f"kpi.check: history_cycles cannot be negative, got {history_cycles}")
    if control_min_points < 2:
        raise ValueError(f"kpi.check: control_min_points must be at least 2 (one moving range), "
                         f"got {control_min_points}")
    results = kpi_results(context, history_cycles, trend_cycles, control_min_points)
    return KpiCheckResult(
        results={kpi_id: result.to_json() for kpi_id, result in results.items()},
        met=_with_status(results, KpiStatus.MET),
        missed=_with_status(results, KpiStatus.MISSED),
        no_data=_with_status(results, KpiStatus.NO_DATA),
        signals={kpi_id: list(result.signals) for kpi_id, result in results.items() if result.signals},
    )


def kpi_results(context: StepContext, history_cycles: int, trend_cycles: int,
                control_min_points: int) -> dict[str, KpiResult]:
    """Each declared KPI's result this cycle, in declaration order (what :func:`check` reports)."""
    previous_kpis: Mapping[str, Any] = context.previous.get("kpis") or {}
    results: dict[str, KpiResult] = {}
    for kpi_id, spec in context.kpi_specs.items():
        recorded = list(context.history.get(kpi_id, ()))
        earlier = recorded[-history_cycles:] if history_cycles else []
        previous = previous_kpis.get(kpi_id) or {}
        result = evaluate(spec, earlier, previous.get("actual"), trend_cycles, context.targets.get(kpi_id))
        control = control_check(spec.get("control"), recorded, context.cycle, result.actual, window=history_cycles,
                                min_points=control_min_points, baseline_history=spec.get("baseline_history"))
        results[kpi_id] = result.model_copy(update={"signals": fired_rules(control), "control": control})
    return results


def _with_status(results: Mapping[str, KpiResult], status: KpiStatus) -> list[str]:
    return [kpi_id for kpi_id, result in results.items() if result.status == status]


def evaluate(spec: Mapping[str, Any], history: Sequence[Mapping[str, Any]], previous_actual: Any,
             trend_cycles: int, fallback_target: Mapping[str, Any] | None = None) -> KpiResult:
    """One KPI's result from its spec (``actual``, ``target``, ``unit``) and its earlier results."""
    low, high = bounds(spec.get("target") or fallback_target)
    actual = finite(spec.get("actual"))
    status = KpiStatus.NO_DATA if actual is None else KpiStatus.MET if _within(actual, low, high) else KpiStatus.MISSED
    earlier_actual = finite(previous_actual)
    values = [value for value in (usable_actual(entry) for entry in history) if value is not None]
    return KpiResult(
        actual=actual,
        target=Target(min=low, max=high),
        met=None if actual is None else status == KpiStatus.MET,
        missed=None if actual is None else status == KpiStatus.MISSED,
        delta=None if actual is None or earlier_actual is None else tidy(actual - earlier_actual),
        margin=None if actual is None else margin(actual, low, high),
        status=status,
        unit=str(spec.get("unit", "")),
        decimals=spec.get("decimals"),
        trend=trend([*values, actual] if actual is not None else values, trend_cycles),
    )  # signals and control: filled by kpi_results() from the control chart (pdcaflow.engine.pdca.control)


def margin(actual: float, low: float | None, high: float | None) -> float | None:
    """Signed distance to the nearest bound, positive on the good side; ``None`` without bounds."""
    distances = [actual - low] if low is not None else []
    if high is not None:
        distances.append(high - actual)
    return tidy(min(distances)) if distances else None


def trend(values: Sequence[float], cycles: int) -> Trend | None:
    """``up``/``down`` when the last ``cycles`` values rise/fall strictly, ``flat`` otherwise."""
    if len(values) < cycles:
        return None
    window = values[-cycles:]
    moves = list(zip(window, window[1:]))
    if all(later > earlier for earlier, later in moves):
        return Trend.UP
    if all(later < earlier for earlier, later in moves):
        return Trend.DOWN
    return Trend.FLAT


def _within(actual: float, low: float | None, high: float | None) -> bool:
    return (low is None or low <= actual) and (high is None or actual <= high)

