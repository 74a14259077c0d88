"""The audit store: SQLAlchemy models, Alembic migrations, the hash-chained event log.

Modules: ``db`` (URL, engine, transactions, migrations on open; read-only opening with ``sqlite_url``), ``models`` (the
tables), ``audit`` (append to the event chain), ``verify`` and ``rowcheck``
(recompute it; check the append-only tables against it), ``repository`` and
``results`` (the engine's reads and writes, each write with its audit event),
``migrate`` (Alembic, run from code). This package never imports ``prefect``,
``flows`` or ``tasks``; see README.md beside this file for the transaction rules.
"""

from pdcaflow.engine.store.audit import append_correction, append_event
from pdcaflow.engine.store.db import Store, open_store, resolve_url
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.verify import ChainReport, Checkpoint, verify_chain

__all__ = ["ChainReport", "Checkpoint", "Store", "StoreError", "append_correction", "append_event", "open_store",
           "resolve_url", "verify_chain"]
