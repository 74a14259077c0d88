"""``data.query``: KPIs from a database (read-only SQL on a named connection) or from a CSV/Parquet file.

SQL mode (``connection`` + ``sql`` and/or ``scalars``): the connection is a NAME
resolved from the project config or the environment (``PDCA_CONNECTION_<NAME>``,
``[connections]`` in ``pdca.toml``, see :mod:`pdcaflow.tasks.sdk.project_config`), so no URL or
password is ever written in a definition. Values go in ``params`` and are bound
to ``:name`` placeholders by SQLAlchemy, never formatted into the text; an
expression (``${{ ... }}``) inside the SQL text itself is refused at validation.
Each query must be one ``SELECT`` (``WITH`` and ``UNION`` included) calling only
allowlisted functions, checked by a SQL parser (:mod:`pdcaflow.tasks.data.sql_check`), and runs
in a read-only, rolled-back transaction on a role that may only read unless the
project config trusts it (see :mod:`pdcaflow.tasks.data.sql_readonly`).

File mode (``file`` + ``aggregate``): filter, group and aggregate a table from a
YAML spec (see :mod:`pdcaflow.tasks.data.table_aggregate`).

Outputs: ``rows`` (at most ``max_rows``), ``row_count``, ``truncated``, and one
output per ``scalars`` key (SQL: the first column of the query's first row) or
per ``aggregate`` key without ``group_by`` (the aggregate's value), so a KPI can
say ``source: audit_kpis.rate``; validation knows these names.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from pdcaflow.tasks.sdk.registry import ConnectionName, InputFile, StepContext, task
from pdcaflow.tasks.data.sql_check import literal_refusal
from pdcaflow.tasks.data.sql_readonly import QueryError, Trust, run_queries
from pdcaflow.tasks.data.table_aggregate import Filter, aggregate_problem, aggregate_table

BASE_OUTPUTS = ("rows", "row_count", "truncated")
Scalar = str | int | float | bool | None


def query_outputs(with_values: Mapping[str, Any]) -> tuple[str, ...] | None:
    """``rows, row_count, truncated`` plus the ``scalars`` keys, or the ``aggregate`` keys without ``group_by``."""
    names = list(BASE_OUTPUTS)
    scalars = with_values.get("scalars") or {}
    if not isinstance(scalars, Mapping):
        return None
    names.extend(scalars)
    aggregate = with_values.get("aggregate") or {}
    if isinstance(aggregate, str) or not isinstance(aggregate, Mapping):
        return None
    if not with_values.get("group_by"):
        names.extend(aggregate)
    return tuple(dict.fromkeys(names))


Problem = tuple[tuple[str | int, ...], str, str] | tuple[tuple[str | int, ...], str, str, str]
# what validation reports for each kind of refused query (engine/definition/codes.py)
REFUSAL_CODES = {"statement": "PDCA265", "function": "PDCA266", "syntax": "PDCA267"}
REFUSAL_HINTS = {
    "statement": "only one read-only SELECT runs (WITH ... SELECT and UNION included)",
    "function": "queries may call aggregates, arithmetic, text, date and conditional functions only "
                "(the list: tasks/data/sql_functions.py)",
    "syntax": "check the SQL; `:name` placeholders take their values from `params`",
}


def check_query(with_values: Mapping[str, Any]) -> list[Problem]:
    """Validation of a step's literal ``with:``: one mode, read-only SQL with no expression in it."""
    problems: list[Problem] = []
    sql_mode = any(key in with_values for key in ("connection", "sql", "scalars"))
    file_mode = any(key in with_values for key in ("file", "aggregate"))
    if sql_mode == file_mode:
        problems.append(((), "give either `connection` with `sql`/`scalars`, or `file` with `aggregate`",
                         "SQL: {connection: quality, sql: \"SELECT ...\"}; file: {file: data.csv, aggregate: ...}"))
        return problems
    connection = with_values.get("connection")
    if isinstance(connection, str) and "://" in connection:
        problems.append((("connection",), "`connection` is the NAME of a connection, not a URL",
                         "put the URL in pdca.toml [connections] (a password via \"env:VARIABLE\") or in "
                         "$PDCA_CONNECTION_<NAME>, and write its name here"))
    if sql_mode and "connection" not in with_values:
        problems.append(((), "`sql`/`scalars` need a `connection` name",
                         "name a connection from pdca.toml [connections] or $PDCA_CONNECTION_<NAME>"))
    if sql_mode and not with_values.get("sql") and not with_values.get("scalars"):
        problems.append(((), "give `sql` (rows) or `scalars` (named values)", "e.g. scalars: {rate: \"SELECT ...\"}"))
    statements: list[tuple[tuple[str, ...], Any]] = [(("sql",), with_values.get("sql"))]
    scalars = with_values.get("scalars")
    if isinstance(scalars, Mapping):
        statements.extend((("scalars", name), sql) for name, sql in scalars.items())
    for key_path, sql in statements:
        problems.extend(sql_problems(key_path, sql))
    if file_mode and "file" not in with_values:
        problems.append(((), "`aggregate` needs a `file`", "a CSV or Parquet file (or a folder and `table`)"))
    aggregate = with_values.get("aggregate")
    if isinstance(aggregate, Mapping):
        for name, spec in aggregate.items():
            problem = aggregate_problem(name, spec)
            if problem:
                problems.append((("aggregate", name), problem, "e.g. {mean: compliant} or {count: \"*\"}"))
    return problems


