"""Store fixtures: each test gets a fresh SQLite file *and* (as a second run) a clean PostgreSQL schema.

PostgreSQL is the one at 127.0.0.1:5432 (trust auth). The session creates two
throwaway databases, ``pdca_test_<random>`` (emptied for each migration test) and
``pdca_test_<random>_migrated`` (migrated once, its rows wiped for each store
test), and drops both at the end.
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pdcaflow.engine.store import Store, open_store
from pdcaflow.engine.store.tables import GENESIS_HASH, Base

PG_HOST = "127.0.0.1"
PG_PORT = 5432
DIALECTS = ("sqlite", "postgresql")


def _pg_admin_user() -> str:
    """The first role that can connect to database ``test``: the OS user, else ``postgres``."""
    problems = []
    for user in dict.fromkeys((getpass.getuser(), "postgres")):
        try:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname="test", user=user, connect_timeout=5):
                return user
        except psycopg.OperationalError as exc:
            problems.append(f"{user}: {str(exc).strip().splitlines()[0]}")
    pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} (database test) is not usable ({'; '.join(problems)}); "
                "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")


@dataclass(frozen=True)
class PgDatabases:
    """The session's two throwaway PostgreSQL databases."""

    user: str
    empty: str  # emptied (schema dropped) before each test that asks for ``db_url``
    migrated: str  # migrated once; its rows are wiped before each test that asks for ``store``

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{PG_HOST}:{PG_PORT}/{database}"

    def connect(self, database: str, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=database, user=self.user, autocommit=autocommit)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgDatabases]:
    """Two throwaway databases ``pdca_test_<random>[_migrated]`` for this test session, dropped at its end."""
    token = secrets.token_hex(4)
    databases = PgDatabases(_pg_admin_user(), f"pdca_test_{token}", f"pdca_test_{token}_migrated")
    names = (databases.empty, databases.migrated)
    with databases.connect("test") as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            # Throwaway data: skip waiting for the WAL flush at each commit (the tests commit a lot).
            admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
    open_store(databases.url(databases.migrated)).dispose()
    try:
        yield databases
    finally:
        with databases.connect("test") as admin:
            for name in names:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _empty_schema(databases: PgDatabases) -> None:
    with databases.connect(databases.empty) as connection:
        connection.execute("SET lock_timeout = '10s'")  # a leaked connection fails the test, not hangs it
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def _wipe_rows(databases: PgDatabases) -> None:
    """Back to a just-migrated state, much faster than migrating again (triggers off for this transaction)."""
    tables = ", ".join(table for table in Base.metadata.tables if table != "audit_head")
    with databases.connect(databases.migrated, autocommit=False) as connection:
        connection.execute("SET LOCAL lock_timeout = '10s'")
        connection.execute("SET LOCAL session_replication_role = replica")
        connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # noqa: S608 - our own table names
        connection.execute("UPDATE audit_head SET seq = 0, hash = %s WHERE id = 1", (GENESIS_HASH,))


# db_url and pg_database are also imported by tests/engine/conftest.py: they may only
# depend on each other and on pytest's own fixtures.
@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database (no tables): a new SQLite file, or the session's emptied PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pdca.db'}"
    databases: PgDatabases = request.getfixturevalue("pg_database")
    _empty_schema(databases)
    return databases.url(databases.empty)


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with no rows: a new SQLite file, or the session's migrated PostgreSQL database, wiped."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pdca.db'}"
    else:
        databases: PgDatabases = request.getfixturevalue("pg_database")
        _wipe_rows(databases)
        url = databases.url(databases.migrated)
    opened = open_store(url)
    try:
        yield opened
    finally:
        opened.dispose()


def dialect_of(store: Store) -> str:
    return store.engine.dialect.name
