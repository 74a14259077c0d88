"""The engine's reads and writes: each row with its audit event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from pdcaflow.engine.store import Store, StoreError, verify_chain
from pdcaflow.engine.store.audit import utc_now
from pdcaflow.engine.store.tables import AuditEvent, Cycle, DefinitionVersion, StepRun
from pdcaflow.engine.store.repository import (
    complete_cycle,
    completed_steps,
    fail_cycle,
    kpi_history,
    latest_carry_over,
    latest_cycle,
    mark_cycle_resumed,
    open_actions,
    record_definition_version,
    record_step,
    start_cycle,
    update_action_status,
)
from tests.engine.store.seed import PROCESS, SHA, YAML, carry_over, run_cycle


def _kinds(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)))


def _new_cycle(store: Store, process_id: str = PROCESS) -> Cycle:
    with store.transaction() as session:
        version = record_definition_version(session, process_id, YAML, SHA, "alice")
        return start_cycle(session, process_id, version, "manual", "alice", "host-a", 1)


def test_a_definition_version_is_stored_once_per_process_and_sha(store: Store) -> None:
    with store.transaction() as session:
        first = record_definition_version(session, PROCESS, YAML, SHA, "alice")
        again = record_definition_version(session, PROCESS, YAML, SHA, "bob")
        changed = record_definition_version(session, PROCESS, YAML + "# v2\n", "b" * 64, "alice")
        other_process = record_definition_version(session, "other", YAML, SHA, "alice")
    assert again.id == first.id
    assert len({first.id, changed.id, other_process.id}) == 3
    assert first.first_seen_at.tzinfo is not None
    with store.read() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert session.scalar(select(func.count()).select_from(DefinitionVersion)) == 3
    assert [(event.kind, event.actor, event.process_id) for event in events] == [
        ("definition.version", "alice", PROCESS), ("definition.version", "alice", PROCESS),
        ("definition.version", "alice", "other")]
    assert events[0].payload == {"definition_version_id": first.id, "sha256": SHA, "yaml_text": YAML,
                                 "first_seen_at": first.first_seen_at.isoformat(timespec="microseconds")}


def test_cycles_are_numbered_per_process(store: Store) -> None:
    numbers = [_new_cycle(store).number for _ in range(3)] + [_new_cycle(store, "other").number]
    assert numbers == [1, 2, 3, 1]
    with store.read() as session:
        latest = latest_cycle(session, PROCESS)
        assert latest is not None and (latest.number, latest.status, latest.trigger) == (3, "running", "manual")
        assert latest_cycle(session, "never-ran") is None


def test_an_unknown_trigger_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match=r"^unknown cycle trigger 'cron'; expected one of manual, schedule, resume$"):
        with store.transaction() as session:
            version = record_definition_version(session, PROCESS, YAML, SHA, "alice")
            start_cycle(session, PROCESS, version, "cron", "alice", "host-a", 1)


def test_failed_attempts_accumulate_but_a_step_completes_once(store: Store) -> None:
    cycle = _new_cycle(store)
    now = utc_now()
    with store.transaction() as session:
        record_step(session, cycle, "forecast", "failed", 1, now, now, None, "ValueError: no data", "alice")
        record_step(session, cycle, "forecast", "failed", 2, now, now, None, "ValueError: no data", "alice")
        record_step(session, cycle, "forecast", "completed", 3, now, now, {"forecast": [1.5, 2.5]}, None, "alice")
        record_step(session, cycle, "approve", "skipped", 0, None, None, None, None, "alice")
    with pytest.raises(StoreError, match=r"^step forecast of cycle retail-customer-service#1 is already recorded as "
                                         r"completed; a resumed cycle must skip completed steps$"):
        with store.transaction() as session:
            record_step(session, cycle, "forecast", "completed", 1, now, now, {"forecast": []}, None, "alice")
    with store.read() as session:
        assert completed_steps(session, cycle) == {"forecast": {"forecast": [1.5, 2.5]}}
        statuses = session.scalars(select(StepRun.status).where(StepRun.step_id == "forecast").order_by(StepRun.id))
        assert list(statuses) == ["failed", "failed", "completed"]
    assert _kinds(store)[2:] == ["step.failed", "step.failed", "step.completed", "step.skipped"]


def test_the_partial_unique_index_backs_the_one_completed_row_rule(store: Store) -> None:
    cycle = _new_cycle(store)
    with pytest.raises(StoreError, match=r"refused a write that breaks one of its rules: .*(UNIQUE|unique)"):
        with store.transaction() as session:
            for _ in range(2):  # behind record_step's check, straight through the ORM
                session.add(StepRun(cycle_id=cycle.id, step_id="s", status="completed", attempts=1))
            session.flush()


def test_an_unknown_step_status_is_refused(store: Store) -> None:
    cycle = _new_cycle(store)
    with pytest.raises(StoreError, match=r"^unknown step status 'done'; expected one of completed, failed, skipped$"):
        with store.transaction() as session:
            record_step(session, cycle, "s", "done", 1, None, None, None, None, "alice")


def test_a_naive_datetime_is_refused(store: Store) -> None:
    cycle = _new_cycle(store)
    with pytest.raises(StoreError, match=r"naive datetime 2026-01-01T00:00:00 given to the audit store"):
        with store.transaction() as session:
            record_step(session, cycle, "s", "completed", 1, datetime(2026, 1, 1), None, None, None, "alice")


def test_the_happy_path_through_complete_cycle(store: Store) -> None:
    cycle = run_cycle(store, satisfaction=4.0)
    assert _kinds(store) == ["definition.version", "cycle.started", "step.completed", "step.completed",
                             "kpi.result", "kpi.result", "decision", "decision", "action.opened", "carry_over",
                             "cycle.completed"]
    with store.read() as session:
        assert verify_chain(session).ok
        done = latest_cycle(session, PROCESS)
        assert done is not None and (done.number, done.status) == (1, "completed")
        assert done.finished_at is not None and done.finished_at >= done.started_at
        assert latest_carry_over(session, PROCESS) == carry_over(1)
        events = {event.kind: event for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))}
        actions = open_actions(session, PROCESS)
    kpi_event = events["kpi.result"]  # the second one: complaint_resolution_p90 (no data)
    assert (kpi_event.cycle_number, kpi_event.payload["kpi"], kpi_event.payload["status"]) == (1, "complaint_resolution_p90", "no_data")
    assert events["decision"].reason == "met 0 of the last 3 cycles"
    assert events["cycle.started"].reason == "monthly review"
    assert events["cycle.completed"].payload["steps"] == {"completed": 2}
    assert events["cycle.completed"].payload["kpis"] == {"missed": 1, "no_data": 1}
    assert [(a.action_key, a.status, a.due.isoformat(), a.opened_cycle) for a in actions] == [
        (f"{PROCESS}#1/more_visits", "open", "2026-12-06", cycle.number)]


def test_kpi_history_holds_completed_cycles_oldest_first(store: Store) -> None:
    run_cycle(store, satisfaction=4.0)
    run_cycle(store, satisfaction=4.4)
    _new_cycle(store)  # running: not history yet
    with store.read() as session:
        history = kpi_history(session, PROCESS, limit=10)
        last_only = kpi_history(session, PROCESS, limit=1)
        assert kpi_history(session, "never-ran", limit=10) == {}
    satisfaction = history["satisfaction"]
    assert [(r["cycle"], r["actual"], r["status"], r["target"]) for r in satisfaction] == [
        (1, 4.0, "missed", {"min": 4.2, "max": None}), (2, 4.4, "met", {"min": 4.2, "max": None})]
    assert satisfaction[0]["signals"] == [] and satisfaction[0]["unit"] == "score(1-5)"
    assert [r["cycle"] for r in last_only["satisfaction"]] == [2]


def test_a_failed_cycle_has_no_carry_over_and_can_be_resumed(store: Store) -> None:
    run_cycle(store)
    cycle = _new_cycle(store)
    now = utc_now()
    with store.transaction() as session:
        record_step(session, cycle, "know_customers", "completed", 1, now, now, {"customers": 3}, None, "alice")
    with store.transaction() as session:
        record_step(session, cycle, "forecast", "failed", 3, now, now, None, "RuntimeError: boom", "alice")
        fail_cycle(session, cycle, "step forecast failed after 3 attempts", "alice")
    with store.read() as session:
        assert latest_carry_over(session, PROCESS) == carry_over(1)  # still cycle 1's
    with store.transaction() as session:
        resumed = mark_cycle_resumed(session, cycle, "bob", "host-b", 77, reason="data fixed")
        assert (resumed.status, resumed.owner_host, resumed.error) == ("running", "host-b", None)
        assert completed_steps(session, resumed) == {"know_customers": {"customers": 3}}
        complete_cycle(session, resumed, carry_over(resumed.number), "bob")
    with pytest.raises(StoreError, match=r"^cycle retail-customer-service#2 is completed, not running; "):
        with store.transaction() as session:
            complete_cycle(session, cycle, carry_over(2), "bob")
    with pytest.raises(StoreError, match=r"^cycle retail-customer-service#2 is completed and cannot be resumed$"):
        with store.transaction() as session:
            mark_cycle_resumed(session, cycle, "bob", "host-b", 77)
    kinds = _kinds(store)
    assert kinds[-6:] == ["step.completed", "step.failed", "cycle.failed", "cycle.resumed", "carry_over",
                          "cycle.completed"]
    with store.read() as session:
        assert latest_carry_over(session, PROCESS) == carry_over(2)
        assert verify_chain(session).ok


def test_an_action_moves_through_its_statuses_with_events(store: Store) -> None:
    run_cycle(store)
    key = f"{PROCESS}#1/more_visits"
    with store.transaction() as session:
        update_action_status(session, key, "done", "service-manager", reason="visits added",
                             details={"done_on": "2026-12-01"})
    with store.read() as session:
        assert open_actions(session, PROCESS) == []
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (event.kind, event.reason, event.payload["from"], event.payload["to"]) == (
        "action.status", "visits added", "open", "done")
    with pytest.raises(StoreError, match=r"^unknown action status 'closed'; expected one of open, in_progress"):
        with store.transaction() as session:
            update_action_status(session, key, "closed", "alice")
    with pytest.raises(StoreError, match=r"^no action nope#1/x$"):
        with store.transaction() as session:
            update_action_status(session, "nope#1/x", "done", "alice")
