"""Open the audit store: pick its URL, create the engine, migrate, and hand out transactions.

Transactions are the caller's: ``with store.transaction() as session:`` commits
when the block ends and rolls back if it raises. Store functions only ``flush``.

SQLite (the default, one file under ``.pdca/``) runs in WAL mode so readers never
block the writer, and every write transaction starts with ``BEGIN IMMEDIATE``:
a second writer queues on the file lock (for up to ``busy_timeout``) instead of
failing half-way through a transaction with "database is locked". PostgreSQL
(``postgresql+psycopg://``) serialises writers on the ``audit_head`` row
(see ``engine.store.audit``), with ``lock_timeout`` set to the same limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.store.audit import stored_json
from engine.store.errors import StoreError
from engine.store.migrate import SCHEMA_HEAD, current_revision, upgrade_to_head
from engine.store.models import APPEND_ONLY_MODELS

ENV_VAR = "PDCA_DATABASE_URL"
DEFAULT_BUSY_TIMEOUT = 30.0
_READ_ONLY = "pdca_read_only"


def resolve_url(explicit: str | None, cwd: Path) -> str:
    """The store's URL: ``--db``, else ``$PDCA_DATABASE_URL``, else ``sqlite:///<cwd>/.pdca/pdca.db``.

    Args:
        explicit: the ``--db`` option, or ``None``.
        cwd: the working directory the default SQLite file lives under
            (``.pdca/`` is created when the default is used).
    """
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    folder = cwd.resolve() / ".pdca"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'pdca.db'}"


def display_url(url: str | URL) -> str:
    """The URL as it may be shown to a user: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


