"""data.query on real SQLite and PostgreSQL: bound parameters, read-only, row limits, file aggregates, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pdcaflow.engine.definition.validate import validate_paths
from pdcaflow.tasks.data.query import query
from pdcaflow.tasks.sdk.project_config import ProjectConfig, load_config
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.data.sql_check import checked_sql
from pdcaflow.tasks.data.sql_readonly import QueryError, Trust, run_queries
from pdcaflow.tasks.data.table_aggregate import Filter
from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)
from tests.tasks.data.sql_roles import Roles, pg_roles  # noqa: F401

CONTEXT = StepContext(process_id="data-query-test", cycle=1)
INJECTIONS = ("x'; DROP TABLE finding; --", "' OR '1'='1", "A\"); DELETE FROM finding; --")


@pytest.fixture()
def findings(db_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """A ``finding`` table (ward, severity, closed) on the test database, read as connection ``quality``.

    On PostgreSQL the connection logs in as a role that may only read (a superuser is refused).
    """
    engine = sa.create_engine(db_url)
    rows = [{"ward": ward, "severity": severity, "closed": closed} for ward, severity, closed in (
        ("A", 3, True), ("A", 1, False), ("B", 2, True), ("B", 5, False), ("C", 1, True))]
    rows += [{"ward": text, "severity": 9, "closed": False} for text in INJECTIONS[:1]]
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE finding (ward VARCHAR(80), severity INTEGER, closed BOOLEAN)")
        connection.execute(sa.text("INSERT INTO finding VALUES (:ward, :severity, :closed)"), rows)
    engine.dispose()
    url = db_url
    if db_url.startswith("postgresql"):
        roles: Roles = request.getfixturevalue("pg_roles")
        roles.grant("finding")
        url = roles.url(roles.reader)
    monkeypatch.setenv("PDCA_CONNECTION_QUALITY", url)
    return db_url


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM finding")).scalar_one())
    finally:
        engine.dispose()


def test_rows_and_scalars_with_bound_parameters(findings: str) -> None:
    outputs = query(CONTEXT, connection="quality",
                    sql="SELECT ward, count(*) AS n FROM finding WHERE severity >= :min_severity GROUP BY ward "
                        "ORDER BY ward",
                    scalars={"open_rate": "SELECT avg(CASE WHEN closed THEN 0.0 ELSE 1.0 END) FROM finding "
                                          "WHERE ward = :ward",
                             "worst": "SELECT max(severity) FROM finding WHERE ward <> :ward"},
                    params={"min_severity": 2, "ward": "A"})
    assert outputs["rows"] == [{"ward": "A", "n": 1}, {"ward": "B", "n": 2}, {"ward": INJECTIONS[0], "n": 1}]
    assert (outputs["row_count"], outputs["truncated"]) == (3, False)
    assert outputs["open_rate"] == pytest.approx(0.5) and outputs["worst"] == 9


@pytest.mark.parametrize("attempt", INJECTIONS)
def test_an_injection_attempt_is_bound_as_a_value(findings: str, attempt: str) -> None:
    before = _count(findings)
    outputs = query(CONTEXT, connection="quality", sql="SELECT ward, severity FROM finding WHERE ward = :ward",
                    scalars={"matches": "SELECT count(*) FROM finding WHERE ward = :ward"}, params={"ward": attempt})
    # the literal text was compared as a value: only the row holding exactly that text matches
    expected = [{"ward": attempt, "severity": 9}] if attempt == INJECTIONS[0] else []
    assert outputs["rows"] == expected and outputs["matches"] == len(expected)
    assert _count(findings) == before  # the table is still there, nothing deleted


def test_row_limit(findings: str) -> None:
    outputs = query(CONTEXT, connection="quality", sql="SELECT * FROM finding ORDER BY severity", max_rows=2)
    assert (outputs["row_count"], outputs["truncated"]) == (2, True)


@pytest.mark.parametrize("sql", [
    "DELETE FROM finding",
    "SELECT 1; DELETE FROM finding",
    "WITH gone AS (DELETE FROM finding RETURNING *) SELECT count(*) FROM gone",
    "SELECT * INTO finding_copy FROM finding",
    "/* SELECT */ UPDATE finding SET closed = true",
], ids=["delete", "two-statements", "writable-cte", "select-into", "comment-first"])
def test_anything_but_one_select_is_refused_before_it_reaches_the_database(findings: str, sql: str) -> None:
    before = _count(findings)
    with pytest.raises(ValueError, match=r"only one statement|only a SELECT|may not contain (DELETE|UPDATE)|"
                                         r"SELECT \.\.\. INTO"):
        query(CONTEXT, connection="quality", sql=sql)
    assert _count(findings) == before


def test_the_transaction_itself_is_read_only(findings: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even past the SQL check (switched off here) and on a trusted writer, the database refuses to write."""
    before = _count(findings)
    monkeypatch.setattr("pdcaflow.tasks.data.sql_readonly.checked_sql", lambda sql, backend: sql)
    writes = "DELETE FROM finding"
    if findings.startswith("postgresql"):  # no cursor is declared for a DELETE there: a write through a function
        engine = sa.create_engine(findings)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE SEQUENCE finding_number")
        engine.dispose()
        writes = "SELECT nextval('finding_number')"
    with pytest.raises(QueryError, match=r"(?i)read-only|readonly"):
        run_queries(findings, {"sql": writes}, {}, max_rows=10, timeout_seconds=5,
                    where="connection 'quality'", trust=Trust(write=True, superuser=True))
    assert _count(findings) == before


