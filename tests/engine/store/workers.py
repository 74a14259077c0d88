"""Code the concurrency tests run in separate OS processes (spawned: importable, no fixtures)."""

from __future__ import annotations

import os
import socket
from multiprocessing.synchronize import Barrier

from pdcaflow.engine.store import append_event, open_store
from pdcaflow.engine.store.repository import record_definition_version, start_cycle

PROCESS = "concurrent-process"


def append_events(url: str, actor: str, count: int, start: Barrier) -> None:
    """Wait for the other worker, then append ``count`` events, one transaction each."""
    store = open_store(url)
    try:
        start.wait(60)  # every worker has its store open: go together
        for index in range(count):
            with store.transaction() as session:
                append_event(session, kind="test.concurrent", actor=actor, process_id=PROCESS,
                             payload={"worker": actor, "index": index})
    finally:
        store.dispose()


def start_cycles(url: str, actor: str, count: int, start: Barrier) -> None:
    """Wait for the other worker, then record the same definition and start ``count`` cycles of one process."""
    store = open_store(url)
    try:
        start.wait(60)  # every worker has its store open: go together
        for _ in range(count):
            with store.transaction() as session:
                version = record_definition_version(session, PROCESS, "id: concurrent-process\n", "c" * 64, actor)
                start_cycle(session, PROCESS, version, "schedule", actor, socket.gethostname(), os.getpid())
    finally:
        store.dispose()
