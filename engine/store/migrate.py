"""Run the store's Alembic migrations (shipped inside this package) from code.

``pdca`` upgrades the store to the newest schema every time it opens it, so a
user never runs ``alembic`` by hand. Developers writing the next migration can
use :func:`alembic_config` with ``alembic.command.revision(..., autogenerate=True)``
and then edit the result by hand (migrations are reviewed as written code).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from engine.store.errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any constant works; it only has to be the same in every pdca process.
_PG_MIGRATION_LOCK = 0x70646361


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations.

    Args:
        connection: when given, ``env.py`` migrates on it (inside its transaction)
            instead of opening its own.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    """Upgrade the database to the newest schema inside the connection's transaction.

    Concurrent first runs are safe: on SQLite the write transaction (BEGIN
    IMMEDIATE) already excludes other writers, on PostgreSQL a transaction-level
    advisory lock does; the second process then finds the schema current.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    current, head = current_revision(connection), head_revision()
    if current == head:
        return
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current is not None and current not in known:
        shown = connection.engine.url.render_as_string(hide_password=True)
        raise StoreError(f"the database {shown} has schema revision {current}, which this pdcaflow does not know "
                         f"(its newest is {head}): a newer pdcaflow wrote it; upgrade pdcaflow to use it")
    command.upgrade(alembic_config(connection), "head")
