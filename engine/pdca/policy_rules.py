"""When an improvement policy fires: the tests of ``when:`` and ``ratchet:`` over KPI results.

Each test looks at the KPI's results as one list, oldest first, ending with this
cycle's, and returns a :class:`Verdict`: whether it fired and a reason that names
the numbers it fired (or did not fire) on, e.g. ``satisfaction missed in 2
consecutive cycles (4.05 < min 4.2, 4.1 < min 4.2)``. Every result is read with
the target that was in force in its own cycle. Values are shown with the KPI's
decimals at most (:func:`shown_decimals`), more where fewer would make a value read equal
to the bound it missed; the exact values stay in the KPI results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from pdcaflow.engine.pdca.records import KpiResult, KpiStatus, Target
from pdcaflow.tasks.sdk.display import against, bound, decimals_for, rounded

Result = KpiResult


class Verdict(NamedTuple):
    """Whether a policy's test fired, and why (or why not), in numbers."""

    fired: bool
    reason: str


def status_of(result: Result | None) -> KpiStatus:
    """``met``, ``missed`` or ``no_data`` (no result: ``no_data``); a result read without a ``status``
    has it from the ``met``/``missed`` flags (:class:`~pdcaflow.engine.pdca.records.KpiResult`)."""
    return KpiStatus.NO_DATA if result is None else result.status


def shown_decimals(result: Result) -> int:
    """The decimals a result's values are shown with: its KPI's ``decimals:``, else its unit's default."""
    return decimals_for(result.unit, result.decimals)


def comparison(result: Result) -> str:
    """A result against its own target: ``4.05 < min 4.2``, ``min 4 <= 4.3 <= max 5``, ``no data``."""
    actual = result.actual
    if actual is None or status_of(result) == KpiStatus.NO_DATA:
        return "no data"
    places = shown_decimals(result)
    low, high = result.target.min, result.target.max
    if low is not None and actual < low:
        return f"{against(actual, low, places)} < min {bound(low)}"
    if high is not None and actual > high:
        return f"{against(actual, high, places)} > max {bound(high)}"
    if low is not None and high is not None:
        return f"min {bound(low)} <= {rounded(actual, places)} <= max {bound(high)}"
    if low is not None:
        return f"{rounded(actual, places)} >= min {bound(low)}"
    if high is not None:
        return f"{rounded(actual, places)} <= max {bound(high)}"
    return f"{rounded(actual, places)}, no target"


def _streak(results: Sequence[Result], holds: Callable[[Result], bool]) -> int:
    count = 0
    for result in reversed(results):
        if not holds(result):
            break
        count += 1
    return count


def _cycles(count: int) -> str:
    return f"{count} consecutive cycle" + ("" if count == 1 else "s")


def streak_test(kpi: str, results: Sequence[Result], wanted: str, cycles: int) -> Verdict:
    """``when: {kpi, missed: true, cycles}`` (``wanted="missed"``) or ``met: true`` likewise."""
    current = results[-1] if results else None
    if current is None or status_of(current) == KpiStatus.NO_DATA:
        return Verdict(False, f"{kpi} has no data this cycle")
    streak = _streak(results, lambda result: status_of(result) == wanted)
    if streak == 0:
        return Verdict(False, f"{kpi} {status_of(current)} ({comparison(current)})")
    shown = results[-min(streak, cycles):]
    details = ", ".join(comparison(result) for result in shown)
    if streak >= cycles:
        span = "" if cycles == 1 else f" in {_cycles(cycles)}"
        return Verdict(True, f"{kpi} {wanted}{span} ({details})")
    return Verdict(False, f"{kpi} {wanted} in {_cycles(streak)} ({details}), needs {cycles}; "
                   + _before(results, streak))


def _before(results: Sequence[Result], streak: int) -> str:
    if streak >= len(results):
        return "no earlier cycle recorded"
    earlier = results[-streak - 1]
    status = status_of(earlier)
    return "before that no data" if status == KpiStatus.NO_DATA else f"before that {status} ({comparison(earlier)})"


