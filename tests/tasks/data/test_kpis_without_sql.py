"""KPIs without SQL: median, percentiles, count_if/share_if and date differences, checked against hand-computed answers.

The same eight claims are read from a CSV file, a Parquet file, a SQLite table and a
PostgreSQL table (in a schema of its own, read by a role that may only read).

    id region opened_at         closed_at         days  amount status
    1  north  2026-05-01 09:00  2026-05-02 09:00  1.0    100   settled
    2  north  2026-05-01 12:00  2026-05-04 00:00  2.5    250   settled
    3  north  2026-05-02 08:00  2026-05-08 08:00  6.0     80   settled
    4  south  2026-05-03 10:00  2026-05-03 22:00  0.5     40   settled
    5  south  2026-05-04 00:00  2026-05-08 00:00  4.0    500   rejected
    6  south  2026-05-05 06:00  2026-05-15 06:00  10.0  1200   settled
    7  south  2026-05-06 09:00  (open)            -      300   open
    8  north  2026-05-07 09:00  (open)            -       60   open

Percentiles interpolate linearly (numpy's and pandas' default): the p-th percentile of
n sorted values sits at position p/100 * (n - 1), counting from 0.
Closed claims' days, sorted: 0.5 1 2.5 4 6 10 (n = 6, positions 0-5).
  median: position 2.5 -> 2.5 + 0.5 * (4 - 2.5) = 3.25
  p90:    position 4.5 -> 6 + 0.5 * (10 - 6)    = 8.0   (192 hours)
  p95:    position 4.75 -> 6 + 0.75 * (10 - 6)  = 9.0
  mean:   24 / 6 = 4.0
Amounts, sorted: 40 60 80 100 250 300 500 1200 (n = 8, positions 0-7).
  p75:    position 5.25 -> 300 + 0.25 * (500 - 300) = 350.0;  median: (100 + 250) / 2 = 175.0
Within 3 days: claims 1, 2, 4: 3 of all 8 rows = 37.5 %; of the 6 closed ones = 50.0 %.
By region: north days 1, 2.5, 6 (+ one open): median 2.5, within 3 days 2 of 4 = 50.0 %;
           south days 0.5, 4, 10 (+ one open): median 4.0, within 3 days 1 of 4 = 25.0 %.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from psycopg import sql

from pdcaflow.engine.definition.validate import validate_paths
from pdcaflow.tasks.data.query import check_query, query
from pdcaflow.tasks.data.table_aggregate import Filter
from pdcaflow.tasks.sdk.registry import StepContext
from tests.engine.store.conftest import PgDatabases, pg_database  # noqa: F401  (real PostgreSQL)
from tests.tasks.data.sql_roles import Roles, pg_roles  # noqa: F401

CONTEXT = StepContext(process_id="kpis-without-sql", cycle=1)
CLAIMS = [
    (1, "north", "2026-05-01 09:00", "2026-05-02 09:00", 100, "settled"),
    (2, "north", "2026-05-01 12:00", "2026-05-04 00:00", 250, "settled"),
    (3, "north", "2026-05-02 08:00", "2026-05-08 08:00", 80, "settled"),
    (4, "south", "2026-05-03 10:00", "2026-05-03 22:00", 40, "settled"),
    (5, "south", "2026-05-04 00:00", "2026-05-08 00:00", 500, "rejected"),
    (6, "south", "2026-05-05 06:00", "2026-05-15 06:00", 1200, "settled"),
    (7, "south", "2026-05-06 09:00", None, 300, "open"),
    (8, "north", "2026-05-07 09:00", None, 60, "open"),
]
COLUMNS = ["id", "region", "opened_at", "closed_at", "amount", "status"]
DAYS = {"days_between": {"start": "opened_at", "end": "closed_at"}}
HOURS = {"hours_between": {"start": "opened_at", "end": "closed_at"}}
WITHIN_3_DAYS = {"column": DAYS, "op": "<=", "value": 3}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(CLAIMS, columns=COLUMNS)


def _database_table(url: str, table: str) -> None:
    """The claims as a real table: text dates and integer amounts on SQLite; timestamps and NUMERIC on PostgreSQL."""
    engine = sa.create_engine(url)
    postgres = url.startswith("postgresql")
    opened, closed = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP") if postgres else ("TEXT", "TEXT")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE TABLE {table} (id INTEGER, region VARCHAR(20), opened_at {opened}, "
                                       f"closed_at {closed}, amount {'NUMERIC(10, 2)' if postgres else 'INTEGER'}, "
                                       "status VARCHAR(20))")
            rows = [dict(zip(COLUMNS, claim, strict=True)) for claim in CLAIMS]
            if postgres:  # an instant with its zone on one side, a plain timestamp (read as UTC) on the other
                rows = [row | {"opened_at": f"{row['opened_at']}+00"} for row in rows]
            connection.execute(sa.text(f"INSERT INTO {table} VALUES (:id, :region, :opened_at, :closed_at, "
                                       ":amount, :status)"), rows)
    finally:
        engine.dispose()


@pytest.fixture(params=["csv", "parquet", "sqlite", "postgresql"])
def claims(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The ``with:`` keys that point data.query at the claims: a file, or connection ``claims`` and a table."""
    if request.param == "csv":
        _frame().to_csv(tmp_path / "claims.csv", index=False)
        yield {"file": str(tmp_path / "claims.csv")}
    elif request.param == "parquet":
        frame = _frame()
        for column in ("opened_at", "closed_at"):
            frame[column] = pd.to_datetime(frame[column])
        frame.to_parquet(tmp_path / "claims.parquet", index=False)
        yield {"file": str(tmp_path / "claims.parquet")}
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
        _database_table(url, "claims")
        monkeypatch.setenv("PDCA_CONNECTION_CLAIMS", url)
        yield {"connection": "claims", "table": "claims"}
    else:
        yield from _postgres_claims(request, monkeypatch)


