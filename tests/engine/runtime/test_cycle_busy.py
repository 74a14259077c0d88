"""A process whose cycle another live process is running: refused clearly, or waited for (`pdca run --wait`).

In-process and without Prefect: the running cycle is recorded as owned by this test's parent
process (alive, on this host), which is exactly what a second `pdca run` finds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.definition.compile import ExecutionPlan, compile_plan
from pdcaflow.engine.runtime.cycle import CycleBusyError, begin_cycle
from pdcaflow.engine.store import Store, open_store, verify_chain
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from pdcaflow.engine.store.repository import complete_cycle, record_definition_version, start_cycle
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES


@pytest.fixture()
def plan() -> ExecutionPlan:
    return compile_plan(validate_file(FIXTURES / "runnable" / "loop.yaml"))


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.dispose()


def _running_elsewhere(store: Store, plan: ExecutionPlan) -> Cycle:
    with store.transaction() as session:
        version = record_definition_version(session, plan.process_id, plan.yaml_text, plan.sha256, "other")
        return start_cycle(session, plan.process_id, version, "manual", "other", socket.gethostname(), os.getppid(),
                           reason="their run")


def test_a_busy_process_is_refused_with_who_and_how_to_wait(store: Store, plan: ExecutionPlan) -> None:
    _running_elsewhere(store, plan)
    with pytest.raises(CycleBusyError, match=(
            rf"^cycle 1 of 'visit-loop' is running in process {os.getppid()} on {socket.gethostname()} \(started "
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by other\); wait for it \(pdca run --wait SECONDS\) or stop it$")):
        begin_cycle(plan, store, registry(), actor="me", reason="mine")
    with store.read() as session:  # nothing of the refused run was recorded
        kinds = list(session.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)))
    assert kinds == ["definition.version", "cycle.started"]


def test_waiting_starts_the_next_cycle_once_the_other_completes(store: Store, plan: ExecutionPlan) -> None:
    theirs = _running_elsewhere(store, plan)

    def finish_theirs() -> None:
        time.sleep(0.8)
        with store.transaction() as session:
            complete_cycle(session, theirs, {"cycle": 1, "params": {"visits": 5, "base": 3.6}}, "other")

    finisher = threading.Thread(target=finish_theirs)
    started = time.monotonic()
    finisher.start()
    try:
        mine = begin_cycle(plan, store, registry(), actor="me", reason="mine", wait=30)
    finally:
        finisher.join()
    assert time.monotonic() - started >= 0.8
    assert (mine.number, mine.params["visits"]) == (2, 5)  # after theirs, from their carry-over
    with store.read() as session:
        started_event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "cycle.started")
                                        .order_by(AuditEvent.seq.desc())).first()
        assert verify_chain(session).ok
    assert (started_event.actor, started_event.reason) == ("me", "mine")
    assert started_event.payload["plan"] == {"params": {"visits": 5, "base": 3.6},
                                             "targets": {"satisfaction": {"min": 4.2, "max": None}},
                                             "carried_from_cycle": 1}


def test_waiting_gives_up_after_the_limit(store: Store, plan: ExecutionPlan) -> None:
    _running_elsewhere(store, plan)
    started = time.monotonic()
    with pytest.raises(CycleBusyError, match=r"by other\); it was still running after waiting 1 s$"):
        begin_cycle(plan, store, registry(), actor="me", reason="mine", wait=1)
    assert 1 <= time.monotonic() - started < 5
