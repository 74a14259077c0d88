"""The audit store: SQLAlchemy models, Alembic migrations, the hash-chained event log.

Modules: ``db`` (URL, engine, transactions, migrations on open), ``models`` (the
tables), ``audit`` (append and verify the event chain), ``repository`` and
``results`` (the engine's reads and writes, each write with its audit event),
``migrate`` (Alembic, run from code). This package never imports ``prefect``,
``flows`` or ``tasks``; see README.md beside this file for the transaction rules.
"""

from engine.store.audit import ChainReport, append_event, verify_chain
from engine.store.db import Store, open_store, resolve_url
from engine.store.errors import StoreError

__all__ = ["ChainReport", "Store", "StoreError", "append_event", "open_store", "resolve_url", "verify_chain"]
