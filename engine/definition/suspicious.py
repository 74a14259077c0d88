"""Warnings about KPIs, policies and approvals that are valid but cannot do what they say.

They run on a definition that is otherwise valid (``pdcaflow.engine.definition.validate``)
and report warnings: the definition stays valid and runs, ``pdca validate --strict``
fails on them.

- PDCA311: a param change whose bound stops it the moment it applies
  (``add: 30, max: 240`` on a param that is 250 lowers it to 240).
- PDCA312: a ratchet or target change whose ``limit`` is the current target: it can never move.
- PDCA313: a target outside the range its unit states (``score (1-5)`` with ``min: 6``,
  ``%`` with ``min: 120``): it can never be met.
- PDCA314: an approval that may wait longer than the time between two scheduled cycles.
"""

from __future__ import annotations

import re
from typing import Any

from pdcaflow.engine.definition.model import Kpi, ParamChange, Step
from pdcaflow.engine.definition.schedule_checks import DAY, typical_gap_days
from pdcaflow.engine.definition.semantic import Checker

# a range written in the unit, e.g. "score (1-5)", "points (0-100)"
_UNIT_RANGE = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*[-–]\s*(-?\d+(?:\.\d+)?)\s*\)")


def check_suspicious(checker: Checker) -> None:
    """Warn about what is valid but can never take effect."""
    for index, kpi in enumerate(checker.definition.kpis):
        _unit_range(checker, index, kpi)
    for index, policy in enumerate(checker.definition.policies):
        for position, change in enumerate(policy.change):
            base = ("policies", index, "change", position) if len(policy.change) > 1 else ("policies", index, "change")
            _stuck_change(checker, base, policy.id, change)
        _stuck_limit(checker, index)
    timed = [index for index, step in enumerate(checker.definition.steps)
             if step.approval is not None and step.approval.timeout is not None]
    if checker.definition.schedule is not None and timed:
        gap = typical_gap_days(checker.definition.schedule) * DAY
        for index in timed:
            _approval_outlasts(checker, index, checker.definition.steps[index], gap)


def _unit_range(checker: Checker, index: int, kpi: Kpi) -> None:
    match = _UNIT_RANGE.search(kpi.unit)
    low, high = (float(match.group(1)), float(match.group(2))) if match else (None, None)
    if kpi.unit.strip() == "%":
        low, high = None, 100.0  # a share; below 0 is a real value for a bias or a change in %
    target = kpi.target
    if high is not None and target.min is not None and target.min > high:
        checker.warn("PDCA313", f"KPI '{kpi.id}' is in {kpi.unit} but its target is at least {target.min:g}: "
                     f"a value above {high:g} is needed, so it can never be met", ("kpis", index, "target", "min"),
                     f"write a target within the unit's range (at most {high:g}), or correct the unit")
    elif low is not None and target.max is not None and target.max < low:
        checker.warn("PDCA313", f"KPI '{kpi.id}' is in {kpi.unit} but its target is at most {target.max:g}: "
                     f"a value below {low:g} is needed, so it can never be met", ("kpis", index, "target", "max"),
                     f"write a target within the unit's range (at least {low:g}), or correct the unit")


def _param_value(params: dict[str, Any], path: str) -> Any:
    value: Any = params
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _stuck_change(checker: Checker, base: tuple[Any, ...], policy_id: str, change: ParamChange) -> None:
    current = _param_value(checker.definition.params, change.param)
    if isinstance(current, bool) or not isinstance(current, int | float):
        return
    raising = (change.add is not None and change.add > 0) or (change.multiply is not None and change.multiply > 1)
    lowering = (change.add is not None and change.add < 0) or (change.multiply is not None and 0 <= change.multiply < 1)
    if raising and change.max is not None and change.max <= current:
        bound, key, verb = change.max, "max", "raise"
    elif lowering and change.min is not None and change.min >= current:
        bound, key, verb = change.min, "min", "lower"
    else:
        return
    what = f"{'adds ' + format(change.add, 'g') + ' to' if change.add is not None else 'multiplies'} " \
           f"{change.param}{'' if change.multiply is None else ' by ' + format(change.multiply, 'g')}"
    effect = f"it can never {verb} it" if bound == current else \
        f"it would {'lower' if verb == 'raise' else 'raise'} it to {bound:g} instead"
    checker.warn("PDCA311", f"policy '{policy_id}' {what} (now {current:g}) but its `{key}` is {bound:g}: {effect}",
                 (*base, key), f"set `{key}` beyond {current:g}, the param's value in `params:`")


def _stuck_limit(checker: Checker, index: int) -> None:
    policy = checker.definition.policies[index]
    rule = policy.ratchet or policy.change_target
    if rule is None or rule.limit is None:
        return
    if policy.change_target is not None and policy.change_target.tighten is None and policy.change_target.relax is None:
        return  # `set` and `capability` do not use the limit as a stop on a step
    kpi = checker.definition.kpi(rule.kpi)
    if kpi is None or kpi.target.implied_direction == "on_target":
        return
    current = kpi.target.min if kpi.target.min is not None else kpi.target.max
    if current != rule.limit:
        return
    kind = "ratchet" if policy.ratchet is not None else "change_target"
    checker.warn("PDCA312", f"policy '{policy.id}' moves the target of '{kpi.id}' but its limit {rule.limit:g} is "
                 "the current target: it can never move it", ("policies", index, kind, "limit"),
                 f"set the limit beyond {rule.limit:g}, or drop the policy")


def _approval_outlasts(checker: Checker, index: int, step: Step, gap_seconds: float) -> None:
    approval = step.approval
    if approval is None or approval.timeout is None:
        return
    rounds = 2 if approval.on_timeout == "escalate" else 1  # an escalated level waits a second timeout
    longest = approval.timeout * len(approval.signing_levels) * rounds
    if longest <= gap_seconds:
        return
    checker.warn("PDCA314", f"the approval of step '{step.id}' may wait {_span(longest)}, longer than the "
                 f"{_span(gap_seconds)} between two scheduled cycles: the next cycle is due before it times out",
                 ("steps", index, "approval", "timeout"),
                 f"set `timeout:` below {_span(gap_seconds / (len(approval.signing_levels) * rounds))}, "
                 "or run cycles less often")


def _span(seconds: float) -> str:
    for size, unit in ((7 * DAY, "week"), (DAY, "day"), (3600.0, "hour"), (60.0, "minute")):
        if seconds >= size and (unit != "week" or abs(seconds / size - round(seconds / size)) < 0.05):
            amount = seconds / size
            shown = f"{amount:.0f}" if abs(amount - round(amount)) < 0.05 else f"{amount:.1f}"
            return f"{shown} {unit}{'' if shown == '1' else 's'}"
    return f"{seconds:.0f} seconds"
