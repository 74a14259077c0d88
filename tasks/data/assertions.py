"""``data.assert``: data-quality checks on a table, with pass/fail counts as outputs (so data quality is a KPI).

The table comes from a file (CSV/Parquet, or a folder and ``table``) or from a
named connection and ``table`` (read by name, never by SQL text). A failed check
is a result, not an error: the step succeeds and reports it; only an unreadable
table fails the step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict

from pdcaflow.tasks.data.query import Problem, sql_problems, trust_of
from pdcaflow.tasks.sdk.registry import ConnectionName, InputFile, StepContext, task

CheckKind = Literal["row_count", "not_null", "range", "unique", "freshness", "allowed"]


class Check(BaseModel):
    """One check: ``{check, column?, columns?, min?, max?, values?, max_age_hours?, name?}``.

    ``row_count`` (min/max rows), ``not_null`` (column), ``range`` (column between
    min and max, nulls ignored), ``unique`` (column or columns), ``freshness`` (the
    newest timestamp in column no older than max_age_hours), ``allowed`` (column's
    values among values).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    check: CheckKind
    column: str | None = None
    columns: list[str] | None = None
    min: float | None = None
    max: float | None = None
    values: list[Any] | None = None
    max_age_hours: float | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.check}({', '.join(self.columns or [self.column or '*'])})"


class Failure(TypedDict):
    check: str
    detail: str
    failing_rows: int


class AssertOutputs(TypedDict):
    rows: int
    checks_total: int
    checks_passed: int
    checks_failed: int
    pass_rate: float
    failing: list[Failure]


def check_assert(with_values: Mapping[str, Any]) -> list[Problem]:
    """Validation of a step's literal ``with:``: its ``sql`` (if any) is one read-only query with no expression."""
    return sql_problems(("sql",), with_values.get("sql"))


@task("data.assert", check_with=check_assert)
def assert_data(context: StepContext, *, checks: list[Check], file: InputFile | None = None,
                connection: ConnectionName | None = None, table: str | None = None, sql: str | None = None,
                params: dict[str, str | int | float | bool | None] | None = None, as_of: str | None = None,
                max_rows: int = 1_000_000) -> AssertOutputs:
    """Run data-quality checks on a table: row counts, nulls, ranges, uniqueness, freshness, allowed values.

    The table: ``file`` (CSV/Parquet, or a folder with ``table``), or ``connection``
    (a name from the project config) with ``table`` or with a read-only ``sql`` query
    (``:name`` placeholders bound from ``params``, as in data.query; at most ``max_rows``). ``as_of`` (ISO time) is "now" for
    freshness; default the cycle's start. Outputs: ``checks_passed``, ``checks_failed``,
    ``pass_rate`` (% of checks passed), ``failing`` (each failed check, why, and how
    many rows fail it) and ``rows``; a failed check is a result, never a step failure.
    """
    if (file is None) == (connection is None):
        raise ValueError("data.assert needs either `file` or `connection` with `table` or `sql`")
    if connection is not None and not (table or sql):
        raise ValueError("data.assert: a `connection` needs a `table` or an `sql` query")
    frame = _table(context, file, connection, table, sql, params or {}, max_rows)
    now = _as_of(as_of or context.started_at)
    failing: list[Failure] = []
    for check in checks:
        problem = _run(frame, check, now)
        if problem is not None:
            failing.append({"check": check.label, "detail": problem[0], "failing_rows": problem[1]})
    total = len(checks)
    passed = total - len(failing)
    return {"rows": int(len(frame)), "checks_total": total, "checks_passed": passed, "checks_failed": len(failing),
            "pass_rate": round(100.0 * passed / total, 2) if total else 100.0, "failing": failing}


def _table(context: StepContext, file: str | None, connection: str | None, table: str | None, sql: str | None,
           params: dict[str, Any], max_rows: int) -> Any:
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    from pdcaflow.tasks.sdk.sources import read_table  # start-up speed: only when the task runs
    from pdcaflow.tasks.data.sql_readonly import QueryError, run_queries

    if file is not None:
        return read_table(file, table)
    config = context.project_config()
    url = config.connection_url(str(connection))
    if not sql:
        return read_table(url, table)
    try:
        result = run_queries(url, {"sql": sql}, params, max_rows=max_rows, timeout_seconds=60,
                             where=f"connection '{connection}'", trust=trust_of(config, str(connection)))["sql"]
    except QueryError as exc:
        raise ValueError(str(exc)) from exc
    if result.truncated:
        raise ValueError(f"data.assert: the query returned more than max_rows={max_rows} rows")
    return pd.DataFrame(result.rows)


def _run(frame: Any, check: Check, now: dt.datetime) -> tuple[str, int] | None:
    """Why the check fails and how many rows fail it, or ``None`` when it passes."""
    columns = check.columns or ([check.column] if check.column else [])
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        return f"no column {', '.join(missing)}", len(frame)
    if check.check != "row_count" and not columns:
        return "the check needs `column` (or `columns` for unique)", len(frame)
    if check.check == "row_count":
        rows = len(frame)
        low = check.min is not None and rows < check.min
        high = check.max is not None and rows > check.max
        return (f"{rows} rows, expected {_bounds(check)}", rows) if low or high else None
    series = frame[columns[0]]
    if check.check == "not_null":
        bad = int(series.isna().sum())
        return (f"{bad} empty value(s)", bad) if bad else None
    if check.check == "unique":
        bad = int(frame.duplicated(subset=columns, keep=False).sum())
        return (f"{bad} row(s) share a value", bad) if bad else None
    if check.check == "allowed":
        present = series.dropna()
        outside = present[~present.isin(check.values or [])]
        bad = int(len(outside))
        return (f"{bad} value(s) not allowed, e.g. {outside.iloc[0]!r}", bad) if bad else None
    if check.check == "range":
        return _range(series, check)
    return _freshness(series, check, now)


def _range(series: Any, check: Check) -> tuple[str, int] | None:
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    numbers = pd.to_numeric(series, errors="coerce")
    not_numbers = int((numbers.isna() & series.notna()).sum())
    bad = not_numbers
    if check.min is not None:
        bad += int((numbers < check.min).sum())
    if check.max is not None:
        bad += int((numbers > check.max).sum())
    return (f"{bad} value(s) outside {_bounds(check)}", bad) if bad else None


def _freshness(series: Any, check: Check, now: dt.datetime) -> tuple[str, int] | None:
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    if check.max_age_hours is None:
        return "freshness needs `max_age_hours`", 0
    stamps = pd.to_datetime(series, errors="coerce", utc=True).dropna()
    if stamps.empty:
        return "no timestamps", 0
    newest = stamps.max().to_pydatetime()
    age_hours = (now - newest).total_seconds() / 3600
    if age_hours > check.max_age_hours:
        return f"newest {newest.isoformat()} is {age_hours:.1f} h old (limit {check.max_age_hours:g} h)", 0
    return None


def _bounds(check: Check) -> str:
    if check.min is not None and check.max is not None:
        return f"{check.min:g} to {check.max:g}"
    if check.min is None and check.max is None:
        return "numbers"
    return f">= {check.min:g}" if check.min is not None else f"<= {check.max:g}"


def _as_of(text: str) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
