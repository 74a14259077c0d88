"""Filter, group and aggregate a table (read from a file or a database), from a spec written in YAML (no code).

The spec::

    where:      [{column: ward, op: "==", value: A}, {column: shift, op: in, value: [day, night]}]
    group_by:   [ward]
    aggregate:  {compliance: {mean: compliant}, observations: {count: "*"}, wards: {nunique: ward},
                 median_days: {median: {days_between: {start: opened_at, end: closed_at}}},
                 p90_days: {p90: {days_between: {start: opened_at, end: closed_at}}},
                 within_sla_pct: {share_if: {column: {days_between: {start: opened_at, end: closed_at}},
                                             op: "<=", value: 3}}}

Operators: ``==, !=, <, <=, >, >=, in, not_in, is_null, not_null``. Functions:
``count`` (``"*"`` for rows, else non-null values of a column), ``sum, mean, min, max,
median, nunique``, ``percentile`` (``{column, q}``, or ``p50``, ``p90``, ``p95`` ...),
``count_if`` and ``share_if`` (percent of rows); the shape of each is in
:mod:`pdcaflow.tasks.data.aggregate_spec`. Missing values are left out (a mean of
the values there), except in ``count: "*"`` and the condition functions, where a
row whose value is missing fails the condition. pandas is imported when an
aggregate runs, not at import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pdcaflow.tasks.data.aggregate_spec import (DIFFERENCES, NUMBER_FUNCTIONS, Aggregate, Column, DaysBetween,
                                                Filter, SpecError, columns_read, label, parse_aggregate)

__all__ = ["AggregateError", "Filter", "aggregate_table", "filter_rows", "needed_columns"]


class AggregateError(ValueError):
    """The spec names a column the table does not have, an unknown function, or values it cannot read."""


def needed_columns(where: Sequence[Filter], group_by: Sequence[str], aggregate: Mapping[str, Any]) -> list[str]:
    """The table columns the spec reads, in order of first mention (what to read from a database).

    Raises:
        AggregateError: an ``aggregate`` entry is malformed.
    """
    parsed = _parsed(aggregate)
    columns: list[str] = []
    for condition in [*where, *(c for entry in parsed for c in entry.conditions)]:
        columns += columns_read(condition.column)
    columns += group_by
    for entry in parsed:
        columns += columns_read(entry.column) if entry.column is not None else ()
    return list(dict.fromkeys(columns))


def aggregate_table(frame: Any, where: Sequence[Filter], group_by: Sequence[str],
                    aggregate: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the aggregated table: one per group (or one without ``group_by``), plain Python values.

    Raises:
        AggregateError: a malformed entry, a missing column, or values that are not numbers or dates.
    """
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    parsed = _parsed(aggregate)
    missing = [column for column in needed_columns(where, group_by, aggregate) if column not in frame.columns]
    if missing:
        raise AggregateError(f"no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, frame.columns))})")
    frame = filter_rows(frame, where)
    values = {entry.name: _values(frame, entry) for entry in parsed}
    if group_by:
        keys = [frame[column] for column in group_by]
        table = pd.DataFrame({entry.name: _reduce(values[entry.name].groupby(keys, dropna=False, sort=True), entry)
                              for entry in parsed}).reset_index()
    else:
        table = pd.DataFrame([{entry.name: _reduce(values[entry.name], entry) for entry in parsed}])
    return [{str(key): _plain(value) for key, value in row.items()} for row in table.to_dict(orient="records")]


def filter_rows(frame: Any, where: Sequence[Filter]) -> Any:
    """The rows of ``frame`` that pass every filter.

    Raises:
        AggregateError: a filter names a column the table does not have, or a date difference reads no dates.
    """
    for condition in where:
        frame = frame[_holds(frame, condition)]
    return frame


def _parsed(aggregate: Mapping[str, Any]) -> list[Aggregate]:
    try:
        return [parse_aggregate(str(name), spec) for name, spec in aggregate.items()]
    except SpecError as error:
        raise AggregateError(str(error)) from error


