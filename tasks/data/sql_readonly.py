"""Read-only SQL for the data tasks: one checked SELECT, bound parameters, a read-only transaction.

Layers, because no single one is enough everywhere:

1. :func:`pdcaflow.tasks.data.sql_check.checked_sql` parses each query (sqlglot) and refuses
   anything but one ``SELECT`` calling allowlisted functions; the SQL that runs is
   regenerated from the checked tree;
2. on PostgreSQL a connection whose role is a superuser or can write is refused
   unless the project config trusts it (:mod:`pdcaflow.tasks.data.sql_privileges`);
3. the transaction is read-only: ``SET TRANSACTION READ ONLY`` on PostgreSQL (with
   ``statement_timeout`` and ``standard_conforming_strings`` pinned by ``SET LOCAL``),
   ``PRAGMA query_only`` on SQLite, and always rolled back;
4. values reach the database only as bound parameters (``:name``), never formatted
   into the text;
5. bounded work: ``timeout_seconds`` (PostgreSQL's ``statement_timeout``; on SQLite a
   progress handler that stops the query at the deadline), and rows read through
   the driver's cursor (a server-side cursor on PostgreSQL) and no further than
   ``max_rows + 1``, so memory follows ``max_rows``, not the result's size.

:func:`read_table_columns` reads a table without SQL text (``data.query`` with a
``table``): the table and its columns are identifiers quoted by SQLAlchemy, read
in the same read-only transaction (layers 2, 3 and 5).

SQLAlchemy is imported when a query runs, not when this module is imported.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pdcaflow.tasks.data.sql_check import Refusal, checked_sql
from pdcaflow.tasks.data.sql_privileges import refusal

_PG_MAX_TIMEOUT_MS = 2_147_483_647
_PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the clock (well under 1 ms)


class QueryError(ValueError):
    """A query was refused or failed; the message names the connection and what went wrong.

    ``kind`` is the refusal's (statement, function, syntax) when the SQL itself was refused, else ``None``.
    """

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Trust:
    """What the project config lets a connection's role do beyond reading (both off by default)."""

    write: bool = False
    superuser: bool = False


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query (at most the row limit) and whether more were left off."""

    rows: list[dict[str, Any]]
    truncated: bool


def run_queries(url: str, queries: Mapping[str, str], params: Mapping[str, Any], *, max_rows: int,
                timeout_seconds: float, where: str, trust: Trust = Trust()) -> dict[str, QueryResult]:
    """Run each named query in one read-only transaction, always rolled back.

    Args:
        url: the SQLAlchemy URL (from the named connection; never shown in messages).
        queries: name -> SQL text with ``:param`` placeholders.
        params: the values bound to the placeholders.
        max_rows: rows kept per query; ``truncated`` says when more were there (no more are read).
        timeout_seconds: how long one query may run (and be read).
        where: how messages name the connection (``connection 'quality'``).
        trust: what the project config accepts of the connection's role beyond reading.

    Raises:
        QueryError: a query was refused, the role may do more than the config trusts,
            a parameter is missing, the query ran out of time, or the database refused it.
    """
    from sqlalchemy.exc import SQLAlchemyError  # SQLAlchemy only when it is used (start-up speed)

    if not timeout_seconds > 0 or max_rows < 0:  # NaN included
        raise QueryError(f"{where}: timeout_seconds must be above 0 and max_rows at least 0 "
                         f"(got {timeout_seconds!r} and {max_rows!r})")
    engine = _engine(url, where)
    try:
        checked = {name: _checked(name, sql, engine.dialect.name) for name, sql in queries.items()}
        with engine.connect() as connection:
            _read_only(connection, engine.dialect.name, timeout_seconds, trust, where)
            results = {name: _fetch(connection, name, sql, params, max_rows, timeout_seconds, where)
                       for name, sql in checked.items()}
            connection.rollback()
    except SQLAlchemyError as exc:
        raise QueryError(f"{where}: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return results


@dataclass(frozen=True)
class TableRead:
    """The columns read from a table, in order, and its rows as tuples."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def read_table_columns(url: str, table: str, columns: Sequence[str] | None, *, max_rows: int,
                       timeout_seconds: float, where: str, trust: Trust = Trust()) -> TableRead:
    """Read ``columns`` (all when ``None``) of ``table`` by name, in the read-only transaction :func:`run_queries` uses.

    No SQL text is written by anyone: the table and the columns are identifiers,
    quoted by SQLAlchemy, and checked against the table's own columns first.

    Args:
        table: the table's name, ``schema.table`` for a table in another schema.
        max_rows: rows read at most; a table with more is refused (no row is left off silently).

    Raises:
        QueryError: no such table or column, more than ``max_rows`` rows, a role that may do more
            than the config trusts, the time ran out, or the database refused.
    """
    from sqlalchemy import column, inspect, select
    from sqlalchemy import table as table_clause
    from sqlalchemy.exc import SQLAlchemyError

    schema, _, name = table.rpartition(".")
    engine = _engine(url, where)
    try:
        with engine.connect() as connection:
            _read_only(connection, engine.dialect.name, timeout_seconds, trust, where)
            present = _columns_of(inspect(connection), name, schema or None, where)
            wanted = list(columns) if columns is not None else present
            missing = [item for item in wanted if item not in present]
            if missing:
                raise QueryError(f"{where}, table {table!r}: no column {', '.join(map(repr, missing))} "
                                 f"(columns: {', '.join(present)})")
            wanted = wanted or present[:1]  # rows are counted: a SELECT needs one column at least
            statement = select(*map(column, wanted)).select_from(table_clause(name, schema=schema or None))
            if connection.dialect.name == "postgresql":
                statement = statement.execution_options(stream_results=True, max_row_buffer=10_000)
            with _deadline(connection, timeout_seconds) as stopped:
                try:
                    result = connection.execute(statement)
                    rows = [tuple(row) for row in result.fetchmany(max_rows + 1)]
                    result.close()
                except SQLAlchemyError as exc:
                    if stopped():
                        raise QueryError(f"{where}, table {table!r}: stopped after timeout_seconds="
                                         f"{timeout_seconds:g}") from exc
                    raise
            connection.rollback()
    except SQLAlchemyError as exc:
        raise QueryError(f"{where}, table {table!r}: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    if len(rows) > max_rows:
        raise QueryError(f"{where}, table {table!r} has more than {max_rows:,} rows: raise `max_table_rows` "
                         "or aggregate it in SQL (`scalars`)")
    return TableRead(wanted, rows)


def _columns_of(inspector: Any, name: str, schema: str | None, where: str) -> list[str]:
    if not inspector.has_table(name, schema=schema):
        known = sorted(inspector.get_table_names(schema=schema))
        shown = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        raise QueryError(f"{where}: no table {name!r}" + (f" in schema {schema!r}" if schema else "")
                         + f" (tables: {shown or 'none'})")
    return [str(item["name"]) for item in inspector.get_columns(name, schema=schema)]


def _engine(url: str, where: str) -> Any:
    from sqlalchemy import create_engine  # SQLAlchemy only when it is used (start-up speed)
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    try:
        return create_engine(url, poolclass=NullPool)
    except ImportError as exc:  # the URL's driver is not installed
        raise QueryError(f"{where}: the database driver is missing ({exc})") from exc
    except (ArgumentError, SQLAlchemyError) as exc:  # the message may quote the URL: never shown
        raise QueryError(f"{where}: not a usable database URL ({type(exc).__name__})") from exc


def _checked(name: str, sql: str, backend: str) -> str:
    try:
        return checked_sql(sql, backend)
    except Refusal as refusal:
        raise QueryError(f"query '{name}': {refusal.message}", refusal.kind) from refusal


def _fetch(connection: Any, name: str, sql: str, params: Mapping[str, Any], max_rows: int,
           timeout_seconds: float, where: str) -> QueryResult:
    """At most ``max_rows + 1`` rows of one query, read through the driver's cursor."""
    from sqlalchemy import text  # SQLAlchemy only when it is used (start-up speed)
    from sqlalchemy.exc import SQLAlchemyError

    statement = text(sql)
    bound = {key: value for key, value in params.items() if key in statement.compile().params}
    if connection.dialect.name == "postgresql":  # a server-side cursor: the server keeps what is not fetched
        statement = statement.execution_options(stream_results=True, max_row_buffer=max(max_rows + 1, 1))
    with _deadline(connection, timeout_seconds) as stopped:
        try:
            result = connection.execute(statement, bound)
            fetched = [dict(row) for row in result.mappings().fetchmany(max_rows + 1)]
            result.close()
        except SQLAlchemyError as exc:
            if stopped():
                raise QueryError(f"{where}, query '{name}': stopped after timeout_seconds={timeout_seconds:g} "
                                 "(the query ran longer)") from exc
            raise QueryError(f"{where}, query '{name}': {_first_line(exc)}") from exc
    return QueryResult(fetched[:max_rows], len(fetched) > max_rows)


@contextmanager
def _deadline(connection: Any, timeout_seconds: float) -> Iterator[Any]:
    """On SQLite, stop the query at the deadline (a progress handler); yields "was it stopped?"."""
    if connection.dialect.name != "sqlite":
        yield lambda: False
        return
    raw = connection.connection.driver_connection
    deadline = time.monotonic() + max(timeout_seconds, 0.0)
    stopped = [False]

    def past_deadline() -> int:
        stopped[0] = time.monotonic() > deadline
        return int(stopped[0])

    raw.set_progress_handler(past_deadline, _PROGRESS_STEPS)
    try:
        yield lambda: stopped[0]
    finally:
        raw.set_progress_handler(None, 0)


def _read_only(connection: Any, dialect: str, timeout_seconds: float, trust: Trust, where: str) -> None:
    if dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        # 0 would switch the timeout off: at least 1 ms, at most what PostgreSQL takes (about 24 days)
        milliseconds = max(int(min(timeout_seconds, _PG_MAX_TIMEOUT_MS / 1000) * 1000), 1)
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        # string literals as sqlglot writes them (a backslash is a plain character)
        connection.exec_driver_sql("SET LOCAL standard_conforming_strings = on")
        cursor = connection.connection.cursor()
        try:
            problem = refusal(cursor, allow_write=trust.write, allow_superuser=trust.superuser)
        except connection.dialect.dbapi.Error as exc:
            raise QueryError(f"{where}: could not check what its role may do: {_first_line(exc)}") from exc
        finally:
            cursor.close()
        if problem:
            raise QueryError(f"{where}: {problem}")
    elif dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
