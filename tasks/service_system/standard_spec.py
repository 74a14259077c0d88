"""What makes a service standard measurable, read into typed records (no pandas: validation uses it too).

A standard is measurable when it names one table of a quarter's operations
(docs/service-system-data.md) and ONE table aggregate written as ``data.query``
writes them (:mod:`pdcaflow.tasks.data.aggregate_spec`), a unit that fits the
aggregate, a target ``{min: ...}`` and/or ``{max: ...}`` and an owner::

    - id: hotline_answer
      description: The hotline answers within 20 seconds.
      measure:
        table: hotline_calls
        share_if:
          - {column: answered, op: "==", value: true}
          - {column: wait_seconds, op: "<=", value: 20}
      unit: "%"
      target: {min: 90}
      owner: service-centre

``standard_problems`` lists what is vague about the standards of a step's
``with:`` (``pdca validate`` reports each as PDCA268, at its line, with a hint);
``parse_standard`` turns one well-formed standard into a :class:`MeasuredStandard`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pdcaflow.tasks.data.aggregate_spec import (FUNCTION_HINT, Aggregate, SpecError, columns_read, has_expression,
                                                 parse_aggregate)
from pdcaflow.tasks.sdk.numbers import finite

VAGUE = "PDCA268"  # the code validation reports a vague standard with (engine/definition/codes.py)
# the tables of one quarter's operations (docs/service-system-data.md) and their columns
OPERATIONS: dict[str, tuple[str, ...]] = {
    "deliveries": ("delivery_id", "customer_id", "segment", "region", "ordered_at", "promised_by", "delivered_at",
                   "buckets", "out_of_water"),
    "bucket_returns": ("return_id", "customer_id", "returned_at", "buckets", "hygiene_passed"),
    "hotline_calls": ("call_id", "customer_id", "received_at", "wait_seconds", "answered", "topic"),
    "visits": ("customer_id", "segment", "planned", "done"),
    "surveys": ("customer_id", "segment", "invited_at", "responded", "satisfaction", "need"),
    "front_line_reports": ("report_id", "reported_at", "reporter", "segment", "need"),
    "inspections": ("inspection_id", "inspected_at", "level", "area", "score"),
}
PERCENT_UNITS = ("%", "percent", "pct", "per cent")  # what a share is written in
MEASURE_EXAMPLE = ("measure: {table: hotline_calls, share_if: [{column: wait_seconds, op: \"<=\", "
                   "value: 20}]}")
TABLE_HINT = "the tables of a quarter: " + ", ".join(OPERATIONS)
TARGET_HINT = "target: {min: 90} (at least) or {max: 20} (at most), a number in the standard's unit"
UNIT_HINT = "the unit the aggregate gives: \"%\" for share_if; seconds, hours, days, calls, buckets ..."
OWNER_HINT = "the role accountable for it, e.g. owner: service-centre"

Problem = tuple[tuple[str | int, ...], str, str, str]  # (key path under `with`, message, hint, code)


@dataclass(frozen=True)
class Target:
    """What a standard promises: at least ``min`` and/or at most ``max``, in its unit."""

    min: float | None = None
    max: float | None = None

    def met_by(self, actual: float) -> bool:
        """Whether ``actual`` keeps the promise (both bounds, when both are given)."""
        return (self.min is None or actual >= self.min) and (self.max is None or actual <= self.max)

    def as_dict(self) -> dict[str, float]:
        """``{min: 90.0}``, ``{max: 20.0}`` or both: the shape of a KPI's target."""
        return {name: value for name, value in (("min", self.min), ("max", self.max)) if value is not None}


@dataclass(frozen=True)
class MeasuredStandard:
    """A standard checked to be measurable: what is counted, in which unit, against which target, by whom.

    Attributes:
        id: the standard's short name.
        description: what the customer is promised, in words.
        table: the table of a quarter's operations it is measured on.
        aggregate: the one aggregate computed on that table (its ``name`` is the standard's id).
        measure: the measure as written (``{table: ..., <function>: ...}``), for the mechanism file.
        unit: the aggregate's unit (``%`` for ``share_if``).
        target: the promised value.
        owner: the role accountable for it.
    """

    id: str
    description: str
    table: str
    aggregate: Aggregate
    measure: Mapping[str, Any]
    unit: str
    target: Target
    owner: str