def _holds(frame: Any, condition: Filter) -> Any:
    """Per row: does ``condition`` hold (as pandas compares: a missing value fails all but ``!=`` and ``not_in``)."""
    column = _column_values(frame, condition.column)
    value = condition.value
    comparisons = {"==": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
                   ">": column.__gt__, ">=": column.__ge__}
    if condition.op in comparisons:
        try:
            return comparisons[condition.op](value)
        except TypeError as exc:
            raise AggregateError(f"cannot compare column {label(condition.column)} with {value!r}: "
                                 f"{str(exc).splitlines()[0]}") from exc
    if condition.op in ("in", "not_in"):
        members = value if isinstance(value, list) else [value]
        return column.isin(members) if condition.op == "in" else ~column.isin(members)
    return column.isna() if condition.op == "is_null" else column.notna()


def _column_values(frame: Any, column: Column) -> Any:
    """The values ``column`` reads, per row: a column of the table or a date difference."""
    for name in columns_read(column):
        if name not in frame.columns:
            raise AggregateError(f"no column {name!r} (columns: {', '.join(map(str, frame.columns))})")
    if isinstance(column, str):
        return frame[column]
    kind = "days_between" if isinstance(column, DaysBetween) else "hours_between"
    start, end = columns_read(column)
    seconds = (_dates(frame[end], end) - _dates(frame[start], start)).dt.total_seconds()
    return seconds / DIFFERENCES[kind]


def _dates(series: Any, name: str) -> Any:
    """A column as timezone-naive UTC datetimes; text is read as ISO 8601 (2026-05-31, 2026-05-31 14:30)."""
    import pandas as pd  # pandas only when the task runs

    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series, utc=True).dt.tz_localize(None)
    if pd.api.types.is_numeric_dtype(series) and series.notna().any():
        raise AggregateError(f"column {name!r} holds numbers, not dates")
    text = series.map(lambda value: value if not isinstance(value, str) else value.strip() or None)
    try:
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    except (TypeError, ValueError) as exc:
        raise AggregateError(f"column {name!r} does not hold dates: {str(exc).splitlines()[0]}") from exc
    unread = text.notna() & parsed.isna()
    if unread.any():
        raise AggregateError(f"column {name!r}: {text[unread].iloc[0]!r} is not a date (write dates as 2026-05-31 "
                             "or 2026-05-31 14:30)")
    return parsed.dt.tz_localize(None)


def _values(frame: Any, entry: Aggregate) -> Any:
    """The per-row values ``entry`` reduces: ones (rows), a condition's truth, or the column it reads."""
    import pandas as pd  # pandas only when the task runs

    if entry.conditions:
        holds = pd.Series(True, index=frame.index)
        for condition in entry.conditions:
            holds &= _holds(frame, condition)
        return holds.astype(float) * 100.0 if entry.function == "share_if" else holds.astype(int)
    if entry.column is None:  # count: "*"
        return pd.Series(1, index=frame.index, dtype="int64")
    values = _column_values(frame, entry.column)
    return _numbers(values, entry) if entry.function in NUMBER_FUNCTIONS else values


def _numbers(values: Any, entry: Aggregate) -> Any:
    """Values as numbers (text "12" and decimals included); a value that is not a number is an error."""
    import pandas as pd  # pandas only when the task runs

    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values
    if pd.api.types.is_datetime64_any_dtype(values):
        raise AggregateError(f"aggregate '{entry.name}': column {label(entry.column or '')} holds dates; "
                             "for the time between two dates use days_between or hours_between")
    numbers = pd.to_numeric(values.map(_number_or_text), errors="coerce")
    unread = values.notna() & numbers.isna()
    if unread.any():
        raise AggregateError(f"aggregate '{entry.name}': column {label(entry.column or '')} holds "
                             f"{values[unread].iloc[0]!r}, not a number")
    return numbers.astype(float)


def _number_or_text(value: Any) -> Any:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return value.strip()
    return float(value) if hasattr(value, "as_integer_ratio") else value  # Decimal, numpy numbers


def _reduce(data: Any, entry: Aggregate) -> Any:
    """One value (a Series) or one per group (a SeriesGroupBy) of ``entry``'s function."""
    function = entry.function
    try:
        if function == "percentile":
            return data.quantile((entry.q or 0.0) / 100.0, interpolation="linear")
        if function in ("count_if", "share_if") or (function == "count" and entry.column is None):
            return data.sum() if function != "share_if" else data.mean()
        return getattr(data, function)()
    except TypeError as exc:  # min/max of values that do not compare (numbers and text mixed)
        raise AggregateError(f"aggregate '{entry.name}': cannot take the {function} of column "
                             f"{label(entry.column or '')}: its values are of different kinds") from exc


def _plain(value: Any) -> Any:
    """numpy scalars and NaN as JSON-ready Python values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
