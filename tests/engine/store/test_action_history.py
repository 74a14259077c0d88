"""Actions' history on SQLite and PostgreSQL: changes are rows, never edits; the current state is the latest;
an edit behind the API is refused (PostgreSQL trigger, ORM guard) or named by ``verify_chain`` (the row check).

Seeded (tests/engine/store/seed.py): one cycle whose ACT opened ``<process>#1/more_visits`` for
service-manager, due 2026-12-06 (event 9, action row 1).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from pdcaflow.engine.store import Store, StoreError, verify_chain
from pdcaflow.engine.store.action_history import (
    ActionStateError,
    action_history,
    list_actions,
    record_action_update,
    record_act_updates,
)
from pdcaflow.engine.store.audit import append_event
from pdcaflow.engine.store.tables import Action, ActionUpdate, AuditEvent, Cycle
from pdcaflow.engine.store.repository import open_actions
from tests.engine.store.conftest import dialect_of
from tests.engine.store.seed import PROCESS, behind_the_api, run_cycle

KEY = f"{PROCESS}#1/more_visits"


@pytest.fixture()
def seeded(store: Store) -> Store:
    run_cycle(store)
    return store


def test_each_change_is_a_row_and_an_event_and_the_latest_is_current(seeded: Store) -> None:
    with seeded.transaction() as session:
        record_action_update(session, KEY, "alice", "taking it on", status="in_progress", owner="team-lead")
    with seeded.transaction() as session:
        record_action_update(session, KEY, "bob", "routes re-planned", status="done")
    with seeded.read() as session:
        state, history = action_history(session, KEY)
        row = session.scalars(select(Action)).one()
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.kind == "action.status")
                                      .order_by(AuditEvent.seq)))
        assert verify_chain(session).ok
        assert [a["id"] for a in list_actions(session, process_id=PROCESS, statuses=("done",))] == [KEY]
        assert list_actions(session, owner="service-manager") == []
        assert open_actions(session, PROCESS) == []
    assert (row.status, row.owner) == ("open", "service-manager")  # the row keeps what it was opened with
    assert (state["status"], state["owner"], state["due"], state["done_after_cycle"]) == (
        "done", "team-lead", "2026-12-06", 1)
    assert [(h["actor"], h["reason"], h["status"], h["owner"]) for h in history] == [
        ("alice", "taking it on", ["open", "in_progress"], ["service-manager", "team-lead"]),
        ("bob", "routes re-planned", ["in_progress", "done"], ["team-lead", "team-lead"])]
    assert [(e.actor, e.reason, e.payload["from"], e.payload["to"]) for e in events] == [
        ("alice", "taking it on", "open", "in_progress"), ("bob", "routes re-planned", "in_progress", "done")]


def test_act_verdicts_and_the_moves_people_may_not_make(seeded: Store) -> None:
    with seeded.transaction() as session:
        record_action_update(session, KEY, "bob", "done", status="done")
    with pytest.raises(ActionStateError, match=r"is done: a person may set it to in_progress, not cancelled$"):
        with seeded.transaction() as session:
            record_action_update(session, KEY, "bob", "never mind", status="cancelled")
    with seeded.transaction() as session:
        cycle = session.scalars(select(Cycle)).one()
        record_act_updates(session, cycle, [
            {"id": KEY, "change": "ineffective", "status": "ineffective", "reason": "satisfaction 4.0 < min 4.2"},
            {"id": KEY, "change": "escalated", "status": "open", "owner": "director", "due": "2026-12-20",
             "reason": "reopened and escalated"}], "scheduler")
    with pytest.raises(ActionStateError, match=r"needs a reason$"):
        with seeded.transaction() as session:
            record_action_update(session, KEY, "bob", " ", status="done")
    with seeded.read() as session:
        state, history = action_history(session, KEY)
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.kind == "action.status")))
    assert (state["status"], state["owner"], state["due"]) == ("open", "director", "2026-12-20")
    assert [(h["source"], h["after_cycle"]) for h in history] == [("person", 1), ("act", 1), ("act", 1)]
    assert [e.cycle_number for e in events] == [None, 1, 1]
    assert events[1].payload["details"] == {"change": "ineffective"}
    with seeded.transaction() as session:
        record_action_update(session, KEY, "dana", "verified by hand is not a thing", source="act",
                             status="verified")
    with pytest.raises(ActionStateError, match=r"is verified: a verified action cannot change$"):
        with seeded.transaction() as session:
            record_action_update(session, KEY, "dana", "reopen", owner="someone")


def test_the_orm_refuses_to_edit_an_action_or_its_history(seeded: Store) -> None:
    with seeded.transaction() as session:
        record_action_update(session, KEY, "alice", "taking it on", status="in_progress")
    for model in (Action, ActionUpdate):
        with pytest.raises(StoreError, match=rf"append-only: refusing to change a row of {model.__tablename__}"):
            with seeded.transaction() as session:
                session.scalars(select(model)).first().owner = "mallory"  # type: ignore[union-attr]


def test_postgresql_refuses_edits_behind_the_api(seeded: Store) -> None:
    if dialect_of(seeded) != "postgresql":
        pytest.skip("SQLite has no trigger: the row check below finds such edits")
    with seeded.transaction() as session:
        record_action_update(session, KEY, "alice", "taking it on", status="in_progress")
    for statement in ("UPDATE action SET owner = 'mallory'", "DELETE FROM action_update"):
        with pytest.raises(DBAPIError, match=r"audit rows are append-only"):
            with seeded.engine.begin() as connection:
                connection.execute(text(statement))


@pytest.mark.parametrize(("statement", "what"), [
    ("UPDATE action_update SET status = 'verified' WHERE id = 1", "to is 'verified' in the row, 'done'"),
    ("UPDATE action_update SET owner = 'mallory' WHERE id = 1", "'to': 'mallory'"),
    ("UPDATE action SET title = 'something else' WHERE id = 1", "title is 'something else' in the row"),
    ("UPDATE action SET due = '2030-01-01' WHERE id = 1", "due is '2030-01-01' in the row, '2026-12-06'"),
])
def test_an_edit_behind_the_api_is_named_by_verify(seeded: Store, statement: str, what: str) -> None:
    with seeded.transaction() as session:
        record_action_update(session, KEY, "bob", "routes re-planned", status="done")
    behind_the_api(seeded, statement)
    with seeded.read() as session:
        report = verify_chain(session)
    assert not report.ok and report.what_differs is not None
    assert " was changed: " in report.what_differs and what in report.what_differs


def test_a_history_row_without_its_event_is_named(seeded: Store) -> None:
    behind_the_api(seeded, "INSERT INTO action_update (action_id, at, actor, source, reason, after_cycle, "
                           "from_status, status, from_owner, owner, from_due, due, details) VALUES (1, "
                           "'2026-12-01 00:00:00', 'mallory', 'person', 'x', 1, 'open', 'verified', 'a', 'a', "
                           "'2026-12-06', '2026-12-06', '{}')")
    with seeded.read() as session:
        report = verify_chain(session)
    assert not report.ok and "action_update row 1 has no event: written behind the API" in str(report.what_differs)


def test_actions_recorded_before_revision_0003_still_verify(seeded: Store) -> None:
    """The old writer: an action.opened event naming no row, a status edited in place with its action.status."""
    old = f"{PROCESS}#1/old_style"
    with seeded.transaction() as session:
        session.add(Action(action_key=old, process_id=PROCESS, opened_cycle=1, policy_id="old_style", kpi_id=None,
                           title="Old", owner="o", due=date(2026, 12, 1), status="open", verify_after=None,
                           details={}))
        session.flush()
        append_event(session, kind="action.opened", actor="a", process_id=PROCESS, cycle_number=1,
                     payload={"id": old, "title": "Old", "owner": "o", "due": "2026-12-01", "status": "open"})
        append_event(session, kind="action.status", actor="a", process_id=PROCESS, reason="fixed",
                     payload={"action_key": old, "from": "open", "to": "in_progress", "details": {}})
    behind_the_api(seeded, f"UPDATE action SET status = 'in_progress' WHERE action_key = '{old}'")
    with seeded.transaction() as session:  # the new API carries on from the row's status
        record_action_update(session, old, "bob", "done now", status="done")
    with seeded.read() as session:
        report = verify_chain(session)
        state, _history = action_history(session, old)
    assert report.ok, report
    assert state["status"] == "done"
    behind_the_api(seeded, "UPDATE action SET title = 'edited' WHERE id = 1")  # the new-style action is still checked
    with seeded.read() as session:
        assert "title is 'edited' in the row" in str(verify_chain(session).what_differs)