class StandardError(ValueError):
    """A standard is not measurable (the message says which and why; raised when a step runs)."""


def standard_problems(with_values: Mapping[str, Any]) -> list[Problem]:
    """What is vague in a step's literal ``standards`` (validation; PDCA268 per problem).

    A standard (or a key of one) holding an expression is checked when the step runs.
    """
    standards = with_values.get("standards")
    if not isinstance(standards, list):
        return []  # missing or an expression: the parameter checks report a wrong type
    if not standards:
        return [(("standards",), "no standards: the mechanism publishes at least one",
                 "list the standards, each {id, description, measure, unit, target, owner}", VAGUE)]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, standard in enumerate(standards):
        if not isinstance(standard, Mapping) or has_expression(standard.get("id")):
            continue  # not a mapping: the parameter checks report it
        name = str(standard.get("id", f"#{index + 1}"))
        if name in seen:
            problems.append((("standards", index, "id"), f"standard '{name}' is listed twice",
                             "give each standard its own id", VAGUE))
        seen.add(name)
        problems.extend(((("standards", index, *path), f"standard '{name}': {message}", hint, VAGUE)
                         for path, message, hint in _problems_of(standard)))
    return problems


def parse_standard(standard: Mapping[str, Any]) -> MeasuredStandard:
    """The typed record of one standard.

    Raises:
        StandardError: the standard is vague (each problem and what to write instead).
    """
    name = str(standard.get("id", "?"))
    problems = _problems_of(standard)
    if problems:
        raise StandardError("; ".join(f"standard '{name}': {message} ({hint})" for _, message, hint in problems))
    measure = standard["measure"]
    table = str(measure["table"])
    function = {key: value for key, value in measure.items() if key != "table"}
    return MeasuredStandard(id=name, description=str(standard.get("description", "")), table=table,
                            aggregate=parse_aggregate(name, function), measure=dict(measure),
                            unit=str(standard["unit"]).strip(), target=_target(standard["target"]),
                            owner=str(standard["owner"]).strip())


def parse_standards(standards: Sequence[Mapping[str, Any]]) -> list[MeasuredStandard]:
    """Every standard as a typed record, ids unique.

    Raises:
        StandardError: no standards, an id listed twice, or a standard that is vague.
    """
    if not standards:
        raise StandardError("no standards: the mechanism publishes at least one")
    parsed = [parse_standard(standard) for standard in standards]
    ids = [standard.id for standard in parsed]
    twice = sorted({name for name in ids if ids.count(name) > 1})
    if twice:
        raise StandardError(f"standard '{twice[0]}' is listed twice: give each standard its own id")
    return parsed