def _postgres_claims(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    databases: PgDatabases = request.getfixturevalue("pg_database")
    roles: Roles = request.getfixturevalue("pg_roles")
    schema = f"kpis_{secrets.token_hex(4)}"
    with databases.connect(databases.empty) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    _database_table(databases.url(databases.empty), f"{schema}.claims")
    with databases.connect(databases.empty) as admin:
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema),
                                                                      sql.Identifier(roles.reader)))
        admin.execute(sql.SQL("GRANT SELECT ON {}.claims TO {}").format(sql.Identifier(schema),
                                                                       sql.Identifier(roles.reader)))
    monkeypatch.setenv("PDCA_CONNECTION_CLAIMS", roles.url(roles.reader))
    try:
        yield {"connection": "claims", "table": f"{schema}.claims"}
    finally:
        with databases.connect(databases.empty) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_median_percentiles_shares_and_date_differences(claims: dict[str, str]) -> None:
    outputs = query(CONTEXT, **claims, aggregate={
        "claims": {"count": "*"},
        "closed": {"count": DAYS},
        "median_days": {"median": DAYS},
        "p50_days": {"p50": DAYS},
        "p90_days": {"p90": DAYS},
        "p95_days": {"percentile": {"column": DAYS, "q": 95}},
        "p90_hours": {"p90": HOURS},
        "mean_days": {"mean": DAYS},
        "longest_days": {"max": DAYS},
        "p75_amount": {"percentile": {"column": "amount", "q": 75}},
        "median_amount": {"median": "amount"},
        "open": {"count_if": {"column": "status", "op": "==", "value": "open"}},
        "big_south": {"count_if": [{"column": "region", "op": "==", "value": "south"},
                                   {"column": "amount", "op": ">=", "value": 300}]},
        "within_sla_pct": {"share_if": WITHIN_3_DAYS},
    })
    values = {name: outputs[name] for name in outputs if name not in ("rows", "row_count", "truncated")}
    assert values == pytest.approx({
        "claims": 8, "closed": 6, "median_days": 3.25, "p50_days": 3.25, "p90_days": 8.0, "p95_days": 9.0,
        "p90_hours": 192.0, "mean_days": 4.0, "longest_days": 10.0, "p75_amount": 350.0, "median_amount": 175.0,
        "open": 2, "big_south": 3, "within_sla_pct": 37.5}, rel=1e-12)
    assert isinstance(outputs["open"], int) and isinstance(outputs["claims"], int)


def test_a_filter_on_a_date_difference_and_groups(claims: dict[str, str]) -> None:
    closed = query(CONTEXT, **claims, where=[Filter(column="closed_at", op="not_null")],
                   aggregate={"within_sla_pct": {"share_if": WITHIN_3_DAYS}})
    assert closed["within_sla_pct"] == 50.0
    slow = query(CONTEXT, **claims, where=[Filter.model_validate({"column": DAYS, "op": ">", "value": 3})],
                 aggregate={"slow": {"count": "*"}, "regions": {"nunique": "region"}})
    assert (slow["slow"], slow["regions"]) == (3, 2)  # 6, 4 and 10 days; north and south
    grouped = query(CONTEXT, **claims, group_by=["region"],
                    aggregate={"median_days": {"median": DAYS}, "within_sla_pct": {"share_if": WITHIN_3_DAYS},
                               "claims": {"count": "*"}})
    assert grouped["rows"] == [{"region": "north", "median_days": 2.5, "within_sla_pct": 50.0, "claims": 4},
                               {"region": "south", "median_days": 4.0, "within_sla_pct": 25.0, "claims": 4}]
    assert "median_days" not in grouped  # grouped values are rows, not scalars
    nothing = query(CONTEXT, **claims, where=[Filter(column="status", op="==", value="lost")],
                    aggregate={"n": {"count_if": WITHIN_3_DAYS}, "share": {"share_if": WITHIN_3_DAYS},
                               "median": {"median": DAYS}})
    assert (nothing["n"], nothing["share"], nothing["median"]) == (0, None, None)  # no rows: no share, no median


