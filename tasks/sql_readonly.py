"""Read-only SQL for the data tasks: one SELECT/WITH statement, bound parameters, a read-only transaction.

Three layers, because no single one is enough everywhere:

1. :func:`statement_problem` refuses text that is not one ``SELECT``/``WITH`` statement
   (a second statement after ``;``, a write or DDL keyword, ``SELECT ... INTO``);
2. the transaction is read-only where the database can say so: ``SET TRANSACTION
   READ ONLY`` (and a ``statement_timeout``) on PostgreSQL, ``PRAGMA query_only`` on
   SQLite; other databases get the statement check and a rollback;
3. values reach the database only as bound parameters of SQLAlchemy ``text()``
   (``:name`` in the SQL), never formatted into the text, and the transaction is
   always rolled back.

SQLAlchemy is imported when a query runs, not when this module is imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_WRITE_WORDS = ("insert", "update", "delete", "merge", "upsert", "drop", "create", "alter", "truncate", "grant",
                "revoke", "attach", "detach", "pragma", "vacuum", "copy", "call", "execute", "lock", "into", "set")
_WRITE = re.compile(r"\b(" + "|".join(_WRITE_WORDS) + r")\b", re.IGNORECASE)


class QueryError(ValueError):
    """A query was refused or failed; the message names the connection and what went wrong."""


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query (at most the row limit) and whether more were left off."""

    rows: list[dict[str, Any]]
    truncated: bool


def statement_problem(sql: str) -> str | None:
    """Why ``sql`` is not a single read-only ``SELECT``/``WITH`` statement, or ``None`` if it is."""
    code = _code_only(sql).strip().rstrip(";").strip()
    if not code:
        return "the query is empty"
    if ";" in code:
        return "only one statement may be run (found a ';' between statements)"
    first = code.split(None, 1)[0].lower()
    if first not in ("select", "with"):
        return f"only SELECT or WITH queries may be run (this one starts with {first.upper()})"
    found = _WRITE.search(code)
    if found:
        return f"a read-only query may not contain {found.group(1).upper()}"
    return None


def _code_only(sql: str) -> str:
    """The SQL with string literals, quoted identifiers and comments blanked out."""
    out: list[str] = []
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if sql.startswith("--", index):
            end = sql.find("\n", index)
            index = length if end < 0 else end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            index = length if end < 0 else end + 2
            out.append(" ")
        elif char in ("'", '"', "`"):
            end = index + 1
            while end < length:
                if sql[end] == char and sql[end + 1: end + 2] == char:
                    end += 2
                elif sql[end] == char:
                    break
                else:
                    end += 1
            out.append(" x ")
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def run_queries(url: str, queries: Mapping[str, str], params: Mapping[str, Any], *, max_rows: int,
                timeout_seconds: float, where: str) -> dict[str, QueryResult]:
    """Run each named query in one read-only transaction, always rolled back.

    Args:
        url: the SQLAlchemy URL (from the named connection; never shown in messages).
        queries: name -> SQL text with ``:param`` placeholders.
        params: the values bound to the placeholders.
        max_rows: rows kept per query; ``truncated`` says when more were there.
        timeout_seconds: statement timeout (PostgreSQL).
        where: how messages name the connection (``connection 'quality'``).

    Raises:
        QueryError: a query is not read-only, a parameter is missing, or the database refused it.
    """
    for name, sql in queries.items():
        problem = statement_problem(sql)
        if problem:
            raise QueryError(f"{name}: {problem}")
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    try:
        engine = create_engine(url, poolclass=NullPool)
    except ImportError as exc:  # the URL's driver is not installed
        raise QueryError(f"{where}: the database driver is missing ({exc})") from exc
    except (ArgumentError, SQLAlchemyError) as exc:  # the message may quote the URL: never shown
        raise QueryError(f"{where}: not a usable database URL ({type(exc).__name__})") from exc
    results: dict[str, QueryResult] = {}
    try:
        with engine.connect() as connection:
            _read_only(connection, engine.dialect.name, timeout_seconds)
            for name, sql in queries.items():
                statement = text(sql)
                bound = {key: value for key, value in params.items() if key in statement.compile().params}
                try:
                    result = connection.execute(statement, bound)
                    fetched = [dict(row) for row in result.mappings().fetchmany(max_rows + 1)]
                except SQLAlchemyError as exc:
                    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                    raise QueryError(f"{where}, query '{name}': {detail}") from exc
                results[name] = QueryResult(fetched[:max_rows], len(fetched) > max_rows)
            connection.rollback()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise QueryError(f"{where}: {detail}") from exc
    finally:
        engine.dispose()
    return results


def _read_only(connection: Any, dialect: str, timeout_seconds: float) -> None:
    if dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_seconds * 1000)}")
    elif dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect in ("mysql", "mariadb"):
        connection.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