def trend_test(kpi: str, results: Sequence[Result], direction: str, cycles: int) -> Verdict:
    """``when: {kpi, trend: up|down, cycles}``: the last ``cycles + 1`` actuals rise/fall strictly."""
    needed = cycles + 1
    window = list(results[-needed:])
    values = [None if status_of(result) == KpiStatus.NO_DATA else result.actual for result in window]
    places = shown_decimals(window[-1]) if window else 2
    shown = " -> ".join("no data" if value is None else rounded(value, places) for value in values)
    if len(window) < needed:
        return Verdict(False, f"{kpi} has {len(window)} of the {needed} values a {direction} trend over "
                       f"{_cycles(cycles)} needs ({shown or 'none'})")
    if any(value is None for value in values):
        return Verdict(False, f"{kpi} has no data in part of the last {needed} cycles ({shown}), so no trend")
    numbers = [value for value in values if value is not None]
    pairs = list(zip(numbers, numbers[1:]))
    moved = all(later > earlier if direction == "up" else later < earlier for earlier, later in pairs)
    verb = "moved" if moved else "did not move"
    return Verdict(moved, f"{kpi} {verb} {direction} in {_cycles(cycles)} ({shown})")


def signal_test(kpi: str, current: Result | None, rule: str) -> Verdict:
    """``when: {kpi, signal: rule}``: the rule is among this cycle's control-chart signals."""
    if current is None or status_of(current) == KpiStatus.NO_DATA:
        return Verdict(False, f"{kpi} has no data this cycle")
    signals = current.signals
    if rule in signals:
        return Verdict(True, f"{kpi} control chart shows {rule} this cycle "
                       f"({rounded(current.actual, shown_decimals(current))})")
    return Verdict(False, f"{kpi} control chart shows no {rule} this cycle (signals: {', '.join(signals) or 'none'})")


def expr_test(policy_id: str, expression: str, conditions: Mapping[str, bool]) -> Verdict:
    """``when: {expr}``: the engine evaluated the expression; a missing value does not fire."""
    if policy_id not in conditions:
        return Verdict(False, f"the engine gave no value for `{expression}`")
    value = bool(conditions[policy_id])
    return Verdict(value, f"expression `{expression}` is {'true' if value else 'false'}")


def ratchet_test(kpi: str, results: Sequence[Result], target: Target, cycles: int) -> Verdict:
    """``ratchet``: met this cycle and the ``cycles - 1`` before, all against the target in force now.

    Counting only cycles with today's target means a ratchet restarts its count
    after it moved the target.
    """
    current = results[-1] if results else None
    if current is None or status_of(current) == KpiStatus.NO_DATA:
        return Verdict(False, f"{kpi} has no data this cycle")
    if status_of(current) != KpiStatus.MET:
        return Verdict(False, f"{kpi} {status_of(current)} ({comparison(current)})")
    streak = _streak(results, lambda result: status_of(result) == KpiStatus.MET and result.target == target)
    shown = ", ".join(comparison(result) for result in results[-min(streak, cycles):])
    at = f"at target {target.describe()}"
    if streak >= cycles:
        span = "" if cycles == 1 else f" in {_cycles(cycles)}"
        return Verdict(True, f"{kpi} met{span} {at} ({shown})")
    reason = f"{kpi} met in {_cycles(streak)} {at} ({shown}), needs {cycles}; "
    if streak < len(results) and status_of(results[-streak - 1]) == KpiStatus.MET:
        earlier = results[-streak - 1]
        return Verdict(False, reason + f"before that met against target {earlier.target.describe()}")
    return Verdict(False, reason + _before(results, streak))


def condition_test(policy_id: str, when: Mapping[str, Any], results: Sequence[Result],
                   conditions: Mapping[str, bool]) -> Verdict:
    """Dispatch a ``when:`` mapping to its test; ``results`` are the KPI's, oldest first."""
    if when.get("expr") is not None:
        return expr_test(policy_id, str(when["expr"]), conditions)
    kpi = str(when.get("kpi"))
    cycles = int(when.get("cycles", 1))
    if when.get("missed"):
        return streak_test(kpi, results, "missed", cycles)
    if when.get("met"):
        return streak_test(kpi, results, "met", cycles)
    if when.get("trend") in ("up", "down"):
        return trend_test(kpi, results, str(when["trend"]), cycles)
    if when.get("signal") is not None:
        return signal_test(kpi, results[-1] if results else None, str(when["signal"]))
    raise ValueError(f"policy {policy_id!r}: `when` has none of missed, met, trend, signal or expr: {dict(when)!r}")
