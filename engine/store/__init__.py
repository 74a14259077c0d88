"""The audit store: SQLAlchemy tables, Alembic migrations, the hash-chained event log.

Modules: ``db`` (URL, engine, transactions, migrations on open), ``access`` and
``sqlite_url`` (opening it read-only for reviews), ``tables`` (the tables),
``audit`` (append to the event chain), ``verify`` and ``rowcheck`` (recompute it;
check the append-only tables against it), ``repository``, ``results`` and
``action_history`` (the engine's reads and writes, each write with its audit
event), ``migrate`` (Alembic, run from code), ``merkle``, ``note`` and ``attest``
(signed checkpoints). This package imports only itself and ``pdcaflow.engine.errors``;
see README.md beside this file for the transaction rules.
"""

from pdcaflow.engine.store.audit import append_correction, append_event
from pdcaflow.engine.store.db import Store, open_store, resolve_url
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.verify import ChainReport, Checkpoint, verify_chain

__all__ = ["ChainReport", "Checkpoint", "Store", "StoreError", "append_correction", "append_event", "open_store",
           "resolve_url", "verify_chain"]
