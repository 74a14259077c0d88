"""The SQL a data task may run: one read-only SELECT, read by a real SQL parser (sqlglot).

:func:`checked_sql` parses a query in its database's dialect and refuses, with
the reason, anything but one ``SELECT`` (``WITH ... SELECT`` and ``UNION`` of
selects included): a second statement, a write or schema change anywhere in the
tree (a ``DELETE`` inside a ``WITH``, ``SELECT ... INTO``, ``FOR UPDATE``,
``COPY``, ``SET``), and any function not on the allowlist of
:mod:`pdcaflow.tasks.data.sql_functions` (so ``dblink_exec``, ``pg_read_file``, ``lo_import``,
``set_config``, ``query_to_xml``, ``load_extension``, and every function the
parser does not know, are refused by name). What reaches the database is the SQL
regenerated from the checked tree, without comments, never the text as written:
so a literal the parser and the server would read differently (``E'\\''``, a
nested comment) cannot hide code from the check.

:func:`literal_refusal` is the same check for ``pdca validate``, which does not
know the connection's database: a query passes there if it passes for one of the
dialects that run queries and no dialect reads a write or a second statement in
it; the run-time check in the connection's own dialect decides.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from pdcaflow.tasks.data.sql_functions import ALLOWED_BY_NAME, ALLOWED_TYPES

logging.getLogger("sqlglot").addFilter(  # a refused statement is reported to the user, not logged
    lambda record: "Falling back to parsing as a 'Command'" not in record.getMessage())

Kind = Literal["statement", "function", "syntax"]
# SQLAlchemy's backend name -> the sqlglot dialect its SQL is read and written in
DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite"}
_PLACEHOLDER = re.compile(r":[A-Za-z_][A-Za-z0-9_]*")
_WRITING_MODULES = ("sqlglot.expressions.ddl", "sqlglot.expressions.dml")
_WRITING_PARTS: tuple[type[exp.Expression], ...] = (
    exp.Grant, exp.Revoke, exp.Analyze, exp.MultitableInserts, exp.ConditionalInsert, exp.Put, exp.Get,
    exp.StoredProcedure, exp.Block, exp.IfBlock, exp.WhileBlock, exp.LoopBlock, exp.RepeatBlock)


class Refusal(ValueError):
    """Why a query may not run: ``kind`` is statement (not one read-only SELECT), function, or syntax."""

    def __init__(self, kind: Kind, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def checked_sql(sql: str, backend: str) -> str:
    """The SQL to run for ``sql`` on a ``backend`` database (SQLAlchemy's name: postgresql, sqlite).

    Raises:
        Refusal: the query does not parse, is not one read-only SELECT, or calls a function
            not on the allowlist; or queries are not checked for that kind of database.
    """
    dialect = DIALECTS.get(backend)
    if dialect is None:
        raise Refusal("statement", f"queries run only on PostgreSQL or SQLite connections (this one is {backend})")
    tree = _one_select(sql, dialect)
    _check_tree(tree, dialect)
    named = tree.transform(lambda node: exp.var(f":{node.name}") if isinstance(node, exp.Placeholder) and node.name
                           else node)  # sqlglot writes :name as %(name)s for PostgreSQL; SQLAlchemy binds :name
    regenerated = named.sql(dialect=dialect, comments=False)
    _check_tree(_one_select(regenerated, dialect), dialect)  # what runs passes the same check, read again
    return regenerated


def literal_refusal(sql: str) -> Refusal | None:
    """For validation, which does not know the connection's database: why ``sql`` may not run, or ``None``.

    A query any dialect reads as more than one SELECT or as a write is refused (text
    that reads differently on two databases, such as ``E'\\''``, is not a query to
    keep); otherwise it passes if it passes on one dialect (functions differ).
    """
    refusals: list[Refusal] = []
    for backend in DIALECTS:
        try:
            checked_sql(sql, backend)
        except Refusal as refusal:
            refusals.append(refusal)
    statements = [refusal for refusal in refusals if refusal.kind == "statement"]
    if statements or len(refusals) < len(DIALECTS):
        return statements[0] if statements else None
    return next((refusal for refusal in refusals if refusal.kind != "syntax"), refusals[0])


def _one_select(sql: str, dialect: str) -> exp.Expr:
    try:
        trees = [tree for tree in sqlglot.parse(sql, read=dialect) if tree is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')} of the query)" if first else ""
        description = str(first.get("description") or exc).splitlines()[0]
        raise Refusal("syntax", f"the SQL does not parse: {description}{where}") from exc
    except TokenError as exc:
        raise Refusal("syntax", f"the SQL does not parse: {str(exc).splitlines()[0]}") from exc
    if not trees:
        raise Refusal("statement", "the query is empty")
    if len(trees) > 1:
        raise Refusal("statement", f"only one statement may be run (found {len(trees)}, separated by ';')")
    tree = trees[0]
    inner = tree.unnest() if isinstance(tree, exp.Subquery) else tree
    if not isinstance(inner, exp.Select | exp.SetOperation):
        raise Refusal("statement", f"only a SELECT query may be run (this one is {_statement_name(inner)})")
    return tree


def _check_tree(tree: exp.Expr, dialect: str) -> None:
    for node in tree.walk():
        if type(node).__module__ in _WRITING_MODULES or isinstance(node, _WRITING_PARTS):
            raise Refusal("statement", f"a read-only query may not contain {_statement_name(node)}")
        if isinstance(node, exp.Into):
            raise Refusal("statement", "SELECT ... INTO writes a table: a read-only query may not use it")
        if isinstance(node, exp.Lock):
            raise Refusal("statement", "FOR UPDATE/SHARE locks rows: a read-only query may not use it")
        if isinstance(node, exp.Parameter) or (isinstance(node, exp.Placeholder)
                                                and not _PLACEHOLDER.fullmatch(f":{node.name}")):
            # a placeholder's name is written back into the SQL that runs: only a plain :name
            raise Refusal("statement", "values are bound only through :name placeholders (letters, digits and _; "
                                       "the values in `params`): this query has another kind of parameter")
        if isinstance(node, exp.Func) and not isinstance(node, exp.Binary):  # a Binary is an operator (AND, ^)
            _check_function(node, dialect)


def _check_function(node: exp.Func, dialect: str) -> None:
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    if isinstance(node.parent, exp.Dot) and node.parent.expression is node:
        qualified = f"{node.parent.this.sql(dialect=dialect)}.{name.lower()}"
        raise Refusal("function", f"function {qualified} is not allowed in a query (call functions by their "
                                  "plain name)")
    allowed = (name.lower() in ALLOWED_BY_NAME[dialect] if isinstance(node, exp.Anonymous)
               else type(node) in ALLOWED_TYPES)
    if not allowed:
        raise Refusal("function", f"function {name.lower()} is not allowed in a query")


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return {"truncatetable": "TRUNCATE", "loaddata": "LOAD DATA"}.get(node.key, node.key.upper())
