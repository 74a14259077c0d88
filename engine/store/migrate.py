"""Run the store's Alembic migrations (shipped inside this package) from code.

The writing commands (``pdca run``, ``approve``, ``actions update`` ...) upgrade the store
to the newest schema when they open it, and so does ``pdca db upgrade``; the review
commands never do (they open stores read-only). A user never runs ``alembic`` by hand.
Developers writing the next migration can use :func:`alembic_config` with ``alembic.command.revision(..., autogenerate=True)``
and then edit the result by hand (migrations are reviewed as written code).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from pdcaflow.engine.store.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0004"
"""The newest migration's revision (a test keeps it equal to Alembic's head). Opening a store that
is already there reads one row and never imports Alembic: `pdca audit log` answers sooner."""

# Any constant works; it only has to be the same in every pdca process.
_PG_MIGRATION_LOCK = 0x70646361


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations.

    Args:
        connection: when given, ``env.py`` migrates on it (inside its transaction)
            instead of opening its own.
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision id, as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the packaged migrations (else a newer pdcaflow wrote the store)."""
    from alembic.script import ScriptDirectory

    return revision in {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return versions[0] if len(versions) == 1 else None


def upgrade_to_head(connection: Connection) -> None:
    """Upgrade the database to the newest schema inside the connection's transaction.

    Concurrent first runs are safe: on SQLite the write transaction (BEGIN
    IMMEDIATE) already excludes other writers, on PostgreSQL a transaction-level
    advisory lock does; the second process then finds the schema current.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    current = current_revision(connection)
    if current == SCHEMA_HEAD:
        return
    from alembic import command

    head = head_revision()
    if current is not None and not is_known_revision(current):
        shown = connection.engine.url.render_as_string(hide_password=True)
        raise StoreError(f"the database {shown} has schema revision {current}, which this pdcaflow does not know "
                         f"(its newest is {head}): a newer pdcaflow wrote it; upgrade pdcaflow to use it")
    command.upgrade(alembic_config(connection), "head")
