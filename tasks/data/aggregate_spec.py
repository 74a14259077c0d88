"""The YAML shape of a table aggregate, read into typed records (no pandas here: validation uses it too).

One ``aggregate`` entry is one function and what it reads::

    cases:          {count: "*"}                                       # rows
    mean_score:     {mean: score}                                      # a column
    median_days:    {median: {days_between: {start: opened_at, end: closed_at}}}
    p90_hours:      {p90: {hours_between: {start: opened_at, end: closed_at}}}
    p75_amount:     {percentile: {column: amount, q: 75}}
    open_cases:     {count_if: {column: status, op: "==", value: open}}
    within_sla_pct: {share_if: [{column: {days_between: {start: opened_at, end: closed_at}}, op: "<=", value: 3}]}

A *column* is a column's name or the time between two date columns
(``days_between`` or ``hours_between``, with fractions: 36 hours are 1.5 days).
Percentiles interpolate linearly between the two nearest values, as numpy's and
pandas' default (``p50`` is the median). ``count_if`` counts the rows where every
condition holds, ``share_if`` gives their share of the rows in percent (0-100);
a condition is written as a ``where`` filter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null"]
OPERATORS: tuple[str, ...] = get_args(Operator)
COLUMN_FUNCTIONS = ("count", "sum", "mean", "min", "max", "median", "nunique")
NUMBER_FUNCTIONS = ("sum", "mean", "median", "percentile")  # these read numbers (text such as "12" is converted)
CONDITION_FUNCTIONS = ("count_if", "share_if")
FUNCTIONS = (*COLUMN_FUNCTIONS, "percentile", *CONDITION_FUNCTIONS)
_SHORT_PERCENTILE = re.compile(r"p([1-9][0-9]?)")  # p1 ... p99: {p90: column}
DIFFERENCES = {"days_between": 86_400.0, "hours_between": 3_600.0}  # seconds per unit

FUNCTION_HINT = "count sum mean min max median nunique p90 percentile count_if share_if"
COLUMN_HINT = "a column, or {days_between: {start: opened_at, end: closed_at}}"
CONDITION_HINT = "like a `where` filter: {column: status, op: \"==\", value: closed}"
# what people coming from SQL or spreadsheets write for a function of ours
_SYNONYMS = {"avg": "mean", "average": "mean", "total": "sum", "distinct": "nunique", "count_distinct": "nunique",
             "quantile": "percentile", "countif": "count_if", "share": "share_if", "percent_if": "share_if",
             "rate_if": "share_if", "minimum": "min", "maximum": "max"}


class Span(BaseModel):
    """Two date (or date and time) columns: from ``start`` to ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    end: str


class DaysBetween(BaseModel):
    """The days from ``start`` to ``end`` of each row, with fractions (a negative value: end before start)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    days_between: Span


class HoursBetween(BaseModel):
    """The hours from ``start`` to ``end`` of each row, with fractions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    hours_between: Span


Column = str | DaysBetween | HoursBetween  # what a filter or an aggregate reads


