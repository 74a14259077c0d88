"""Measuring service standards on one quarter's operations (pandas; imported when a task runs).

Each standard's one aggregate is computed by :func:`pdcaflow.tasks.data.table_aggregate.aggregate_table`,
the same code ``data.query`` runs, on the quarter's rows of the standard's table.
A standard that cannot be measured (its table or a column missing, values that are
not numbers, no rows to take a share or mean of) is an outcome with a ``problem``,
never a failed step: an unmeasurable standard is what the mechanism reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pdcaflow.tasks.data.table_aggregate import AggregateError, aggregate_table
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.sdk.workspace import output_path
from pdcaflow.tasks.service_system.mechanism import Outcome, mechanism_json
from pdcaflow.tasks.service_system.quarters import (
    check_quarter, latest_quarter, percent, quarter_location, read_quarter)
from pdcaflow.tasks.service_system.standard_spec import MeasuredStandard, StandardError, parse_standards
from pdcaflow.tasks.service_system.standards import StandardResult, StandardsResult

DECIMALS = 2  # what a standard's actual is shown and judged with


def publish(context: StepContext, written: Sequence[Mapping[str, Any]], roles: Mapping[str, str],
            source: str | None, period: str | None) -> StandardsResult:
    """``service.standards``: the standards parsed, measured on the baseline quarter, written as the mechanism.

    Raises:
        ValueError: a standard is vague (values an expression filled in), or the period is not a quarter.
        SourceError: the source holds no quarter.
    """
    try:
        standards = parse_standards(written)
    except StandardError as exc:
        raise ValueError(f"service.standards: {exc}") from exc
    outcomes: list[Outcome | None] = [None] * len(standards)
    if source is not None:
        period = check_quarter(period) if period is not None else \
            latest_quarter(source, *(standard.table for standard in standards))
        outcomes = list(measure_standards(source, period, standards))
    elif period is not None:
        period = check_quarter(period)
    path = Path(output_path(context, "mechanism.json"))
    partial = path.with_name(path.name + ".partial")
    partial.write_text(mechanism_json(period if source is not None else None, standards, outcomes, roles),
                       encoding="utf-8")
    partial.replace(path)  # a reader never sees half a mechanism
    measured = [outcome for outcome in outcomes if outcome is not None and outcome.measurable]
    named_roles = {role.strip() for role in roles.values() if role.strip()}
    owned = [standard for standard in standards if not named_roles or standard.owner in named_roles]
    return StandardsResult(
        mechanism=str(path),
        period=period if source is not None else None,
        standards_total=len(standards),
        measurable_pct=_share(len(measured), len(standards)) if source is not None else 100.0,
        owners_assigned_pct=_share(len(owned), len(standards)),
        baseline_met_pct=percent(sum(1 for outcome in measured if outcome.met), len(measured)),
        standards={standard.id: results_of(standard, outcome) for standard, outcome in zip(standards, outcomes)},
    )


def results_of(standard: MeasuredStandard, outcome: Outcome | None) -> StandardResult:
    """A standard's ``{actual, target, met}`` as the step outputs it."""
    return StandardResult(actual=outcome.actual if outcome else None, target=standard.target.as_dict(),
                          met=outcome.met if outcome else None)


def measure_standards(source: str, period: str, standards: Sequence[MeasuredStandard]) -> list[Outcome]:
    """Each standard measured on ``period``'s operations in ``source``, in the order given."""
    tables: dict[str, tuple[pd.DataFrame, str] | str] = {}
    for table in dict.fromkeys(standard.table for standard in standards):
        try:
            tables[table] = read_quarter(source, period, table), quarter_location(source, period, table)
        except SourceError as exc:
            tables[table] = str(exc)  # every standard on this table is not measurable, and says why
    return [_outcome(standard, tables[standard.table]) for standard in standards]


def _outcome(standard: MeasuredStandard, table: tuple[pd.DataFrame, str] | str) -> Outcome:
    if isinstance(table, str):
        return Outcome(standard.id, None, None, table)
    frame, where = table
    spec = {key: value for key, value in standard.measure.items() if key != "table"}
    try:
        value = aggregate_table(frame, [], [], {standard.id: spec})[0][standard.id]
    except AggregateError as exc:
        return Outcome(standard.id, None, None, f"{where}: {exc}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        function = standard.aggregate.function
        rows = "no rows" if frame.empty else f"{len(frame)} rows but no value to take the {function} of"
        return Outcome(standard.id, None, None, f"{where}: {rows} this quarter")
    actual = round(float(value), DECIMALS)
    return Outcome(standard.id, actual, standard.target.met_by(actual))


def _share(part: int, whole: int) -> float:
    """``part`` of ``whole`` (at least one: parse_standards refuses none) in percent, 2 decimals."""
    return round(100.0 * part / whole, 2)
