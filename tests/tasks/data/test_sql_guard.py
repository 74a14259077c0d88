"""data.query's SQL guard on real SQLite and PostgreSQL (issue 13, finding 3).

Each attack of the adversarial trial is tried for real: functions that reach the
server or another database (dblink_exec, pg_read_file, lo_import, set_config), the
``E'\\''`` literal that fooled the old keyword filter, a CTE that deletes, a query
that never ends on SQLite, ten million rows with ``max_rows: 100``, and connections
whose role is a superuser or may write.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from pdcaflow.engine.definition.validate import validate_paths
from pdcaflow.tasks.data.query import query
from pdcaflow.tasks.sdk.project_config import load_config
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.data.sql_readonly import QueryError, Trust, run_queries
from tests.conftest import REPO
from tests.engine.store.conftest import PgDatabases, db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)
from tests.tasks.data.sql_roles import Roles, pg_roles  # noqa: F401

CONTEXT = StepContext(process_id="sql-guard-test", cycle=1)
ROWS = 5


@pytest.fixture()
def finding_db(db_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """A ``finding`` table of 5 rows, and a URL that may only read it (connection ``quality``)."""
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE finding (ward VARCHAR(80), severity INTEGER)")
        connection.execute(sa.text("INSERT INTO finding VALUES (:ward, :severity)"),
                           [{"ward": ward, "severity": n} for n, ward in enumerate("ABCDE")])
    engine.dispose()
    url = db_url
    if db_url.startswith("postgresql"):
        roles: Roles = request.getfixturevalue("pg_roles")
        roles.grant("finding")
        url = roles.url(roles.reader)
    monkeypatch.setenv("PDCA_CONNECTION_QUALITY", url)
    return db_url


def _count(admin_url: str) -> int:
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM finding")).scalar_one())
    finally:
        engine.dispose()


ATTACKS = {
    "dblink-exec": ("SELECT dblink_exec('dbname=test', 'DELETE FROM finding')", r"function dblink_exec is not allowed"),
    "dblink-table": ("SELECT * FROM dblink('dbname=test', 'SELECT 1') AS t(n int)", r"function dblink is not allowed"),
    "pg-read-file": ("SELECT pg_read_file('/etc/passwd')", r"function pg_read_file is not allowed"),
    "pg-read-file-qualified": ("SELECT pg_catalog.pg_read_file('/etc/passwd')", r"pg_catalog\.pg_read_file"),
    "pg-ls-dir": ("SELECT * FROM pg_ls_dir('.') AS f", r"function pg_ls_dir is not allowed"),
    "lo-import": ("SELECT lo_import('/etc/passwd')", r"function lo_import is not allowed"),
    "set-config": ("SELECT set_config('statement_timeout', '0', true), count(*) FROM finding",
                   r"function set_config is not allowed"),
    "query-to-xml": ("SELECT query_to_xml('DELETE FROM finding', true, true, '')", r"function query_to_xml is not"),
    "pg-sleep": ("SELECT pg_sleep(60)", r"function pg_sleep is not allowed"),
    "load-extension": ("SELECT load_extension('/tmp/evil.so')", r"function load_extension is not allowed"),
    # SQLite has no E'' strings: there the text is one SELECT of a column E (which does not exist)
    "e-quote-trick": ("SELECT E'\\'' AS q, 1 AS n; DELETE FROM finding; --'", r"only one statement|no such column: E"),
    "e-quote-cte": ("WITH q AS (SELECT E'\\'' AS q), gone AS (DELETE FROM finding RETURNING *) "
                    "SELECT count(*) FROM gone --'", r"may not contain DELETE|does not parse"),
    "cte-delete": ("WITH gone AS (DELETE FROM finding RETURNING *) SELECT count(*) FROM gone",
                   r"may not contain DELETE"),
    "cte-insert": ("WITH x AS (INSERT INTO finding VALUES ('Z', 1) RETURNING *) SELECT * FROM x",
                   r"may not contain INSERT"),
    "select-into": ("SELECT * INTO finding_copy FROM finding", r"SELECT \.\.\. INTO"),
    "for-update": ("SELECT * FROM finding FOR UPDATE", r"FOR UPDATE/SHARE"),
    "copy": ("COPY finding TO '/tmp/out.csv'", r"only a SELECT"),
    "set": ("SET statement_timeout = 0", r"only a SELECT"),
    "quoted-placeholder": ('SELECT :"x; DELETE FROM finding; --" AS n FROM finding', r"only through :name"),
    "unknown-function": ("SELECT my_own_function(ward) FROM finding", r"function my_own_function is not allowed"),
    "does-not-parse": ("SELEC ward FROM finding", r"the SQL does not parse"),
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_an_attack_is_refused_before_it_reaches_the_database(finding_db: str, attack: str) -> None:
    sql, message = ATTACKS[attack]
    with pytest.raises(ValueError, match=message):
        query(CONTEXT, connection="quality", sql=sql)
    assert _count(finding_db) == ROWS


def _trusted_admin(tmp_path: Path, admin_url: str, monkeypatch: pytest.MonkeyPatch) -> StepContext:
    """Connection ``admin``: the superuser URL, which the project config explicitly trusts."""
    monkeypatch.setenv("ADMIN_DB_URL", admin_url)
    (tmp_path / "pdca.toml").write_text('[connections.admin]\nurl = "env:ADMIN_DB_URL"\nallow_superuser = true\n'
                                        "allow_write = true\n", encoding="utf-8")
    return StepContext(process_id="sql-guard-admin", cycle=1, config=load_config(tmp_path / "pdca.toml"))


def test_dblink_and_server_files_stay_out_even_on_a_trusted_superuser_connection(
        pg_database: PgDatabases, finding_db: str, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the trial did as a superuser: dblink_exec deleted rows, pg_read_file put /etc/passwd in the trail."""
    if not finding_db.startswith("postgresql"):
        pytest.skip("dblink, server files and large objects are PostgreSQL's")
    with pg_database.connect(pg_database.empty) as admin:
        admin.execute("CREATE EXTENSION IF NOT EXISTS dblink")
    context = _trusted_admin(tmp_path, finding_db, monkeypatch)
    target = f"dbname={pg_database.empty} user={pg_database.user} host=127.0.0.1"
    for sql, function in ((f"SELECT dblink_exec('{target}', 'DELETE FROM finding')", "dblink_exec"),
                          ("SELECT pg_read_file('/etc/passwd') AS secret", "pg_read_file"),
                          ("SELECT lo_import('/etc/passwd') AS oid", "lo_import")):
        with pytest.raises(ValueError, match=rf"function {function} is not allowed"):
            query(context, connection="admin", sql=sql)
    assert _count(finding_db) == ROWS
    assert query(context, connection="admin", scalars={"n": "SELECT count(*) FROM finding"})["n"] == ROWS