def test_a_missing_column_is_named(claims: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"no column 'settled_at' \(columns: id, region, opened_at, closed_at, "
                                         r"amount, status\)"):
        query(CONTEXT, **claims, aggregate={"d": {"median": {"days_between": {"start": "opened_at",
                                                                              "end": "settled_at"}}}})


def test_values_that_are_not_dates_or_numbers_fail_the_step_with_the_value(tmp_path: Path) -> None:
    csv = tmp_path / "claims.csv"
    csv.write_text("opened_at,closed_at,amount\n2026-05-01,2026-05-03,12\n31/05/2026,2026-06-02,twelve\n", "utf-8")
    with pytest.raises(ValueError, match=r"column 'opened_at': '31/05/2026' is not a date \(write dates as "
                                         r"2026-05-31 or 2026-05-31 14:30\)"):
        query(CONTEXT, file=str(csv), aggregate={"d": {"median": DAYS}})
    with pytest.raises(ValueError, match=r"aggregate 'm': column 'amount' holds 'twelve', not a number"):
        query(CONTEXT, file=str(csv), aggregate={"m": {"median": "amount"}})
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("opened_at,closed_at,amount\n2026-05-01,2026-05-03,12\n", "utf-8")
    with pytest.raises(ValueError, match=r"column 'amount' holds numbers, not dates"):
        query(CONTEXT, file=str(numbers), aggregate={"d": {"p90": {"days_between": {"start": "amount",
                                                                                   "end": "closed_at"}}}})
    with pytest.raises(ValueError, match=r"aggregate 'x': unknown function 'avg' \(did you mean 'mean'\?\)"):
        query(CONTEXT, file=str(csv), aggregate={"x": {"avg": "amount"}})


def test_dates_only_give_whole_days_and_text_numbers_are_read(tmp_path: Path) -> None:
    csv = tmp_path / "cases.csv"
    # 2 days, 29 days (over a month's end), 366 days (2028 is a leap year)
    csv.write_text("opened,closed,hours\n2026-05-01,2026-05-03,1.5\n2026-04-20,2026-05-19,2.5\n"
                   "2028-01-01,2029-01-01,4\n", "utf-8")
    outputs = query(CONTEXT, file=str(csv), aggregate={
        "days": {"sum": {"days_between": {"start": "opened", "end": "closed"}}},
        "median_days": {"median": {"days_between": {"start": "opened", "end": "closed"}}},
        "mean_hours": {"mean": "hours"}})
    assert (outputs["days"], outputs["median_days"], outputs["mean_hours"]) == (397.0, 29.0, 8.0 / 3)


def test_a_table_bigger_than_the_limit_is_refused_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    _database_table(url, "claims")
    monkeypatch.setenv("PDCA_CONNECTION_CLAIMS", url)
    with pytest.raises(ValueError, match=r"connection 'claims', table 'claims' has more than 7 rows: raise "
                                         r"`max_table_rows` or aggregate it in SQL"):
        query(CONTEXT, connection="claims", table="claims", max_table_rows=7, aggregate={"n": {"count": "*"}})
    assert query(CONTEXT, connection="claims", table="claims", max_table_rows=8,
                 aggregate={"n": {"count": "*"}})["n"] == 8
    with pytest.raises(ValueError, match=r"connection 'claims': no table 'claim' \(tables: claims\)"):
        query(CONTEXT, connection="claims", table="claim", aggregate={"n": {"count": "*"}})
    rows = query(CONTEXT, connection="claims", table="claims", where=[Filter(column="status", value="open")])
    assert [row["id"] for row in rows["rows"]] == [7, 8]  # without `aggregate`: the filtered rows


def test_a_role_that_can_write_is_refused_for_a_table_read(pg_database: PgDatabases,  # noqa: F811
                                                            pg_roles: Roles,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    table = f"claims_{secrets.token_hex(4)}"
    _database_table(pg_database.url(pg_database.empty), table)
    try:
        pg_roles.grant(table)
        monkeypatch.setenv("PDCA_CONNECTION_CLAIMS", pg_roles.url(pg_roles.writer))
        with pytest.raises(ValueError, match=r"connection 'claims': role 'pdca_writer_\w+' can write"):
            query(CONTEXT, connection="claims", table=table, aggregate={"n": {"count": "*"}})
    finally:
        with pg_database.connect(pg_database.empty) as admin:
            admin.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))