def _problems_of(standard: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(key path under the standard, message, hint) for each vague part; expressions are left to the run."""
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
    measure = standard.get("measure")
    function: str | None = None
    if not has_expression(measure):
        aggregate, found = _measure_problems(measure)
        problems.extend(found)
        function = aggregate.function if aggregate is not None else None
    elif isinstance(measure, Mapping):  # a value filled in when the step runs: the function is known already
        function = next((str(key) for key in measure if key != "table"), None)
    unit = standard.get("unit")
    if not has_expression(unit):
        problems.extend(_unit_problems(unit, function))
    target = standard.get("target")
    if not has_expression(target):
        problems.extend(_target_problems(target))
    owner = standard.get("owner")
    if not has_expression(owner) and (not isinstance(owner, str) or not owner.strip()):
        problems.append(((), "no owner: nobody is accountable for it", OWNER_HINT))
    return problems


def _measure_problems(measure: Any) -> tuple[Aggregate | None, list[tuple[tuple[str | int, ...], str, str]]]:
    if measure is None:
        return None, [((), "no measure: nothing says how it is counted", MEASURE_EXAMPLE)]
    if isinstance(measure, str):
        return None, [(("measure",), f"`measure` is words ({_short(measure)}), not something to count: "
                       "name a table and one aggregate", MEASURE_EXAMPLE)]
    if not isinstance(measure, Mapping):
        return None, [(("measure",), f"`measure` is {_short(measure)}, not a table and one aggregate",
                       MEASURE_EXAMPLE)]
    table = measure.get("table")
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
    if not isinstance(table, str) or not table.strip():
        problems.append((("measure",), "`measure` names no `table` of the quarter's operations", TABLE_HINT))
    elif table not in OPERATIONS:
        close = difflib.get_close_matches(table, list(OPERATIONS), n=1, cutoff=0.6)
        problems.append((("measure", "table"), f"no operations table '{table}'"
                         + (f" (did you mean '{close[0]}'?)" if close else ""), TABLE_HINT))
    functions = [key for key in measure if key != "table"]
    if len(functions) != 1:
        said = "no aggregate" if not functions else f"{len(functions)} aggregates ({', '.join(map(str, functions))})"
        problems.append((("measure",), f"`measure` has {said}: a standard is measured by one",
                         f"one of: {FUNCTION_HINT}; e.g. {MEASURE_EXAMPLE}"))
        return None, problems
    try:
        aggregate = parse_aggregate("measure", {functions[0]: measure[functions[0]]})
    except SpecError as error:
        problem = error.problem
        message = problem.message if problem.path else f"{problem.message} ({functions[0]})"
        return None, [*problems, (("measure", *problem.path), message, problem.hint)]
    if not problems:
        problems.extend(_column_problems(str(table), aggregate))
    return aggregate, problems


def _column_problems(table: str, aggregate: Aggregate) -> list[tuple[tuple[str | int, ...], str, str]]:
    """A column the aggregate reads that the table does not have (the data contract's columns)."""
    read = [*(columns_read(aggregate.column) if aggregate.column is not None else ()),
            *(name for condition in aggregate.conditions for name in columns_read(condition.column))]
    for name in read:
        if name not in OPERATIONS[table]:
            close = difflib.get_close_matches(name, list(OPERATIONS[table]), n=1, cutoff=0.6)
            return [(("measure",), f"table {table} has no column '{name}'"
                     + (f" (did you mean '{close[0]}'?)" if close else ""),
                     f"its columns: {', '.join(OPERATIONS[table])}")]
    return []


def _unit_problems(unit: Any, function: str | None) -> list[tuple[tuple[str | int, ...], str, str]]:
    if not isinstance(unit, str) or not unit.strip():
        return [((), "no unit: a number without a unit cannot be compared with its target", UNIT_HINT)]
    if function is None:
        return []
    percent = unit.strip().lower() in PERCENT_UNITS
    if percent and function != "share_if":
        return [(("unit",), f"unit {unit.strip()!r} but `{function}` does not give a share",
                 "a percent of rows comes from share_if: {share_if: [{column, op, value}]}; "
                 f"or give the unit {function} gives (seconds, days, calls ...)")]
    if function == "share_if" and not percent:
        return [(("unit",), f"share_if gives a percent (0-100), not {unit.strip()!r}",
                 "write unit: \"%\"")]
    return []


def _target_problems(target: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    if target is None:
        return [((), "no target: nothing says when it is met", TARGET_HINT)]
    if not isinstance(target, Mapping):
        if finite(target) is not None:
            return [(("target",), f"target {target!r} does not say which way: at least or at most", TARGET_HINT)]
        return [(("target",), f"target {_short(target)} is not a number (units belong in `unit`)", TARGET_HINT)]
    unknown = sorted(map(str, set(target) - {"min", "max"}))
    if unknown:
        return [(("target", unknown[0]), f"a target has no key '{unknown[0]}'", TARGET_HINT)]
    if not target:
        return [(("target",), "the target is empty", TARGET_HINT)]
    for key in ("min", "max"):
        if key in target and not has_expression(target[key]) and finite(target[key]) is None:
            return [(("target", key), f"target {key} {_short(target[key])} is not a number "
                     "(units belong in `unit`)", TARGET_HINT)]
    low, high = finite(target.get("min")), finite(target.get("max"))
    if low is not None and high is not None and low > high:
        return [(("target",), f"target min {low:g} is above its max {high:g}: it can never be met", TARGET_HINT)]
    return []


def _target(target: Mapping[str, Any]) -> Target:
    return Target(min=finite(target.get("min")), max=finite(target.get("max")))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
