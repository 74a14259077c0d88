"""Two OS processes writing to one store at once: gapless sequence, one valid chain, distinct cycle numbers."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from collections.abc import Callable

from sqlalchemy import select

from pdcaflow.engine.store import Store, append_event, verify_chain
from pdcaflow.engine.store.tables import AuditEvent, Cycle, DefinitionVersion
from tests.engine.store import workers

EVENTS_PER_WORKER = 50
CYCLES_PER_WORKER = 10


def _run_two(target: Callable[..., None], db_url: str, count: int) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    processes = [context.Process(target=target, args=(db_url, f"worker-{n}", count, start)) for n in (1, 2)]
    for process in processes:
        process.start()
    start.wait(120)  # returns when both workers have opened the store
    for process in processes:
        process.join(timeout=180)
    assert [process.exitcode for process in processes] == [0, 0]


def test_two_processes_append_one_gapless_valid_chain(store: Store) -> None:
    _run_two(workers.append_events, store.url, EVENTS_PER_WORKER)
    with store.read() as session:
        report = verify_chain(session)
        rows = session.execute(select(AuditEvent.seq, AuditEvent.actor).order_by(AuditEvent.seq)).all()
    assert (report.ok, report.count, report.first_bad_seq) == (True, 2 * EVENTS_PER_WORKER, None)
    assert [seq for seq, _ in rows] == list(range(1, 2 * EVENTS_PER_WORKER + 1))
    assert Counter(actor for _, actor in rows) == {"worker-1": EVENTS_PER_WORKER, "worker-2": EVENTS_PER_WORKER}


def test_two_processes_starting_cycles_get_distinct_numbers(store: Store) -> None:
    _run_two(workers.start_cycles, store.url, CYCLES_PER_WORKER)
    with store.read() as session:
        numbers = sorted(session.scalars(select(Cycle.number).where(Cycle.process_id == workers.PROCESS)))
        versions = session.scalars(select(DefinitionVersion.id)).all()
        report = verify_chain(session)
    assert numbers == list(range(1, 2 * CYCLES_PER_WORKER + 1))
    assert len(versions) == 1  # both recorded the same YAML: stored once
    assert report.ok and report.count == 1 + 2 * CYCLES_PER_WORKER


def test_threads_of_one_process_share_the_store_safely(store: Store) -> None:
    """Prefect runs independent steps on a thread pool; each records in its own transaction."""

    def record(worker: int) -> None:
        for index in range(10):
            with store.transaction() as session:
                append_event(session, kind="test.thread", actor=f"thread-{worker}", process_id="p",
                             payload={"index": index})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(record, range(4)))
    with store.read() as session:
        report = verify_chain(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert report.ok and seqs == list(range(1, 41))
