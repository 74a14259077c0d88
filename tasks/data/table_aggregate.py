"""Filter, group and aggregate a table read from a CSV or Parquet file, from a spec written in YAML (no code).

The spec::

    where:      [{column: ward, op: "==", value: A}, {column: shift, op: in, value: [day, night]}]
    group_by:   [ward]
    aggregate:  {compliance: {mean: compliant}, observations: {count: "*"}, wards: {nunique: ward}}

Operators: ``==, !=, <, <=, >, >=, in, not_in, is_null, not_null``. Functions:
``count`` (``"*"`` for rows, else non-null values of a column), ``sum, mean, min, max,
median, nunique``. pandas is imported when an aggregate runs, not at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null"]
FUNCTIONS = ("count", "sum", "mean", "min", "max", "median", "nunique")


class Filter(BaseModel):
    """One row filter: ``{column, op, value}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    column: str
    op: Operator = "=="
    value: Any = None


class AggregateError(ValueError):
    """The spec names a column the table does not have, or an unknown function."""


def aggregate_problem(name: str, spec: Any) -> str | None:
    """Why one ``aggregate`` entry is malformed (for validation), or ``None``."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return f"aggregate '{name}': write one function and its column, e.g. {{mean: compliant}}"
    function = next(iter(spec))
    if function not in FUNCTIONS:
        return f"aggregate '{name}': unknown function '{function}' (use one of {', '.join(FUNCTIONS)})"
    if not isinstance(spec[function], str):
        return f"aggregate '{name}': the column must be a name"
    return None


def aggregate_table(frame: Any, where: Sequence[Filter], group_by: Sequence[str],
                    aggregate: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """Rows of the aggregated table: one per group (or one without ``group_by``), plain Python values."""
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    for name, spec in aggregate.items():
        problem = aggregate_problem(name, spec)
        if problem:
            raise AggregateError(problem)
    needed = {f.column for f in where} | set(group_by) | {
        column for spec in aggregate.values() for column in spec.values() if column != "*"}
    missing = sorted(needed - set(frame.columns))
    if missing:
        raise AggregateError(f"no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, frame.columns))})")
    frame = filter_rows(frame, where)
    if group_by:
        groups = frame.groupby(list(group_by), dropna=False, sort=True)
        table = pd.DataFrame({name: _apply(groups, spec, grouped=True) for name, spec in aggregate.items()})
        table = table.reset_index()
    else:
        table = pd.DataFrame([{name: _apply(frame, spec, grouped=False) for name, spec in aggregate.items()}])
    return [{key: _plain(value) for key, value in row.items()} for row in table.to_dict(orient="records")]


def filter_rows(frame: Any, where: Sequence[Filter]) -> Any:
    """The rows of ``frame`` that pass every filter.

    Raises:
        AggregateError: a filter names a column the table does not have.
    """
    for condition in where:
        if condition.column not in frame.columns:
            raise AggregateError(f"no column {condition.column!r} (columns: {', '.join(map(str, frame.columns))})")
        frame = frame[_mask(frame[condition.column], condition)]
    return frame


def _mask(column: Any, condition: Filter) -> Any:
    value = condition.value
    comparisons = {"==": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
                   ">": column.__gt__, ">=": column.__ge__}
    if condition.op in comparisons:
        return comparisons[condition.op](value)
    if condition.op in ("in", "not_in"):
        members = value if isinstance(value, list) else [value]
        return column.isin(members) if condition.op == "in" else ~column.isin(members)
    return column.isna() if condition.op == "is_null" else column.notna()


def _apply(data: Any, spec: Mapping[str, str], *, grouped: bool) -> Any:
    function, column = next(iter(spec.items()))
    if function == "count" and column == "*":
        return data.size() if grouped else len(data)
    return getattr(data[column], function)()


def _plain(value: Any) -> Any:
    """numpy scalars and NaN as JSON-ready Python values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