def sql_problems(key_path: tuple[str | int, ...], sql: Any) -> list[Problem]:
    """A literal SQL text's problems: an expression inside it, or a query the SQL check refuses (with its code)."""
    if not isinstance(sql, str):
        return []
    if "${{" in sql:
        return [(key_path, "an expression inside SQL text would be formatted into the query",
                 "write `:name` in the SQL and give the value in `params: {name: ...}`")]
    refusal = literal_refusal(sql)
    if refusal is None:
        return []
    return [(key_path, refusal.message, REFUSAL_HINTS[refusal.kind], REFUSAL_CODES[refusal.kind])]


@task("data.query", outputs_for=query_outputs, check_with=check_query)
def query(context: StepContext, *, connection: ConnectionName | None = None, sql: str | None = None,
          scalars: dict[str, str] | None = None, params: dict[str, Scalar] | None = None,
          file: InputFile | None = None, table: str | None = None, where: list[Filter] | None = None,
          group_by: list[str] | None = None, aggregate: dict[str, dict[str, str]] | None = None,
          max_rows: int = 100, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """Read KPIs from a database (read-only SQL on a named connection) or aggregate a CSV/Parquet file.

    SQL: ``connection`` is a name from the project config (``[connections]`` in
    pdca.toml) or ``$PDCA_CONNECTION_<NAME>``; ``sql`` returns rows; ``scalars`` maps
    output names to queries whose first row's first column is the value; values go
    in ``params`` and are bound to ``:name`` placeholders, never formatted into SQL.
    Only one SELECT runs per query, functions from an allowlist, in a read-only
    transaction, on a role that may only read (unless the project config trusts it).

    File: ``file`` (CSV/Parquet, or a folder with ``table``), optional ``where``
    filters (``{column, op, value}``), ``group_by`` columns, and ``aggregate``
    (name -> ``{count|sum|mean|min|max|median|nunique: column}``, ``count: "*"`` counts rows).

    Outputs: ``rows`` (at most ``max_rows``), ``row_count``, ``truncated``, and one
    output per ``scalars`` key, or per ``aggregate`` key when there is no ``group_by``.
    """
    if file is not None:
        return _from_file(file, table, where or [], group_by or [], aggregate or {}, max_rows)
    if connection is None:
        raise ValueError("data.query needs `connection` (SQL) or `file`")
    config = context.project_config()
    url = config.connection_url(connection)
    queries = ({"sql": sql} if sql else {}) | {f"scalars.{name}": text for name, text in (scalars or {}).items()}
    try:
        results = run_queries(url, queries, params or {}, max_rows=max_rows, timeout_seconds=timeout_seconds,
                              where=f"connection '{connection}'", trust=trust_of(config, connection))
    except QueryError as exc:
        raise ValueError(str(exc)) from exc
    main = results.get("sql")
    rows = [plain_row(row) for row in main.rows] if main else []
    outputs: dict[str, Any] = {"rows": rows, "row_count": len(rows), "truncated": bool(main and main.truncated)}
    for name in scalars or {}:
        first = results[f"scalars.{name}"].rows
        outputs[name] = plain_value(next(iter(first[0].values()))) if first and first[0] else None
    return outputs


def trust_of(config: Any, connection: str) -> Trust:
    """What the project config accepts of the named connection's role (``allow_write``, ``allow_superuser``)."""
    return Trust(write=config.connection_allows(connection, "allow_write"),
                 superuser=config.connection_allows(connection, "allow_superuser"))


def _from_file(file: str, table: str | None, where: list[Filter], group_by: list[str],
               aggregate: dict[str, dict[str, str]], max_rows: int) -> dict[str, Any]:
    from pdcaflow.tasks.sdk.sources import read_table  # start-up speed: only when the task runs

    frame = read_table(file, table)
    rows = aggregate_table(frame, where, group_by, aggregate) if aggregate else [
        plain_row(row) for row in frame.head(max_rows + 1).to_dict(orient="records")]
    outputs: dict[str, Any] = {"rows": rows[:max_rows], "row_count": min(len(rows), max_rows),
                               "truncated": len(rows) > max_rows}
    if aggregate and not group_by:
        outputs.update(rows[0])
    return outputs


def plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A database or DataFrame row as JSON-ready values."""
    return {str(key): plain_value(value) for key, value in row.items()}


def plain_value(value: Any) -> Any:
    """Decimal -> float, dates -> ISO text, NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value
