"""Alembic environment for the audit store.

Online mode migrates on the connection ``pdcaflow.engine.store.migrate`` passes in
``config.attributes["connection"]`` (inside the caller's transaction), or opens
one from ``sqlalchemy.url``. Offline mode (``alembic upgrade head --sql``) prints
the SQL for review.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from pdcaflow.engine.store.tables import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "set sqlalchemy.url or pass a connection in config.attributes"
    engine = create_engine(url)
    try:
        with engine.begin() as own_connection:
            _configure(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