def test_literals_and_comments_do_not_fool_the_statement_check() -> None:
    for backend in ("postgresql", "sqlite"):
        assert checked_sql("SELECT 'a; DELETE FROM x' AS note -- ; DROP TABLE x\nFROM t;", backend) == \
            "SELECT 'a; DELETE FROM x' AS note FROM t"
        assert checked_sql('SELECT "update" FROM t', backend) == 'SELECT "update" FROM t'
        assert checked_sql("select replace(name, 'a', 'b') from t", backend) == "SELECT REPLACE(name, 'a', 'b') FROM t"
    with pytest.raises(ValueError, match=r"^the query is empty$"):
        checked_sql("", "sqlite")


def test_connections_come_from_the_config_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'local.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (41)")
    engine.dispose()
    (tmp_path / "pdca.toml").write_text('[connections]\nlocal = "sqlite:///data/local.db"\n'
                                        'remote = "env:REMOTE_DB_URL"\n', encoding="utf-8")
    config = load_config(tmp_path / "pdca.toml")
    context = StepContext(process_id="config-test", cycle=1, config=config)
    monkeypatch.chdir(tmp_path.parent)  # a relative SQLite path is relative to the config file, not the cwd
    assert query(context, connection="local", scalars={"x": "SELECT x + 1 FROM t"})["x"] == 42
    with pytest.raises(ValueError, match=r"connection 'remote' reads \$REMOTE_DB_URL, which is not set"):
        query(context, connection="remote", sql="SELECT 1")
    with pytest.raises(ValueError, match=r"no connection named 'other' .*configured: local, remote; or set "
                                         r"PDCA_CONNECTION_OTHER"):
        query(context, connection="other", sql="SELECT 1")
    monkeypatch.setenv("REMOTE_DB_URL", f"sqlite:///{tmp_path / 'data' / 'local.db'}")
    assert query(context, connection="remote", scalars={"x": "SELECT x FROM t"})["x"] == 41
    assert ProjectConfig().has_connection("local") is False


