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

Table mode (``file``, or ``connection`` + ``table``, with ``aggregate``): filter,
group and aggregate a table from a YAML spec, no SQL (see
:mod:`pdcaflow.tasks.data.table_aggregate`); a connection's table is read by name,
only the columns the spec names, in the same read-only transaction.

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
from pdcaflow.tasks.data.aggregate_spec import aggregate_problems
from pdcaflow.tasks.data.sql_readonly import QueryError, Trust, read_table_columns, run_queries
from pdcaflow.tasks.data.table_aggregate import Filter, aggregate_table, filter_rows, needed_columns

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
    """Validation of a step's literal ``with:``: one mode, read-only SQL with no expression in it, sound aggregates."""
    problems: list[Problem] = []
    sql_mode = any(key in with_values for key in ("sql", "scalars"))
    sources = [key for key in ("connection", "file") if key in with_values]
    if len(sources) != 1:
        problems.append(((), "give either `connection` (with `sql`, `scalars` or a `table`) or `file`",
                         "a file: {file: data/claims.csv, aggregate: ...}; SQL: {connection: db, sql: ...}"))
        return problems
    connection = with_values.get("connection")
    if isinstance(connection, str) and "://" in connection:
        problems.append((("connection",), "`connection` is the NAME of a connection, not a URL",
                         "put the URL in pdca.toml [connections] (a password via \"env:VARIABLE\") or in "
                         "$PDCA_CONNECTION_<NAME>, and write its name here"))
    problems.extend(_mode_problems(with_values, sql_mode, sources[0]))
    statements: list[tuple[tuple[str, ...], Any]] = [(("sql",), with_values.get("sql"))]
    scalars = with_values.get("scalars")
    if isinstance(scalars, Mapping):
        statements.extend((("scalars", name), sql) for name, sql in scalars.items())
    for key_path, sql in statements:
        problems.extend(sql_problems(key_path, sql))
    aggregate = with_values.get("aggregate")
    if isinstance(aggregate, Mapping):
        problems.extend((("aggregate", *problem.path), problem.message, problem.hint)
                        for problem in aggregate_problems(aggregate))
    return problems


def _mode_problems(with_values: Mapping[str, Any], sql_mode: bool, source: str) -> list[Problem]:
    """What does not fit the step's mode: SQL on a connection, a connection's table, or a file."""
    table_keys = [key for key in ("where", "group_by", "aggregate") if key in with_values]
    if source == "file" and sql_mode:
        return [((), "`sql`/`scalars` need a `connection` name, not a `file`",
                 "a file is read with `where`, `group_by` and `aggregate`; SQL runs on a named connection")]
    if source == "file":
        return []
    if not sql_mode and "table" not in with_values:
        return [((), "a `connection` needs `sql`, `scalars` or a `table`",
                 "e.g. {connection: claims_db, table: claims, aggregate: {cases: {count: \"*\"}}}")]
    if sql_mode and ("table" in with_values or table_keys):
        keys = ", ".join(f"`{key}`" for key in ["table", *table_keys] if key in with_values)
        return [((), f"`sql`/`scalars` cannot go with {keys} (those read a table without SQL)",
                 "name a `table` and aggregate it, or write the whole query in `sql`/`scalars`")]
    if sql_mode and not with_values.get("sql") and not with_values.get("scalars"):
        return [((), "give `sql` (rows) or `scalars` (named values)", "e.g. scalars: {rate: \"SELECT ...\"}")]
    return []


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
          group_by: list[str] | None = None, aggregate: dict[str, dict[str, Any]] | None = None,
          max_rows: int = 100, max_table_rows: int = 1_000_000, timeout_seconds: float = 30.0) -> dict[str, Any]:
    """KPIs from a file or a database: read-only SQL, or aggregates without SQL.

    SQL: ``connection`` is a name from the project config (``[connections]`` in
    pdca.toml) or ``$PDCA_CONNECTION_<NAME>``; ``sql`` returns rows; ``scalars``
    maps output names to queries whose first row's first column is the value;
    values go in ``params`` and are bound to ``:name`` placeholders, never
    formatted into SQL. Only one SELECT runs per query, functions from an
    allowlist, in a read-only transaction, on a role that may only read (unless
    the project config trusts it).

    Without SQL: a ``file`` (CSV/Parquet, or a folder with ``table``) or a
    ``connection`` with a ``table`` (``schema.table`` too; only the columns named
    are read, at most ``max_table_rows`` rows), optional ``where`` filters
    (``{column, op, value}``), ``group_by`` columns, and ``aggregate``: name ->
    ``{count|sum|mean|min|max|median|nunique: column}`` (``count: "*"``: rows),
    ``{p90: column}``, ``{percentile: {column, q}}``, ``{count_if: condition}``,
    ``{share_if: condition}`` (percent of rows); a column may be
    ``{days_between: {start, end}}`` or ``{hours_between: {start, end}}``.
    Examples: docs/kpis-without-sql.md.

    Outputs: ``rows`` (at most ``max_rows``), ``row_count``, ``truncated``, and
    one output per ``scalars`` key, or per ``aggregate`` key without ``group_by``.
    """
    if file is not None:
        from pdcaflow.tasks.sdk.sources import read_table  # start-up speed: only when the task runs

        return _table_outputs(read_table(file, table), where or [], group_by or [], aggregate or {}, max_rows)
    if connection is None:
        raise ValueError("data.query needs `connection` (SQL or a table) or `file`")
    config = context.project_config()
    url = config.connection_url(connection)
    if table and not sql and not scalars:
        frame = _connection_table(url, connection, table, where or [], group_by or [], aggregate or {},
                                  max_table_rows, timeout_seconds, trust_of(config, connection))
        return _table_outputs(frame, where or [], group_by or [], aggregate or {}, max_rows)
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


def _connection_table(url: str, connection: str, table: str, where: list[Filter], group_by: list[str],
                      aggregate: dict[str, dict[str, Any]], max_table_rows: int, timeout_seconds: float,
                      trust: Trust) -> Any:
    """The columns the spec reads (all without ``aggregate``) of a connection's table, read-only."""
    import pandas as pd  # pandas only when the task runs (start-up speed of `pdca validate`)

    columns = needed_columns(where, group_by, aggregate) if aggregate else None
    try:
        read = read_table_columns(url, table, columns, max_rows=max_table_rows, timeout_seconds=timeout_seconds,
                                  where=f"connection '{connection}'", trust=trust)
    except QueryError as exc:
        raise ValueError(str(exc)) from exc
    return pd.DataFrame.from_records(read.rows, columns=read.columns)


def _table_outputs(frame: Any, where: list[Filter], group_by: list[str], aggregate: dict[str, dict[str, Any]],
                   max_rows: int) -> dict[str, Any]:
    """The outputs of a table read without SQL: its aggregate (and each value by name), or its filtered rows."""
    rows = aggregate_table(frame, where, group_by, aggregate) if aggregate else [
        plain_row(row) for row in filter_rows(frame, where).head(max_rows + 1).to_dict(orient="records")]
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
