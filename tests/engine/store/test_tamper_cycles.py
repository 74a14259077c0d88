"""Editing the cycle, step_run and carry_over tables behind the API (issue 13, finding 4).

Seeded events (tests/engine/store/seed.py): 1 definition.version, 2 cycle.started (cycle row 1),
3-4 step.completed (step_run rows 1 know_customers, 2 check_feedback), 5-6 kpi.result,
7-8 decision, 9 action.opened, 10 carry_over, 11 cycle.completed.

PostgreSQL refuses these edits (migration 0004's triggers); the edits that bypass them do
it as a superuser could (``session_replication_role = replica``), so both dialects show
what ``verify`` reports when the database itself did not stop the edit.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from pdcaflow.engine.store import ChainReport, Store, StoreError, verify_chain
from tests.engine.store.conftest import dialect_of
from tests.engine.store.seed import PROCESS, behind_the_api, carry_over, run_cycle

FORGED_PARAMS = {**carry_over(1), "params": {"visits_per_month": {"A": 4, "B": 30, "C": 1}}}


@pytest.fixture()
def seeded(store: Store) -> Store:
    run_cycle(store)
    return store


def _verify(store: Store) -> ChainReport:
    with store.read() as session:
        return verify_chain(session)


def _json(store: Store, value: object) -> str:
    quoted = json.dumps(value).replace("'", "''")
    return f"CAST('{quoted}' AS json)" if dialect_of(store) == "postgresql" else f"'{quoted}'"


def test_forged_carry_over_params_are_reported_naming_the_row(seeded: Store) -> None:
    behind_the_api(seeded, f"UPDATE carry_over SET payload = {_json(seeded, FORGED_PARAMS)} WHERE cycle_id = 1")
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 11, 10)
    assert report.what_differs == (
        f"carry_over row 1 ({PROCESS} cycle 1, event seq 10) was changed: params is "
        "{'visits_per_month': {'A': 4, 'B': 30, 'C': 1}} in the row, "
        "{'visits_per_month': {'A': 4, 'B': 3, 'C': 1}} in the event")


def test_forged_carry_over_params_are_reported_with_a_checkpoint_too(seeded: Store) -> None:
    from pdcaflow.engine.store import Checkpoint

    head = _verify(seeded)
    behind_the_api(seeded, f"UPDATE carry_over SET payload = {_json(seeded, FORGED_PARAMS)} WHERE cycle_id = 1")
    with seeded.read() as session:
        report = verify_chain(session, checkpoints=[Checkpoint(head.count, head.head_hash)])
    assert (report.ok, report.checkpoints, report.first_bad_seq) == (False, 1, 10)
    assert report.what_differs is not None and report.what_differs.startswith("carry_over row 1 (")


def test_a_deleted_carry_over_is_reported(seeded: Store) -> None:
    behind_the_api(seeded, "DELETE FROM carry_over")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 10)
    assert report.what_differs == f"carry_over row of {PROCESS} cycle 1 (event seq 10) is missing: deleted behind the API"


def test_an_edited_step_output_is_reported(seeded: Store) -> None:
    behind_the_api(seeded, f"UPDATE step_run SET output = {_json(seeded, {'satisfaction_mean': 4.9})} WHERE id = 2")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.what_differs == ("step_run row 2 (event seq 4) was changed: output is {'satisfaction_mean': 4.9} "
                                   "in the row, {'satisfaction_mean': 4.0} in the event")


@pytest.mark.parametrize("statement, seq, what", [
    ("UPDATE step_run SET status = 'failed' WHERE id = 1", 3, "status is 'failed' in the row, 'completed' in the event"),
    ("UPDATE step_run SET attempts = 9 WHERE id = 1", 3, "attempts is 9 in the row, 1 in the event"),
    ("UPDATE step_run SET step_id = 'other' WHERE id = 1", 3, "step is 'other' in the row, 'know_customers'"),
    ("UPDATE step_run SET error = 'boom' WHERE id = 2", 4, "error is 'boom' in the row, None in the event"),
    ("DELETE FROM step_run WHERE id = 2", 4, "step_run row 2 (event seq 4) is missing: deleted behind the API"),
])
def test_step_run_edits_are_reported(seeded: Store, statement: str, seq: int, what: str) -> None:
    behind_the_api(seeded, statement)
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, seq)
    assert report.what_differs is not None and what in report.what_differs


@pytest.mark.parametrize("statement, seq, what", [
    ("UPDATE cycle SET status = 'failed' WHERE id = 1", 11,
     f"cycle row 1 ({PROCESS} cycle 1, event seq 11) was changed: status is 'failed' in the row, 'completed' in "
     "the event"),
    ("UPDATE cycle SET trigger = 'schedule' WHERE id = 1", 2, "trigger is 'schedule' in the row, 'manual' in the event"),
    ("UPDATE cycle SET actor = 'mallory' WHERE id = 1", 2, "actor is 'mallory' in the row, 'alice' in the event"),
    ("UPDATE cycle SET owner_pid = 1 WHERE id = 1", 2, "owner_pid is 1 in the row, 4242 in the event"),
    ("UPDATE cycle SET error = 'boom' WHERE id = 1", 11, "error is 'boom' in the row, None in the event"),
    ("UPDATE cycle SET number = 7 WHERE id = 1", 2,
     f"cycle row of {PROCESS} cycle 1 (event seq 2) is missing: deleted behind the API"),
])
def test_cycle_edits_are_reported(seeded: Store, statement: str, seq: int, what: str) -> None:
    behind_the_api(seeded, statement)
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, seq)
    assert report.what_differs is not None and what in report.what_differs


def test_a_cycle_row_added_behind_the_api_has_no_event(seeded: Store) -> None:
    behind_the_api(seeded, "INSERT INTO cycle (id, process_id, number, definition_version_id, status, trigger, actor, "
                           "started_at, owner_host, owner_pid) VALUES (2, :process, 2, 1, 'completed', 'manual', "
                           "'mallory', '2026-01-01 00:00:00', 'h', 1)", process=PROCESS)
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, None)
    assert report.what_differs == f"cycle row 2 ({PROCESS} cycle 2) has no event: written behind the API"


def test_a_running_then_resumed_and_failed_cycle_verifies(store: Store) -> None:
    """The cycle's status columns follow its lifecycle events: started, failed, resumed, completed."""
    from pdcaflow.engine.store.tables import Cycle
    from pdcaflow.engine.store.repository import fail_cycle, mark_cycle_resumed

    cycle = run_cycle(store)
    with store.transaction() as session:
        version_id = session.get(Cycle, cycle.id).definition_version_id
        from pdcaflow.engine.store.tables import DefinitionVersion
        from pdcaflow.engine.store.repository import start_cycle

        second = start_cycle(session, PROCESS, session.get(DefinitionVersion, version_id), "manual", "bob", "h", 7)
    with store.transaction() as session:
        fail_cycle(session, second, "step x failed", "bob")
    assert _verify(store).ok
    with store.transaction() as session:
        mark_cycle_resumed(session, second, "carol", "h2", 8, reason="again")
    assert _verify(store).ok
    behind_the_api(store, "UPDATE cycle SET owner_host = 'elsewhere' WHERE id = 2")
    report = _verify(store)
    assert report.what_differs is not None
    assert "cycle row 2 (retail-customer-service cycle 2, event seq 14) was changed: owner_host is 'elsewhere' in " \
           "the row, 'h2' in the event" in report.what_differs


