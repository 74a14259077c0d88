"""Open the audit store: pick its URL, create the engine, migrate, and hand out transactions.

Transactions are the caller's: ``with store.transaction() as session:`` commits
when the block ends and rolls back if it raises. Store functions only ``flush``.

SQLite (the default, one file under ``.pdca/``) runs in WAL mode so readers never
block the writer, and every write transaction starts with ``BEGIN IMMEDIATE``:
a second writer queues on the file lock (for up to ``busy_timeout``) instead of
failing half-way through a transaction with "database is locked". PostgreSQL
(``postgresql+psycopg://``) serialises writers on the ``audit_head`` row
(see ``pdcaflow.engine.store.audit``), with ``lock_timeout`` set to the same limit.

A store opened with ``read_only=True`` (the review commands, ``pdca status``) never writes:
SQLite opens the file with ``mode=ro`` (``immutable=1`` only when that alone can open it, see
``pdcaflow.engine.store.sqlite_url``) and never changes its journal mode; PostgreSQL sessions run with
``default_transaction_read_only``. It is never migrated: a schema that is not this pdcaflow's
newest is a :class:`SchemaRevisionError` naming ``pdca db upgrade``.
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

from pdcaflow.engine.store.audit import stored_json
from pdcaflow.engine.store.errors import SchemaRevisionError, StoreError
from pdcaflow.engine.store.migrate import SCHEMA_HEAD, current_revision, is_known_revision, upgrade_to_head
from pdcaflow.engine.store.tables import APPEND_ONLY_MODELS
from pdcaflow.engine.store.sqlite_url import read_only_url
from pdcaflow.tasks.sdk.project_root import default_store

ENV_VAR = "PDCA_DATABASE_URL"
DEFAULT_BUSY_TIMEOUT = 30.0
_READ_ONLY = "pdca_read_only"


def resolve_url(explicit: str | None, root: Path) -> str:
    """The store's URL: ``--db``, else ``$PDCA_DATABASE_URL``, else ``sqlite:///<root>/.pdca/pdca.db``.

    Args:
        explicit: the ``--db`` option, or ``None``.
        root: the project root the default SQLite file lives under (``pdcaflow.tasks.sdk.project_root``:
            ``definition_root`` for a run, ``folder_root`` for a command without a definition);
            ``.pdca/`` is created when the default is used.
    """
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env
    database = default_store(root.resolve())
    database.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{database}"


def display_url(url: str | URL) -> str:
    """The URL as it may be shown to a user: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


@dataclass
class Store:
    """An opened audit store (migrated, unless opened read-only or with ``migrate=False``).

    Attributes:
        url: the SQLAlchemy URL as given (it may hold a password: never print it; use ``display_url``).
        display_url: the URL without its password, for messages.
        engine: the SQLAlchemy engine.
        busy_timeout: seconds a writer waits for another writer before giving up.
        read_only: opened for review: the database refuses every write on its connections.
    """

    url: str
    display_url: str
    engine: Engine
    busy_timeout: float
    read_only: bool
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

    def revision(self) -> str | None:
        """The schema revision the database is at (``None``: no pdcaflow schema), read without any lock."""
        try:
            with self.engine.connect().execution_options(**{_READ_ONLY: True}) as connection, connection.begin():
                return current_revision(connection)
        except SQLAlchemyError as exc:
            raise store_error(exc, self.display_url, self.busy_timeout, opening=True) from exc

    def upgrade(self) -> None:
        """Migrate the schema to this pdcaflow's newest, under the write lock (nothing to do when it is there).

        Raises:
            StoreError: the store is from a newer pdcaflow, read-only, unreachable, or stayed locked.
        """
        try:
            with self.engine.begin() as connection:
                upgrade_to_head(connection)
        except SQLAlchemyError as exc:
            raise store_error(exc, self.display_url, self.busy_timeout, opening=True) from exc

    def require_current_schema(self) -> None:
        """Raise :class:`SchemaRevisionError` unless the schema is this pdcaflow's newest (never migrates)."""
        current = self.revision()
        if current != SCHEMA_HEAD:
            raise SchemaRevisionError(self.display_url, current, SCHEMA_HEAD,
                                      newer=current is not None and not is_known_revision(current))

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
               read_only: bool = False) -> Store:
    """Connect to the store at ``url`` and upgrade its schema to the newest migration (or, read-only, check it).

    Args:
        url: any SQLAlchemy URL; ``postgresql://`` means ``postgresql+psycopg://``.
        busy_timeout: seconds a writer waits for another writer's lock before failing.
        migrate: run the Alembic migrations (``upgrade head``), or with ``read_only`` check the
            schema is the newest; off: neither (tests of the migrations, ``pdca db``).
        read_only: the caller only reads (review commands, ``pdca status``): the store is
            opened read-only (see the module's docstring), never migrated, never waits for
            a running cycle's write lock.

    Raises:
        StoreError: the URL is malformed, the database cannot be reached, or it
            stayed locked longer than ``busy_timeout`` while migrating.
        SchemaRevisionError: read-only, and the schema is older or newer than this pdcaflow's.
    """
    shown = display_url(url)
    try:
        parsed = _with_driver(make_url(url))
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {shown} (expected e.g. sqlite:///path/pdca.db "
                         f"or postgresql+psycopg://user@host/db)") from exc
    if read_only:
        parsed = read_only_url(parsed)
    engine = _create_engine(parsed, busy_timeout, read_only)
    sessions = _session_factory(engine)
    store = Store(url=url, display_url=shown, engine=engine, busy_timeout=busy_timeout, read_only=read_only,
                  _sessions=sessions,
                  _read_sessions=_session_factory(engine.execution_options(**{_READ_ONLY: True})))
    if not migrate:
        return store
    try:
        if read_only:
            store.require_current_schema()
        else:
            store.upgrade()
    except BaseException:
        engine.dispose()
        raise
    return store


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


def _create_engine(url: URL, busy_timeout: float, read_only: bool) -> Engine:
    # JSON columns are written in the canonical form the chain hashes, so verify need not re-encode them.
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout}, json_serializer=stored_json)
        _prepare_sqlite(engine, busy_timeout, read_only)
    elif url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10},
                               json_serializer=stored_json)
        _prepare_postgresql(engine, busy_timeout, read_only)
    else:
        engine = create_engine(url, json_serializer=stored_json)
    return engine


def _prepare_sqlite(engine: Engine, busy_timeout: float, read_only: bool) -> None:
    """SQLAlchemy's documented pysqlite recipe: SQLAlchemy emits BEGIN itself (here IMMEDIATE)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop sqlite3 from emitting its own (deferred) BEGIN; our "begin" hook does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Only settings of this connection: the journal mode is the one setting stored in the file.
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # synchronous stays FULL (the default): an audit record survives a power cut once committed.
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front so two writers queue rather than deadlock on upgrade.
        reads = read_only or connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")


def _prepare_postgresql(engine: Engine, busy_timeout: float, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(busy_timeout * 1000)}")
            if read_only:  # this session only: every transaction on it is READ ONLY
                cursor.execute("SET default_transaction_read_only = on")
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