def test_the_e_quote_literal_is_read_as_postgresql_reads_it(finding_db: str) -> None:
    """``E'\\''`` is one quote character: what runs is what was checked."""
    if not finding_db.startswith("postgresql"):
        pytest.skip("E'' strings are PostgreSQL's")
    outputs = query(CONTEXT, connection="quality", sql="SELECT E'\\'' AS q, 'a\\b' AS plain, count(*) AS n "
                                                      "FROM finding WHERE ward <> :ward", params={"ward": "A"})
    assert outputs["rows"] == [{"q": "'", "plain": "a\\b", "n": ROWS - 1}]


def test_a_superuser_connection_is_refused_unless_the_config_trusts_it(
        finding_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not finding_db.startswith("postgresql"):
        pytest.skip("SQLite has no roles")
    with pytest.raises(QueryError, match=r"connection 'admin': role '\w+' is a superuser: refused .*allow_superuser"):
        run_queries(finding_db, {"sql": "SELECT 1"}, {}, max_rows=10, timeout_seconds=5,
                    where="connection 'admin'")
    context = _trusted_admin(tmp_path, finding_db, monkeypatch)
    assert query(context, connection="admin", scalars={"n": "SELECT count(*) FROM finding"})["n"] == ROWS


def test_a_role_that_can_write_is_refused_with_the_reason(finding_db: str, request: pytest.FixtureRequest) -> None:
    if not finding_db.startswith("postgresql"):
        pytest.skip("SQLite has no roles")
    roles: Roles = request.getfixturevalue("pg_roles")
    writer = roles.url(roles.writer)
    with pytest.raises(QueryError, match=r"role 'pdca_writer_\w+' can write: INSERT, UPDATE, DELETE on "
                                         r"public\.finding.*allow_write = true"):
        run_queries(writer, {"sql": "SELECT 1"}, {}, max_rows=10, timeout_seconds=5, where="connection 'quality'")
    result = run_queries(writer, {"sql": "SELECT count(*) AS n FROM finding"}, {}, max_rows=10, timeout_seconds=5,
                         where="connection 'quality'", trust=Trust(write=True))
    assert result["sql"].rows == [{"n": ROWS}]


def test_schema_rights_and_server_file_roles_are_found_too(finding_db: str, request: pytest.FixtureRequest,
                                                          pg_database: PgDatabases) -> None:  # noqa: F811
    if not finding_db.startswith("postgresql"):
        pytest.skip("SQLite has no roles")
    roles: Roles = request.getfixturevalue("pg_roles")
    reader = roles.url(roles.reader)
    with pg_database.connect(pg_database.empty) as admin:  # the schema is made anew for the next test
        admin.execute(f'GRANT CREATE ON SCHEMA public TO "{roles.reader}"')
    with pytest.raises(QueryError, match=r"can write: CREATE on schema public\. "):
        run_queries(reader, {"sql": "SELECT 1"}, {}, max_rows=1, timeout_seconds=5, where="connection 'quality'")
    with pg_database.connect("test") as admin:
        admin.execute(f'GRANT pg_read_server_files TO "{roles.reader}"')
    try:
        with pytest.raises(QueryError, match=r"is a member of pg_read_server_files: refused"):
            run_queries(reader, {"sql": "SELECT 1"}, {}, max_rows=1, timeout_seconds=5, where="connection 'quality'",
                        trust=Trust(write=True))
    finally:
        with pg_database.connect("test") as admin:
            admin.execute(f'REVOKE pg_read_server_files FROM "{roles.reader}"')


def test_statement_timeout_is_pinned_on_postgresql(finding_db: str) -> None:
    if not finding_db.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's; SQLite's deadline is the next test")
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"statement timeout"):
        run_queries(finding_db, {"sql": "SELECT count(*) AS n FROM generate_series(1, 10000000000)"},
                    {}, max_rows=10, timeout_seconds=1, where="connection 'quality'", trust=Trust(superuser=True))
    assert time.monotonic() - started < 3