def test_file_aggregate(tmp_path: Path) -> None:
    csv = tmp_path / "observations.csv"
    csv.write_text("ward,shift,compliant\nA,day,1\nA,day,0\nA,night,1\nB,day,1\nB,night,1\nC,day,\n", "utf-8")
    grouped = query(CONTEXT, file=str(csv), where=[Filter(column="shift", op="==", value="day")], group_by=["ward"],
                    aggregate={"rate": {"mean": "compliant"}, "n": {"count": "*"}})
    assert grouped["rows"] == [{"ward": "A", "rate": 0.5, "n": 2}, {"ward": "B", "rate": 1.0, "n": 1},
                               {"ward": "C", "rate": None, "n": 1}]
    total = query(CONTEXT, file=str(csv), aggregate={"rate": {"mean": "compliant"}, "wards": {"nunique": "ward"},
                                                     "missing": {"count": "compliant"}})
    assert (total["rate"], total["wards"], total["missing"]) == (0.8, 3, 5)
    with pytest.raises(ValueError, match=r"no column 'compliance'"):
        query(CONTEXT, file=str(csv), aggregate={"rate": {"mean": "compliance"}})


VALIDATED = """\
id: query-validation
title: data.query validation
owner: lab
kpis:
  - id: open_rate
    unit: share
    target: {{max: 0.2}}
    source: {source}
steps:
  - id: count
    phase: check
    uses: data.query
    with:
{with_}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [count]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


@pytest.mark.parametrize(("with_", "source", "codes"), [
    ('      connection: quality\n      scalars: {open_rate: "SELECT 0.1"}', "count.open_rate", []),
    ('      connection: quality\n      scalars: {open_rate: "SELECT 0.1"}', "count.open", ["PDCA214"]),
    ('      file: f.csv\n      aggregate: {open_rate: {mean: open}}', "count.open_rate", []),
    ('      file: f.csv\n      group_by: [ward]\n      aggregate: {open_rate: {mean: open}}', "count.open_rate",
     ["PDCA214"]),
    ("      connection: quality\n      sql: \"SELECT * FROM t WHERE w = '${{ process.id }}'\"", "count.rows",
     ["PDCA250"]),
    ('      connection: quality\n      file: f.csv\n      sql: "SELECT 1"', "count.rows", ["PDCA250"]),
    ('      file: f.csv\n      aggregate: {open_rate: {avg: open}}', "count.open_rate", ["PDCA250"]),
    ('      connection: "postgresql://qa@db/audits"\n      scalars: {open_rate: "SELECT 0.1"}', "count.open_rate",
     ["PDCA250"]),
], ids=["scalar-known", "scalar-unknown", "aggregate-known", "grouped-has-no-scalars", "expression-in-sql",
        "both-modes", "unknown-function", "url-as-connection"])
def test_validation_knows_outputs_and_refuses_unsafe_sql(tmp_path: Path, with_: str, source: str,
                                                          codes: list[str]) -> None:
    _project_with_quality_and_f_csv(tmp_path)
    path = tmp_path / "process.yaml"
    path.write_text(VALIDATED.format(with_=with_, source=source), encoding="utf-8")
    assert [d.code for d in validate_paths([path]).diagnostics] == codes


def _project_with_quality_and_f_csv(folder: Path) -> None:
    """What the definitions above read must exist to validate (PDCA263, PDCA264): connection `quality`, f.csv."""
    (folder / "pdca.toml").write_text('[connections]\nquality = "sqlite:///quality.db"\n', encoding="utf-8")
    (folder / "f.csv").write_text("ward,open\nA,1\n", encoding="utf-8")


def test_data_assert_sql_is_checked_at_validation(tmp_path: Path) -> None:
    _project_with_quality_and_f_csv(tmp_path)
    path = tmp_path / "process.yaml"
    path.write_text(VALIDATED.replace("uses: data.query", "uses: data.assert").format(
        with_='      connection: quality\n      sql: "DELETE FROM t"\n      checks: [{check: row_count, min: 1}]',
        source="count.pass_rate"), encoding="utf-8")
    problems = validate_paths([path]).diagnostics
    assert [(d.code, d.message) for d in problems] == [
        ("PDCA265", "task 'data.assert': only a SELECT query may be run (this one is DELETE)")]
