"""A cycle starts only from rows that match their events; a forged status cannot wedge a process (issue 13, 4).

In-process and without Prefect (begin_cycle, then the cycle completed through its API),
plus one `pdca run` per dialect to see what an operator sees. Edits are made as an
intruder with database access would (PostgreSQL's triggers switched off for them).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.definition.compile import ExecutionPlan, compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.store import Store, open_store, verify_chain
from pdcaflow.engine.store.lifecycle import RecordMismatchError
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES, run_pdca
from tests.engine.store.seed import behind_the_api


@pytest.fixture()
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.dispose()


def _plan(name: str = "runnable/loop.yaml") -> ExecutionPlan:
    return compile_plan(validate_file(FIXTURES / name))


def _one_completed_cycle(store: Store, plan: ExecutionPlan) -> None:
    run = begin_cycle(plan, store, registry(), actor="alice", reason="first")
    run.complete()


def _json(store: Store, value: object) -> str:
    quoted = json.dumps(value).replace("'", "''")
    return f"CAST('{quoted}' AS json)" if store.engine.dialect.name == "postgresql" else f"'{quoted}'"


def _events(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _forge_params(store: Store, plan: ExecutionPlan) -> None:
    with store.read() as session:
        payload = session.scalars(select(AuditEvent.payload).where(AuditEvent.kind == "carry_over")).one()
    payload["params"]["visits"] = 6
    behind_the_api(store, f"UPDATE carry_over SET payload = {_json(store, payload)} WHERE cycle_id = 1")


def test_the_next_cycle_starts_from_the_carry_over_its_event_vouches_for(store: Store) -> None:
    plan = _plan()
    _one_completed_cycle(store, plan)
    run = begin_cycle(plan, store, registry(), actor="bob", reason="second")
    assert (run.number, run.params) == (2, {"visits": 1, "base": 3.6})


def test_forged_carry_over_params_are_refused_naming_the_row(store: Store) -> None:
    plan = _plan()
    _one_completed_cycle(store, plan)
    _forge_params(store, plan)
    before = _events(store)
    with pytest.raises(RecordMismatchError, match=(
            r"^carry_over row 1 \(visit-loop cycle 1, event seq 3\) was changed: params is \{'base': 3\.6, "
            r"'visits': 6\} in the row, \{'base': 3\.6, 'visits': 1\} in the event; no cycle was started\. Run "
            r"pdca audit verify, then have a database administrator restore the row as its event records it$")):
        begin_cycle(plan, store, registry(), actor="bob", reason="second")
    assert _events(store) == before  # nothing of the refused run was recorded


def test_a_deleted_carry_over_is_refused(store: Store) -> None:
    plan = _plan()
    _one_completed_cycle(store, plan)
    behind_the_api(store, "DELETE FROM carry_over")
    with pytest.raises(RecordMismatchError, match=r"^carry_over row of visit-loop cycle 1 \(event seq 3\) is "
                                                  r"missing: deleted behind the API; no cycle was started\. Run"):
        begin_cycle(plan, store, registry(), actor="bob", reason="second")


def _forge_status(store: Store) -> None:
    behind_the_api(store, "UPDATE cycle SET status = 'failed' WHERE id = 1")


def test_a_forged_status_is_refused_with_what_to_do_and_does_not_wedge(store: Store) -> None:
    plan = _plan()
    _one_completed_cycle(store, plan)
    _forge_status(store)
    before = _events(store)
    message = (r"^cycle row 1 \(visit-loop cycle 1, event seq 4\) was changed: status is 'failed' in the row, "
               r"'completed' in the event; no cycle was started\. Run pdca audit verify, then have a database "
               r"administrator restore the row as its event records it$")
    for _ in range(2):  # the same clear refusal each time, nothing recorded, no constraint crash
        with pytest.raises(RecordMismatchError, match=message):
            begin_cycle(plan, store, registry(), actor="bob", reason="second")
    assert _events(store) == before
    behind_the_api(store, "UPDATE cycle SET status = 'completed' WHERE id = 1")  # what the administrator does
    run = begin_cycle(plan, store, registry(), actor="bob", reason="second")
    run.complete()
    assert run.number == 2
    with store.read() as session:
        assert [row.status for row in session.scalars(select(Cycle).order_by(Cycle.id))] == ["completed"] * 2


def test_a_forged_completed_status_on_an_earlier_cycle_is_refused(store: Store) -> None:
    """Not only the latest cycle: an earlier one's status decides which KPI results are history."""
    plan = _plan()
    _one_completed_cycle(store, plan)
    _one_completed_cycle(store, plan)
    _forge_status(store)
    with pytest.raises(RecordMismatchError, match=r"^cycle row 1 \(visit-loop cycle 1, event seq 4\) was changed"):
        begin_cycle(plan, store, registry(), actor="bob", reason="third")


def test_pdca_run_refuses_a_forged_status_with_exit_1_and_what_to_do(store: Store, tmp_path: Path) -> None:
    plan = _plan("valid/minimal.yaml")
    _one_completed_cycle(store, plan)
    _forge_status(store)
    url = store.engine.url.render_as_string(hide_password=False)
    result = run_pdca("run", str(FIXTURES / "valid/minimal.yaml"), "--db", url, "--reason", "next", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "error: cycle row 1 (minimal cycle 1, event seq 4) was changed: status is 'failed' in the row, " \
           "'completed' in the event; no cycle was started. Run pdca audit verify" in " ".join(result.stderr.split())


def test_pdca_audit_verify_names_a_forged_status(store: Store, tmp_path: Path) -> None:
    plan = _plan("valid/minimal.yaml")
    _one_completed_cycle(store, plan)
    _forge_status(store)
    url = store.engine.url.render_as_string(hide_password=False)
    result = run_pdca("audit", "verify", "--db", url, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cycle row 1 (minimal cycle 1, event seq 4) was changed: status is 'failed' in the row, 'completed' " \
           "in the event" in " ".join((result.stdout + result.stderr).split())


def test_a_forged_owner_is_left_to_verify(store: Store) -> None:
    """Owner host and pid only decide whether a cycle looks busy; verify reports them, begin_cycle goes on."""
    plan = _plan()
    _one_completed_cycle(store, plan)
    behind_the_api(store, "UPDATE cycle SET owner_host = 'another-host' WHERE id = 1")
    assert begin_cycle(plan, store, registry(), actor="bob", reason="second").number == 2
    with store.read() as session:
        report = verify_chain(session)
    assert report.what_differs == ("cycle row 1 (visit-loop cycle 1, event seq 2) was changed: owner_host is "
                                   f"'another-host' in the row, {socket.gethostname()!r} in the event")