def test_sqlite_enforces_timeout_seconds(tmp_path: Path) -> None:
    """A recursive CTE that never ends is stopped at the deadline (it ran 87 s in the trial)."""
    url = f"sqlite:///{tmp_path / 'endless.db'}"
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c"
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"connection 'local', query 'sql': stopped after timeout_seconds=1 "):
        run_queries(url, {"sql": endless}, {}, max_rows=10, timeout_seconds=1, where="connection 'local'")
    assert time.monotonic() - started < 2.0
    with pytest.raises(QueryError, match=r"timeout_seconds must be above 0 and max_rows at least 0 \(got nan and 10\)"):
        run_queries(url, {"sql": "SELECT 1"}, {}, max_rows=10, timeout_seconds=float("nan"), where="connection 'l'")


TEN_MILLION = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000) "
              "SELECT x, 'a fairly long text on every row to make buffering show' AS pad FROM c",
    # in the select list, PostgreSQL makes the rows as they are fetched (in FROM it would make all 10 million first)
    "postgresql": "SELECT generate_series(1, 10000000) AS x, 'a fairly long text on every row to make buffering "
                  "show' AS pad",
}
_MEASURE = """
import json, resource, sys, time
from pdcaflow.tasks.data.sql_readonly import Trust, run_queries
url, sql = sys.argv[1], sys.argv[2]
run_queries(url, {"warm": "SELECT 1 AS x"}, {}, max_rows=1, timeout_seconds=60, where="c", trust=Trust(superuser=True))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
result = run_queries(url, {"sql": sql}, {}, max_rows=100, timeout_seconds=60, where="c", trust=Trust(superuser=True))
print(json.dumps({"seconds": time.monotonic() - started, "rows": len(result["sql"].rows),
                  "truncated": result["sql"].truncated,
                  "grown_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def test_ten_million_rows_with_max_rows_100_stream_in_bounded_memory(db_url: str) -> None:  # noqa: F811
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    child = subprocess.run([sys.executable, "-c", _MEASURE, db_url, TEN_MILLION[dialect]], cwd=REPO,
                           capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == 0, child.stderr
    measured = json.loads(child.stdout)
    print(f"{dialect}: {measured}")  # quoted in the closing note
    assert (measured["rows"], measured["truncated"]) == (100, True)
    assert measured["seconds"] < 5
    assert measured["grown_kib"] < 30 * 1024  # buffering 10 million rows would take well over 1 GB


BAD_LITERALS = {
    "dblink-exec": ("SELECT dblink_exec('dbname=test', 'DELETE FROM t')", "PDCA266"),
    "pg-read-file": ("SELECT pg_read_file('/etc/passwd')", "PDCA266"),
    "lo-import": ("SELECT lo_import('/etc/passwd')", "PDCA266"),
    "set-config": ("SELECT set_config('statement_timeout', '0', true)", "PDCA266"),
    "e-quote-trick": ("SELECT E'\\\\'' AS q; DELETE FROM t; --'", "PDCA265"),
    "cte-delete": ("WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone", "PDCA265"),
    "copy": ("COPY t TO '/tmp/x'", "PDCA265"),
    "does-not-parse": ("SELEC 1", "PDCA267"),
}
DEFINITION = """\
id: sql-guard
title: SQL guard
owner: lab
kpis:
  - id: n
    unit: rows
    target: {{min: 1}}
    source: count.n
