"""Store fixtures: each test gets a fresh SQLite file *and* (as a second run) a clean PostgreSQL schema.

PostgreSQL is the one at 127.0.0.1:5432 (trust auth; see docs RECIPES). The session
creates a throwaway database ``pdca_test_<random>`` and drops it at the end; each
test starts from an empty ``public`` schema in it.
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from engine.store import Store, open_store

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


@pytest.fixture(scope="session")
def pg_database() -> Iterator[tuple[str, str]]:
    """(user, database): a throwaway PostgreSQL database for this test session."""
    user = _pg_admin_user()
    name = f"pdca_test_{secrets.token_hex(4)}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname="test", user=user, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Throwaway data: skip waiting for the WAL flush at each commit (the tests commit a lot).
        admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
    try:
        yield user, name
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname="test", user=user, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _reset_schema(user: str, database: str) -> None:
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=database, user=user, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")  # a leaked connection fails the test, not hangs it
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=DIALECTS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a new SQLite file, or the session's PostgreSQL database, emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pdca.db'}"
        return
    user, database = request.getfixturevalue("pg_database")
    _reset_schema(user, database)
    yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{database}"


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on ``db_url``."""
    opened = open_store(db_url)
    try:
        yield opened
    finally:
        opened.dispose()


def dialect_of(store: Store) -> str:
    return store.engine.dialect.name
