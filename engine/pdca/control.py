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
from typing import Any

from pdcaflow.engine.pdca.records import ControlChart, ControlStatus, Signal
from pdcaflow.engine.pdca.spc import xmr_chart, xmr_limits
from pdcaflow.tasks.sdk.numbers import finite

MIN_POINTS = 6


def control_check(control: Mapping[str, Any] | None, history: Sequence[Mapping[str, Any]], cycle: int,
                  actual: float | None, *, window: int, min_points: int = MIN_POINTS,
                  baseline_history: Sequence[Mapping[str, Any]] | None = None) -> ControlChart | None:
    """The control record of this cycle's point (``None`` without ``control``); its ``signals`` fired on it.

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
        return None
    rules = tuple(str(rule) for rule in control.get("rules") or [])
    baseline: int | None = control.get("baseline")
    untested = ControlChart(chart=str(control.get("chart") or "xmr"), rules=rules, baseline=baseline,
                            status=ControlStatus.NO_DATA, message="")
    if actual is None:
        return untested.model_copy(update={"message": "no value this cycle: no rule tested"})
    earlier = _values(history)
    recorded = [*(earlier if baseline_history is None else _values(baseline_history)), (cycle, actual)]
    charted = [*(earlier[-window:] if window else []), (cycle, actual)]
    needed = baseline if baseline is not None else min_points
    source = recorded[:baseline] if baseline is not None else charted
    if len(source) < needed:
        what = f"the {baseline}-cycle baseline" if baseline is not None else f"{min_points} values"
        return untested.model_copy(update={
            "status": ControlStatus.TOO_FEW_POINTS, "points": len(charted),
            "message": f"control limits need {what}; {len(source)} recorded so far: no rule tested"})
    limits = xmr_limits([value for _, value in source])
    chart = xmr_chart([value for _, value in charted], rules, limits=limits)
    cycles = [number for number, _ in charted]
    signals = tuple(Signal(rule=signal.rule, description=signal.description, cycle=cycle,
                           cycles=tuple(cycles[i] for i in signal.indices), values=signal.values,
                           side=signal.side, threshold=signal.threshold) for signal in chart.signals_at(-1))
    fired = chart.fired_at(-1)
    return untested.model_copy(update={
        "status": ControlStatus.TESTED, "limits": limits.as_dict(), "limit_cycles": (source[0][0], source[-1][0]),
        "points": len(charted), "signals": signals,
        "message": (f"{', '.join(fired)} fired this cycle" if fired
                    else f"no rule of {', '.join(rules)} fired this cycle")})


def fired_rules(control: ControlChart | None) -> tuple[str, ...]:
    """The ids of the rules that fired on this cycle's point, each once, in the order they were found."""
    if control is None:
        return ()
    return tuple(dict.fromkeys(signal.rule for signal in control.signals))


def _values(entries: Sequence[Mapping[str, Any]]) -> list[tuple[int | None, float]]:
    """(cycle, value) of the entries that had a value, oldest first."""
    return [(entry.get("cycle"), value) for entry, value in ((e, usable_actual(e)) for e in entries)
            if value is not None]


def usable_actual(entry: Mapping[str, Any]) -> float | None:
    """A recorded result's value, ``None`` when it had no data (whatever its ``actual`` says)."""
    return None if entry.get("status") == "no_data" else finite(entry.get("actual"))