steps:
  - id: count
    phase: check
    uses: {task}
    with:
      connection: quality
      scalars: {{n: "SELECT count(*) FROM t"}}
      sql: "{sql}"
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [count]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


QUALITY = '[connections]\nquality = "sqlite:///quality.db"\n'  # the connection DEFINITION names (PDCA264 otherwise)


@pytest.mark.parametrize("bad", list(BAD_LITERALS), ids=list(BAD_LITERALS))
def test_validate_refuses_a_bad_literal_query_at_its_line(tmp_path: Path, bad: str) -> None:
    sql, code = BAD_LITERALS[bad]
    (tmp_path / "pdca.toml").write_text(QUALITY, encoding="utf-8")
    path = tmp_path / "process.yaml"
    path.write_text(DEFINITION.format(task="data.query", sql=sql), encoding="utf-8")
    found = [(d.code, d.line, d.column) for d in validate_paths([path]).diagnostics]
    assert found == [(code, 16, 12)]


def test_validate_checks_data_assert_sql_too(tmp_path: Path) -> None:
    (tmp_path / "pdca.toml").write_text(QUALITY, encoding="utf-8")
    path = tmp_path / "process.yaml"
    text = DEFINITION.format(task="data.assert", sql="SELECT pg_read_file('/etc/passwd')")
    path.write_text(text.replace('scalars: {n: "SELECT count(*) FROM t"}', "checks: [{check: row_count, min: 1}]")
                    .replace("count.n", "count.pass_rate"), encoding="utf-8")
    problems = validate_paths([path]).diagnostics
    assert [(d.code, d.line, d.message) for d in problems] == [
        ("PDCA266", 16, "task 'data.assert': function pg_read_file is not allowed in a query")]
