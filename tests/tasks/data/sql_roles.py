"""PostgreSQL login roles for the data.query tests: a read-only one, a writer, made and dropped per session.

The test server trusts local connections (no password), so a role made here can log
in at once. Roles belong to the whole cluster: their names carry a random token and
they are dropped (with their grants, ``DROP OWNED``) when the session ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from psycopg import sql

from tests.engine.store.conftest import PG_HOST, PG_PORT, PgDatabases


@dataclass(frozen=True)
class Roles:
    """A role that may only read (``reader``) and one that may also write (``writer``), on ``database``."""

    databases: PgDatabases
    reader: str
    writer: str

    def url(self, role: str) -> str:
        return f"postgresql+psycopg://{role}@{PG_HOST}:{PG_PORT}/{self.databases.empty}"

    def grant(self, table: str) -> None:
        """Let the reader SELECT ``table`` and the writer SELECT/INSERT/UPDATE/DELETE it (after a schema reset)."""
        with self.databases.connect(self.databases.empty) as admin:
            for role in (self.reader, self.writer):
                admin.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), sql.Identifier(role)))
            admin.execute(sql.SQL("GRANT INSERT, UPDATE, DELETE ON {} TO {}").format(
                sql.Identifier(table), sql.Identifier(self.writer)))


@pytest.fixture(scope="session")
def pg_roles(pg_database: PgDatabases) -> Iterator[Roles]:
    token = secrets.token_hex(4)
    roles = Roles(pg_database, f"pdca_reader_{token}", f"pdca_writer_{token}")
    with pg_database.connect("test") as admin:
        for role in (roles.reader, roles.writer):
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield roles
    finally:
        for database in (pg_database.empty, "test"):
            with pg_database.connect(database) as admin:
                for role in (roles.reader, roles.writer):
                    admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with pg_database.connect("test") as admin:
            for role in (roles.reader, roles.writer):
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
