"""What a fired improvement policy does: change a param, move a KPI's target, open an action.

Each function works on plain data and returns what it did, so that
``improve.apply_policies`` can chain policies (a later policy sees the params and
targets an earlier one produced) and record every effect in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pdcaflow.engine.pdca.records import OPEN_STATUSES as OPEN_STATUSES  # re-exported: the retail library reads it here
from pdcaflow.engine.pdca.records import Target
from pdcaflow.tasks.sdk.numbers import finite, is_number, show, tidy

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class PolicyEffectError(ValueError):
    """A policy cannot be applied to the carry-over it was given (validation should have prevented it)."""


@dataclass(frozen=True)
class ParamEffect:
    """One param change: the value before, after, and whether ``min``/``max`` cut it."""

    path: str
    old: Any
    new: Any
    clamped: bool

    def describe(self) -> str:
        note = " (clamped to its bound)" if self.clamped else ""
        if self.old == self.new:
            return f"param {self.path} unchanged at {show(self.new)}{note}"
        return f"param {self.path}: {show(self.old)} -> {show(self.new)}{note}"


def change_param(params: dict[str, Any], change: Mapping[str, Any]) -> ParamEffect:
    """Apply one ``change:`` entry (``set``/``add``/``multiply``, then ``min``/``max``) to ``params`` in place."""
    path = str(change["param"])
    container, leaf = _locate(params, path)
    old = container[leaf]
    if "set" in change:
        new = change["set"]
    else:
        operation = "add" if "add" in change else "multiply"
        if not is_number(old) or not is_number(change.get(operation)):
            raise PolicyEffectError(f"cannot {operation} param '{path}': {old!r} is not a number")
        new = old + change["add"] if operation == "add" else old * change["multiply"]
    if is_number(new) and not isinstance(new, int):
        new = tidy(float(new))  # before clamping, so that rounding can never step past a bound
    new, clamped = _clamp(new, finite(change.get("min")), finite(change.get("max")))
    if is_number(new) and (finite(new) is None or abs(new) >= 10 ** 100):  # no record holds infinity
        raise PolicyEffectError(f"cannot change param '{path}': {show(old)} would become too large "
                                f"({show(new)}); give the change a `max:`")
    # A count stays a count: 2 visits + 1.0 (YAML numbers arrive as floats) is 3 visits, not 3.0.
    if isinstance(new, float) and isinstance(old, int) and not isinstance(old, bool) and new.is_integer():
        new = int(new)
    container[leaf] = new
    return ParamEffect(path, old, new, clamped)


def _locate(params: dict[str, Any], path: str) -> tuple[Any, Any]:
    container: Any = params
    parts = path.split(".")
    for position, part in enumerate(parts):
        key: Any = part
        if isinstance(container, list) and part.isdigit() and int(part) < len(container):
            key = int(part)
        elif not isinstance(container, dict) or part not in container:
            raise PolicyEffectError(f"param '{path}' does not exist (no '{'.'.join(parts[:position + 1])}')")
        if position == len(parts) - 1:
            return container, key
        container = container[key]
    raise PolicyEffectError(f"param path '{path}' is empty")


def _clamp(value: Any, low: float | None, high: float | None) -> tuple[Any, bool]:
    if not is_number(value):
        return value, False
    if low is not None and value < low:
        return low, True
    if high is not None and value > high:
        return high, True
    return value, False


@dataclass(frozen=True)
class TargetEffect:
    """One target move: the bounds before and after, and what limited the move."""

    kpi: str
    old: Target
    new: Target
    how: str
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        if self.old == self.new:
            return f"target {self.kpi} unchanged at {self.old.describe()} by {self.how}{notes}"
        return f"target {self.kpi}: {self.old.describe()} -> {self.new.describe()} by {self.how}{notes}"


def amount_of(amount: Any, bound: float) -> float:
    """An amount in the KPI's unit (``0.5``) or a percentage of the bound's absolute value (``"2%"``)."""
    if isinstance(amount, str):
        match = _PERCENT.match(amount)
        if match is None:
            raise PolicyEffectError(f"'{amount}' is not an amount: write a number or a percentage such as '2%'")
        return abs(bound) * float(match.group(1)) / 100
    value = finite(amount)
    if value is None or value <= 0:
        raise PolicyEffectError(f"{amount!r} is not a positive amount")
    return value


def move_target(kpi: str, target: Target, how: Literal["tighten", "relax"], amount: Any,
                limit: Any = None) -> TargetEffect:
    """Tighten (raise a min, lower a max, narrow a band) or relax (the opposite) a target.

    A band narrows both sides toward its middle and never crosses it. ``limit`` is a
    value the moving bound never passes; on a band it holds the side of the middle
    it lies on (below the middle: the min, otherwise the max). A bound already past
    its limit stays where it is: tightening never relaxes, relaxing never tightens.
    """
    low, high = target.min, target.max
    if low is None and high is None:
        raise PolicyEffectError(f"KPI '{kpi}' has no target to {how}")
    stop = finite(limit)
    # Tidied, the middle could round outside a very narrow band: keep it inside.
    middle = min(max(tidy((low + high) / 2), low), high) if low is not None and high is not None else None
    sign = 1 if how == "tighten" else -1
    notes: list[str] = []
    new_low, new_high = low, high
    if low is not None:
        holds = stop is not None and (middle is None or stop < middle)
        new_low = _step(low, sign * amount_of(amount, low), stop if holds else None, "min", notes)
    if high is not None:
        holds = stop is not None and (middle is None or stop >= middle)
        new_high = _step(high, -sign * amount_of(amount, high), stop if holds else None, "max", notes)
    if middle is not None and how == "tighten":
        if new_low is not None and new_low > middle:
            new_low = middle
            notes.append(f"min stopped at the band's middle {show(new_low)}")
        if new_high is not None and new_high < middle:
            new_high = middle
            notes.append(f"max stopped at the band's middle {show(new_high)}")
    shown_amount = amount if isinstance(amount, str) else show(amount)
    return TargetEffect(kpi, target, Target(min=new_low, max=new_high), f"{how} {shown_amount}", tuple(notes))


def _step(bound: float, move: float, stop: float | None, name: str, notes: list[str]) -> float:
    # Tidying must not turn a move into one the other way (a bound with more than twelve digits).
    moved = max(tidy(bound + move), bound) if move > 0 else min(tidy(bound + move), bound)
    if stop is None or move == 0:
        return moved
    if (move > 0 and bound >= stop) or (move < 0 and bound <= stop):
        notes.append(f"{name} already at or past its limit {show(stop)}")
        return bound
    if (move > 0 and moved > stop) or (move < 0 and moved < stop):
        notes.append(f"{name} stopped at its limit {show(stop)}")
        return stop
    return moved


def set_target(kpi: str, target: Target, replacement: Mapping[str, Any]) -> TargetEffect:
    """``change_target: {set: {...}}``: the new mapping replaces the target (an absent bound is removed)."""
    return TargetEffect(kpi, target, Target.of(replacement), "set")


def due_date(started_at: str, due_days: int) -> str:
    """The cycle's start date (in its own timezone) plus ``due_days``, as an ISO date."""
    try:
        start: date = datetime.fromisoformat(started_at).date()
    except (TypeError, ValueError) as exc:
        raise PolicyEffectError(f"cannot date an action: the cycle's started_at {started_at!r} "
                                "is not an ISO 8601 time") from exc
    return (start + timedelta(days=int(due_days))).isoformat()


def still_open(actions: Sequence[Mapping[str, Any]], policy_id: str, kpi: str | None) -> Mapping[str, Any] | None:
    """An action this policy opened for this KPI that is still open or in progress, if any.

    An action without a status counts as open (``StepContext.actions`` holds open
    actions). Actions done (waiting for verification), verified, ineffective or
    cancelled do not block a new one.
    """
    for action in actions:
        if (action.get("policy") == policy_id and action.get("kpi") == kpi
                and action.get("status", "open") in OPEN_STATUSES):
            return action
    return None
