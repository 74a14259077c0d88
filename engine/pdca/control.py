"""The control-chart part of ``kpi.check``: one KPI's XmR limits and the rules that fire this cycle.

A KPI with ``control: {chart: xmr, rules: [...], baseline: N}`` is charted on its
own history: the values of earlier cycles that had data, oldest first, then this
cycle's value. The limits come from the first ``N`` recorded values when the YAML
fixes a baseline, otherwise from the window ``kpi.check`` looks at (its last
``history_cycles`` values and this one). The rules are tested over that window and
only those whose pattern ENDS on this cycle's point are this cycle's signals: a
signal is news about this cycle, earlier ones were recorded by earlier cycles.

Too little history is a result, never an error: without a baseline the limits
need ``min_points`` values (default 6, i.e. five moving ranges; fewer gives limits
too unstable to act on); with a baseline they need the whole baseline. Until then
the result says ``too_few_points`` and how many there are, and no rule fires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from pdcaflow.tasks.sdk.numbers import finite
from pdcaflow.engine.pdca.spc import xmr_chart, xmr_limits

ControlStatus = Literal["tested", "too_few_points", "no_data"]
MIN_POINTS = 6


class ControlSignal(TypedDict):
    """A rule that fired on this cycle's point, with the cycles and numbers it saw."""

    rule: str
    description: str
    cycle: int | None
    cycles: list[int | None]
    values: list[float]
    side: str
    threshold: float | None


class KpiControl(TypedDict):
    """The control-chart record of one KPI in one cycle (kept in the audit trail with the KPI result).

    ``status``: ``tested`` (limits computed, rules tested), ``too_few_points`` or
    ``no_data`` (no value this cycle). ``limits``: centre, sigma, ucl, lcl, the 1 and
    2 sigma lines, mr_centre, mr_ucl and ``points`` (how many values they come from);
    ``None`` unless tested. ``limit_cycles``: the first and last cycle the limits
    come from. ``points``: the values charted (the window the rules saw).
    """

    chart: str
    rules: list[str]
    baseline: int | None
    status: ControlStatus
    message: str
    limits: dict[str, float] | None
    limit_cycles: list[int | None]
    points: int
    signals: list[ControlSignal]


def control_check(control: Mapping[str, Any] | None, history: Sequence[Mapping[str, Any]], cycle: int,
                  actual: float | None, *, window: int, min_points: int = MIN_POINTS,
                  baseline_history: Sequence[Mapping[str, Any]] | None = None) -> tuple[list[str], KpiControl | None]:
    """The rule ids that fire on this cycle's point, and the control record (``None`` without ``control``).

    Args:
        control: the KPI's ``control`` settings (``chart``, ``rules``, ``baseline``).
        history: the KPI's earlier results, oldest first (all the engine passed).
        cycle: this cycle's number.
        actual: this cycle's value (``None``: no data).
        window: earlier values charted with this one (``kpi.check``'s ``history_cycles``).
        min_points: values needed for limits without a baseline.
        baseline_history: the KPI's first recorded results (the engine passes the first
            ``baseline`` ones, which may be older than ``history``); ``None``: read the
            baseline from ``history``.
    """
    if not control:
        return [], None
    rules = [str(rule) for rule in control.get("rules") or []]
    baseline = control.get("baseline")
    record = KpiControl(chart=str(control.get("chart") or "xmr"), rules=rules, baseline=baseline, status="no_data",
                        message="", limits=None, limit_cycles=[], points=0, signals=[])
    if actual is None:
        record["message"] = "no value this cycle: no rule tested"
        return [], record
    earlier = _values(history)
    recorded = [*(earlier if baseline_history is None else _values(baseline_history)), (cycle, actual)]
    charted = [*(earlier[-window:] if window else []), (cycle, actual)]
    needed = baseline if baseline is not None else min_points
    source = recorded[:baseline] if baseline is not None else charted
    record["points"] = len(charted)
    if len(source) < needed:
        what = f"the {baseline}-cycle baseline" if baseline is not None else f"{min_points} values"
        record.update(status="too_few_points",
                      message=f"control limits need {what}; {len(source)} recorded so far: no rule tested")
        return [], record
    limits = xmr_limits([value for _, value in source])
    chart = xmr_chart([value for _, value in charted], rules, limits=limits)
    cycles = [number for number, _ in charted]
    signals = [ControlSignal(rule=signal.rule, description=signal.description, cycle=cycle,
                             cycles=[cycles[i] for i in signal.indices], values=list(signal.values),
                             side=signal.side, threshold=signal.threshold) for signal in chart.signals_at(-1)]
    fired = chart.fired_at(-1)
    record.update(status="tested", limits=limits.as_dict(), limit_cycles=[source[0][0], source[-1][0]],
                  signals=signals, message=(f"{', '.join(fired)} fired this cycle" if fired
                                            else f"no rule of {', '.join(rules)} fired this cycle"))
    return fired, record


def _values(entries: Sequence[Mapping[str, Any]]) -> list[tuple[int | None, float]]:
    """(cycle, value) of the entries that had a value, oldest first."""
    return [(entry.get("cycle"), value) for entry, value in ((e, _usable(e)) for e in entries) if value is not None]


def _usable(entry: Mapping[str, Any]) -> float | None:
    return None if entry.get("status") == "no_data" else finite(entry.get("actual"))