@pytest.mark.parametrize("statement", [
    "UPDATE carry_over SET payload = CAST('{}' AS json)",
    "DELETE FROM carry_over",
    "TRUNCATE carry_over",
    "UPDATE step_run SET output = CAST('{}' AS json) WHERE id = 2",
    "UPDATE step_run SET status = 'failed'",
    "DELETE FROM step_run",
    "UPDATE cycle SET status = 'failed' WHERE id = 1",
    "UPDATE cycle SET number = 5",
    "UPDATE cycle SET actor = 'mallory'",
    "DELETE FROM cycle",
])
def test_postgresql_refuses_edits_of_the_cycle_tables(seeded: Store, statement: str) -> None:
    if dialect_of(seeded) != "postgresql":
        return  # SQLite has no such triggers: verify finds these edits (the tests above)
    with pytest.raises(StoreError, match=r"refused"):
        with seeded.transaction() as session:
            session.execute(text(statement))
    assert _verify(seeded).ok


def test_postgresql_lets_a_running_cycle_move_on(store: Store) -> None:
    """The cycle trigger guards the columns that never change and a completed cycle; the API's moves pass."""
    from pdcaflow.engine.store.tables import Cycle

    cycle = run_cycle(store)  # started, then completed through the API
    with store.read() as session:
        assert session.get(Cycle, cycle.id).status == "completed"
    if dialect_of(store) == "postgresql":
        with pytest.raises(StoreError, match=r"cycle rows: .* refused"):
            with store.transaction() as session:
                session.execute(text("UPDATE cycle SET flow_run_id = 'x' WHERE id = 1"))


def test_many_processes_are_merged_in_the_same_order_on_both_sides(store: Store) -> None:
    """Rows and events are joined on (process, number): names that collations order differently still match."""
    from pdcaflow.engine.store.repository import complete_cycle, record_definition_version, start_cycle

    names = ["b-x", "B_y", "a", "a b", "é", "Z", "b_x"]
    for number in (1, 2):
        for name in names:
            with store.transaction() as session:
                version = record_definition_version(session, name, "id: x\n", "0" * 64, "alice")
                cycle = start_cycle(session, name, version, "manual", "alice", "h", 1)
                complete_cycle(session, cycle, {"cycle": number, "params": {"n": number}}, "alice")
    assert _verify(store).ok
    behind_the_api(store, "UPDATE cycle SET status = 'running' WHERE process_id = 'é' AND number = 2")
    report = _verify(store)
    assert report.what_differs is not None
    assert report.what_differs.startswith("cycle row 12 (é cycle 2, event seq ")