VALIDATED = """\
id: claims-validation
title: Aggregate validation
owner: claims-team
kpis:
  - id: median_days
    unit: days
    target: {{max: 4}}
    source: measure.median_days
steps:
  - id: measure
    phase: check
    uses: data.query
    with:
      file: claims.csv
      aggregate:
        median_days: {{median: {{days_between: {{start: opened_at, end: closed_at}}}}}}
{entry}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [measure]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


@pytest.mark.parametrize(("entry", "column", "message", "hint"), [
    ('        p90: {percentile: {column: amount, q: 190}}', 47,
     "aggregate 'p90': `q` is the percentile, a number from 0 to 100 (got 190)",
     "90 for the 90th percentile (p90), 50 for the median"),
    ('        d: {p90: {days_between: {start: opened_at, stop: closed_at}}}', 33,
     "aggregate 'd': `days_between` needs `start` and `end`, the names of two date columns",
     "e.g. {days_between: {start: opened_at, end: closed_at}}"),
    ('        sla: {share_if: [{column: status, op: "=<", value: closed}]}', 47,
     "aggregate 'sla': unknown operator '=<'", "operators: ==, !=, <, <=, >, >=, in, not_in, is_null, not_null"),
    ('        sla: {share_if: [{column: status, equals: closed}]}', 51,
     "aggregate 'sla': a condition has no key 'equals'", "its keys: column, op, value"),
    ('        avg: {avg: amount}', 20, "aggregate 'avg': unknown function 'avg' (did you mean 'mean'?)",
     "count sum mean min max median nunique p90 percentile count_if share_if"),
    ('        all: {mean: "*"}', 21, "aggregate 'all': \"*\" (every row) goes with count only, not mean",
     "name the column mean reads: {mean: amount}"),
    ('        two: {mean: amount, max: amount}', 14,
     "aggregate 'two': write one function and the column it reads, e.g. {median: amount}",
     "count sum mean min max median nunique p90 percentile count_if share_if"),
], ids=["q-out-of-range", "days-between-keys", "unknown-operator", "condition-key", "unknown-function",
        "star-not-count", "two-functions"])
def test_validation_reports_a_malformed_aggregate_at_its_line(tmp_path: Path, entry: str, column: int, message: str,
                                                              hint: str) -> None:
    _frame().to_csv(tmp_path / "claims.csv", index=False)  # the file exists: only the aggregate is wrong
    path = tmp_path / "process.yaml"
    path.write_text(VALIDATED.format(entry=entry), encoding="utf-8")
    problems = validate_paths([path]).diagnostics
    assert [(d.code, d.line, d.column, d.message, d.hint) for d in problems] == [
        ("PDCA250", 17, column, f"task 'data.query': {message}", hint)]


def test_every_function_validates(tmp_path: Path) -> None:
    entries = "\n".join(f"        {line}" for line in (
        'n: {count: "*"}', "s: {sum: amount}", "m: {mean: amount}", "lo: {min: opened_at}", "hi: {max: amount}",
        "u: {nunique: region}", "p: {p95: {hours_between: {start: opened_at, end: closed_at}}}",
        "q: {percentile: {column: amount, q: 12.5}}", "o: {count_if: {column: status, op: in, value: [open]}}",
        "w: {share_if: [{column: {days_between: {start: opened_at, end: closed_at}}, op: '<=', value: 3}]}"))
    _frame().to_csv(tmp_path / "claims.csv", index=False)
    path = tmp_path / "process.yaml"
    path.write_text(VALIDATED.format(entry=entries), encoding="utf-8")
    assert validate_paths([path]).diagnostics == []


@pytest.mark.parametrize(("with_", "message"), [
    ({"connection": "claims_db", "table": "reporting.claims", "aggregate": {"n": {"count": "*"}}}, None),
    ({"connection": "claims_db", "aggregate": {"n": {"count": "*"}}},
     "a `connection` needs `sql`, `scalars` or a `table`"),
    ({"connection": "claims_db", "table": "claims", "sql": "SELECT 1", "where": [{"column": "a"}]},
     "`sql`/`scalars` cannot go with `table`, `where` (those read a table without SQL)"),
    ({"file": "claims.csv", "scalars": {"n": "SELECT 1"}}, "`sql`/`scalars` need a `connection` name, not a `file`"),
    ({"aggregate": {"n": {"count": "*"}}}, "give either `connection` (with `sql`, `scalars` or a `table`) or `file`"),
], ids=["table", "connection-alone", "sql-and-table", "sql-on-a-file", "no-source"])
def test_validation_knows_the_table_mode(with_: dict[str, Any], message: str | None) -> None:
    assert [problem[1] for problem in check_query(with_)] == ([message] if message else [])