class Filter(BaseModel):
    """One row filter: ``{column, op, value}``; ``column`` may be a date difference."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    column: Column
    op: Operator = "=="
    value: Any = None

    @field_validator("column", mode="before")
    @classmethod
    def _column_shape(cls, value: Any) -> Any:
        """A plain message for a malformed column (pydantic's own names the union's branches)."""
        if isinstance(value, DaysBetween | HoursBetween):
            return value
        try:
            return _column("where", value, ("column",), "a filter")
        except SpecError as error:
            raise PydanticCustomError("pdca_column", "{message}", {"message": error.problem.message}) from error


@dataclass(frozen=True)
class Aggregate:
    """One parsed ``aggregate`` entry.

    Attributes:
        name: the output's name (the entry's key).
        function: one of :data:`FUNCTIONS` (a ``p90`` shorthand is ``percentile`` with ``q`` 90).
        column: what it reads; ``None`` for ``count: "*"`` and the condition functions.
        q: the percentile, 0-100 (``percentile`` only).
        conditions: the conditions that must all hold (``count_if``, ``share_if``).
    """

    name: str
    function: str
    column: Column | None = None
    q: float | None = None
    conditions: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class SpecProblem:
    """Why an ``aggregate`` entry is malformed: where under the entry, what, and what to write."""

    path: tuple[str | int, ...]
    message: str
    hint: str


class SpecError(ValueError):
    """An ``aggregate`` entry is malformed (``problem`` says where and what to write)."""

    def __init__(self, name: str, problem: SpecProblem) -> None:
        super().__init__(f"aggregate '{name}': {problem.message}")
        self.problem = problem


def parse_aggregate(name: str, spec: Any) -> Aggregate:
    """The typed record of one ``aggregate`` entry.

    Raises:
        SpecError: the entry is malformed.
    """
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise SpecError(name, SpecProblem((), "write one function and the column it reads, e.g. {median: "
                                          "amount}", FUNCTION_HINT))
    function, argument = next(iter(spec.items()))
    short = _SHORT_PERCENTILE.fullmatch(str(function))
    if short:
        return Aggregate(name, "percentile", _column(name, argument, (function,), f"`{function}`"),
                         float(short.group(1)))
    if function == "percentile":
        return _percentile(name, argument)
    if function in CONDITION_FUNCTIONS:
        return Aggregate(name, str(function), conditions=_conditions(name, argument, (function,)))
    if function not in COLUMN_FUNCTIONS:
        close = [_SYNONYMS[str(function)]] if str(function) in _SYNONYMS else \
            difflib.get_close_matches(str(function), [*FUNCTIONS, "p90"], n=1, cutoff=0.6)
        raise SpecError(name, SpecProblem((function,), f"unknown function '{function}'"
                                          + (f" (did you mean '{close[0]}'?)" if close else ""), FUNCTION_HINT))
    if argument == "*":
        if function == "count":
            return Aggregate(name, "count")
        raise SpecError(name, SpecProblem((function,), f"\"*\" (every row) goes with count only, not {function}",
                                          f"name the column {function} reads: {{{function}: amount}}"))
    return Aggregate(name, str(function), _column(name, argument, (function,), f"`{function}`"))


def aggregate_problems(aggregate: Mapping[str, Any]) -> list[SpecProblem]:
    """Each malformed entry's problem, its path starting at ``aggregate`` (for validation).

    An entry holding an expression (``${{ ... }}``) is checked when the step runs, once it is filled in.
    """
    problems = []
    for name, spec in aggregate.items():
        if has_expression(spec):
            continue
        try:
            parse_aggregate(str(name), spec)
        except SpecError as error:
            problems.append(SpecProblem((name, *error.problem.path), error.args[0], error.problem.hint))
    return problems


def columns_read(column: Column) -> tuple[str, ...]:
    """The table columns ``column`` reads: itself, or the two of a date difference."""
    if isinstance(column, str):
        return (column,)
    span = column.days_between if isinstance(column, DaysBetween) else column.hours_between
    return (span.start, span.end)


def label(column: Column) -> str:
    """How messages name ``column``: ``'amount'`` or ``days_between(opened_at, closed_at)``."""
    if isinstance(column, str):
        return repr(column)
    kind = "days_between" if isinstance(column, DaysBetween) else "hours_between"
    start, end = columns_read(column)
    return f"{kind}({start}, {end})"


def _percentile(name: str, argument: Any) -> Aggregate:
    if not isinstance(argument, Mapping) or set(argument) != {"column", "q"}:
        raise SpecError(name, SpecProblem(("percentile",), "`percentile` needs `column` and `q`, e.g. "
                                          "{percentile: {column: amount, q: 90}}", f"column: {COLUMN_HINT}"))
    q = argument["q"]
    if isinstance(q, bool) or not isinstance(q, int | float) or not 0 <= q <= 100:
        raise SpecError(name, SpecProblem(("percentile", "q"), f"`q` is the percentile, a number from 0 to 100 "
                                          f"(got {q!r})", "90 for the 90th percentile (p90), 50 for the median"))
    column = _column(name, argument["column"], ("percentile", "column"), "`percentile`")
    return Aggregate(name, "percentile", column, float(q))


def _column(name: str, argument: Any, path: tuple[str | int, ...], what: str) -> Column:
    if isinstance(argument, str) and argument.strip():
        return argument
    if isinstance(argument, Mapping) and len(argument) == 1 and next(iter(argument)) in DIFFERENCES:
        kind, span = next(iter(argument.items()))
        if (isinstance(span, Mapping) and set(span) == {"start", "end"}
                and all(isinstance(value, str) and value.strip() for value in span.values())):
            return DaysBetween(days_between=Span(**span)) if kind == "days_between" else \
                HoursBetween(hours_between=Span(**span))
        raise SpecError(name, SpecProblem((*path, kind), f"`{kind}` needs `start` and `end`, the names of two "
                                          "date columns", f"e.g. {{{kind}: {{start: opened_at, end: closed_at}}}}"))
    raise SpecError(name, SpecProblem(path, f"{what} reads a column, not {_shown(argument)}", COLUMN_HINT))


def _conditions(name: str, argument: Any, path: tuple[str | int, ...]) -> tuple[Filter, ...]:
    items = argument if isinstance(argument, list) else [argument]
    if not items:
        raise SpecError(name, SpecProblem(path, f"`{path[0]}` needs at least one condition", CONDITION_HINT))
    conditions = []
    for index, item in enumerate(items):
        where = (*path, index) if isinstance(argument, list) else path
        if not isinstance(item, Mapping) or "column" not in item:
            raise SpecError(name, SpecProblem(where, f"a condition of `{path[0]}` is written {{column, op, "
                                              f"value}}, not {_shown(item)}", CONDITION_HINT))
        unknown = sorted(set(map(str, item)) - {"column", "op", "value"})
        if unknown:
            raise SpecError(name, SpecProblem((*where, unknown[0]), f"a condition has no key '{unknown[0]}'",
                                              "its keys: column, op, value"))
        if item.get("op", "==") not in OPERATORS:
            raise SpecError(name, SpecProblem((*where, "op"), f"unknown operator {item.get('op')!r}",
                                              "operators: " + ", ".join(OPERATORS)))
        column = _column(name, item["column"], (*where, "column"), "a condition")
        try:
            conditions.append(Filter(column=column, op=item.get("op", "=="), value=item.get("value")))
        except ValidationError as exc:  # not expected after the checks above; reported, never raised raw
            raise SpecError(name, SpecProblem(where, f"a condition is malformed: {exc.errors()[0]['msg']}",
                                              CONDITION_HINT)) from exc
    return tuple(conditions)


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping with " + ", ".join(map(str, value)) if value else "an empty mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def has_expression(value: Any) -> bool:
    """Whether ``value`` holds an expression (``${{ ... }}``) anywhere: known only when the step runs."""
    if isinstance(value, str):
        return "${{" in value
    if isinstance(value, Mapping):
        return any(has_expression(item) for item in value.values())
    if isinstance(value, list):
        return any(has_expression(item) for item in value)
    return False
