"""Opening the store for review (read-only, never migrated), and the one error every review command reports
as bad input."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.store.db import ENV_VAR, Store, display_url, open_store, resolve_url
from pdcaflow.engine.store.errors import SchemaRevisionError
from pdcaflow.engine.store.sqlite_url import sqlite_file
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from pdcaflow.tasks.sdk.project_root import default_store, folder_root, no_store_found


class ReviewError(PdcaError):
    """A review command was asked for something that is not there (exit 2): an unknown process,
    cycle or version, a bad date, a missing export folder, a corrupt manifest."""


def store_url(explicit: str | None, folder: Path | None = None) -> str:
    """The store's URL as ``pdca run`` resolves it, refusing a SQLite file that does not exist.

    Without ``--db`` or ``$PDCA_DATABASE_URL`` the store is the one of the project root found from
    ``folder`` (default: the working folder; ``pdcaflow.tasks.sdk.project_root.folder_root``).
    Reviewing must not create an empty store where the user expected theirs.

    Raises:
        ReviewError: the default (or a given) SQLite file does not exist.
    """
    root = folder_root(folder)
    if not explicit and not os.environ.get(ENV_VAR, "").strip():
        default = default_store(root)
        if not default.is_file():
            raise ReviewError(f"{no_store_found(folder)}. Name the store with --db URL or ${ENV_VAR}, or run "
                              "this in your project's folder (where `pdca run` keeps it)")
    url = resolve_url(explicit, root)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # open_store reports a malformed URL in its own words
    path = sqlite_file(parsed)  # a plain path or a SQLite URI (sqlite:///file:...?mode=ro&uri=true)
    if path is not None and not path.is_file():
        raise ReviewError(f"no audit store at {path}: the SQLite file does not exist")
    return url


@contextmanager
def opened(db: str | None, *, reading: bool = False) -> Iterator[Store]:
    """The store at ``--db`` (or the usual default; never a new one, see :func:`store_url`), closed after the block.

    Commands that change something by hand (actions, overrides, approvals) take their own
    transactions on it (and upgrade its schema first, as ``pdca run`` does); ``reading=True`` opens
    it read-only: nothing is written, not even a migration, and no cycle's write lock is awaited.

    Raises:
        ReviewError: no such store, or (reading) its schema is older or newer than this pdcaflow's.
    """
    try:
        store = open_store(store_url(db), read_only=reading)
    except SchemaRevisionError as exc:
        upgrade = "pdca db upgrade" + (f" --db {display_url(db)}" if db else "")
        raise ReviewError(exc.explain(upgrade)) from exc
    try:
        yield store
    finally:
        store.dispose()


@contextmanager
def reading(db: str | None) -> Iterator[tuple[Store, Session]]:
    """Open the store at ``--db`` (or the usual default) and give one read transaction on it."""
    with opened(db, reading=True) as store, store.read() as session:
        yield store, session


def processes(session: Session) -> list[str]:
    """Every process with a cycle or an event, sorted."""
    from_cycles = set(session.scalars(select(Cycle.process_id).distinct()))
    from_events = set(session.scalars(select(AuditEvent.process_id).distinct())) if not from_cycles else set()
    return sorted(from_cycles | from_events)


def require_process(session: Session, process_id: str) -> None:
    """Raise a :class:`ReviewError` naming the known processes unless ``process_id`` has events."""
    found = session.scalar(select(AuditEvent.seq).where(AuditEvent.process_id == process_id).limit(1))
    if found is None:
        known = processes(session)
        raise ReviewError(f"no process '{process_id}' in this store; "
                          + (f"it has: {', '.join(known)}" if known else "it has no events yet"))


def require_cycle(session: Session, process_id: str, number: int) -> Cycle:
    """The cycle ``number`` of ``process_id``, or a :class:`ReviewError` naming the cycles there are."""
    require_process(session, process_id)
    cycle = session.scalars(select(Cycle).where(Cycle.process_id == process_id, Cycle.number == number)).first()
    if cycle is None:
        numbers = list(session.scalars(select(Cycle.number).where(Cycle.process_id == process_id)
                                       .order_by(Cycle.number)))
        have = f"cycles {numbers[0]}-{numbers[-1]}" if numbers else "no cycles"
        raise ReviewError(f"process '{process_id}' has no cycle {number} ({have})")
    return cycle