@dataclass
class Store:
    """An opened, migrated audit store.

    Attributes:
        url: the SQLAlchemy URL as given (it may hold a password: never print it; use ``display_url``).
        display_url: the URL without its password, for messages.
        engine: the SQLAlchemy engine.
        busy_timeout: seconds a writer waits for another writer before giving up.
    """

    url: str
    display_url: str
    engine: Engine
    busy_timeout: float
    _sessions: sessionmaker[Session] = field(repr=False)
    _read_sessions: sessionmaker[Session] = field(repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commit when the block ends, roll back when it raises.

        Raises:
            StoreError: the database is unreachable, stayed locked longer than
                ``busy_timeout``, or refused a write (constraint, append-only trigger).
        """
        with self._session(self._sessions) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never takes SQLite's write lock); nothing it does is committed.

        Objects loaded in it stay readable (detached) after the block.
        """
        with self._session(self._read_sessions, commit=False) as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (call before the process forks or exits)."""
        self.engine.dispose()

    @contextmanager
    def _session(self, factory: sessionmaker[Session], commit: bool = True) -> Iterator[Session]:
        session = factory()
        try:
            session.begin()
            yield session
            if commit:
                session.commit()
            # A read ends in close(): it rolls the database transaction back but, unlike
            # rollback(), leaves the loaded objects readable after the block.
        except SQLAlchemyError as exc:
            session.rollback()
            raise store_error(exc, self.display_url, self.busy_timeout) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def open_store(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, migrate: bool = True,
               reading: bool = False) -> Store:
    """Connect to the store at ``url`` and upgrade its schema to the newest migration.

    Args:
        url: any SQLAlchemy URL; ``postgresql://`` means ``postgresql+psycopg://``.
        busy_timeout: seconds a writer waits for another writer's lock before failing.
        migrate: run the Alembic migrations (``upgrade head``); tests of the
            migrations themselves turn this off.
        reading: the caller only reads (review commands, ``pdca status``): look at the
            schema's revision in a read transaction first and take the write lock only
            when a migration is due, so a review never queues behind a running cycle.

    Raises:
        StoreError: the URL is malformed, the database cannot be reached, or it
            stayed locked longer than ``busy_timeout`` while migrating.
    """
    shown = display_url(url)
    try:
        parsed = _with_driver(make_url(url))
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {shown} (expected e.g. sqlite:///path/pdca.db "
                         f"or postgresql+psycopg://user@host/db)") from exc
    engine = _create_engine(parsed, busy_timeout)
    sessions = _session_factory(engine)
    store = Store(url=url, display_url=shown, engine=engine, busy_timeout=busy_timeout, _sessions=sessions,
                  _read_sessions=_session_factory(engine.execution_options(**{_READ_ONLY: True})))
    if migrate and reading and _schema_is_current(engine, shown, busy_timeout):
        return store
    if migrate:
        try:
            with engine.begin() as connection:
                upgrade_to_head(connection)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise store_error(exc, shown, busy_timeout, opening=True) from exc
        except BaseException:
            engine.dispose()
            raise
    return store


def _schema_is_current(engine: Engine, shown: str, busy_timeout: float) -> bool:
    try:
        with engine.connect().execution_options(**{_READ_ONLY: True}) as connection, connection.begin():
            return current_revision(connection) == SCHEMA_HEAD
    except SQLAlchemyError as exc:
        engine.dispose()
        raise store_error(exc, shown, busy_timeout, opening=True) from exc


def store_error(exc: SQLAlchemyError, url: str, busy_timeout: float, *, opening: bool = False) -> StoreError:
    """Turn a SQLAlchemy/driver exception into one readable line naming the database."""
    detail = _first_line(exc)
    if _is_lock_timeout(exc):
        return StoreError(f"the database {url} is locked by another writer and stayed locked for more than "
                          f"{busy_timeout:g} s; try again when the other pdca process has finished ({detail})")
    if isinstance(exc, OperationalError) and (opening or exc.connection_invalidated):
        return StoreError(f"cannot open the database {url}: {detail}")
    if isinstance(exc, IntegrityError):
        return StoreError(f"the database {url} refused a write that breaks one of its rules: {detail}")
    return StoreError(f"database error on {url}: {detail}")


def _first_line(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def _is_lock_timeout(exc: SQLAlchemyError) -> bool:
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(original)


def _with_driver(url: URL) -> URL:
    # A bare postgresql:// would mean psycopg2, which pdcaflow does not install.
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def _create_engine(url: URL, busy_timeout: float) -> Engine:
    # JSON columns are written in the canonical form the chain hashes, so verify need not re-encode them.
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout}, json_serializer=stored_json)
        _prepare_sqlite(engine, busy_timeout)
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10},
                               json_serializer=stored_json)
        _prepare_postgresql(engine, busy_timeout)
    else:
        engine = create_engine(url, json_serializer=stored_json)
    return engine


def _prepare_sqlite(engine: Engine, busy_timeout: float) -> None:
    """SQLAlchemy's documented pysqlite recipe: SQLAlchemy emits BEGIN itself (here IMMEDIATE)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop sqlite3 from emitting its own (deferred) BEGIN; our "begin" hook does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # synchronous stays FULL (the default): an audit record survives a power cut once committed.
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front so two writers queue rather than deadlock on upgrade.
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _prepare_postgresql(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
        dbapi_connection.commit()


def _session_factory(bind: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=bind, expire_on_commit=False, autobegin=False)
    event.listen(factory, "before_flush", _refuse_append_only_changes)
    return factory


def _refuse_append_only_changes(session: Session, _context: Any, _instances: Any) -> None:
    """The ORM half of "nothing is edited in place" (PostgreSQL's trigger is the other)."""
    for instance in session.deleted:
        if isinstance(instance, APPEND_ONLY_MODELS):
            raise StoreError(f"audit rows are append-only: refusing to delete a row of {type(instance).__tablename__}")
    for instance in session.dirty:
        if isinstance(instance, APPEND_ONLY_MODELS) and session.is_modified(instance):
            raise StoreError(f"audit rows are append-only: refusing to change a row of {type(instance).__tablename__}")
