"""Editing the record behind the API: PostgreSQL refuses it, verify_chain names the first broken event.

The seeded cycle writes 11 events: 1 definition.version, 2 cycle.started,
3-4 step.completed, 5-6 kpi.result, 7-8 decision, 9 action.opened, 10 carry_over,
11 cycle.completed. The edits below bypass PostgreSQL's trigger the way a
superuser could (``session_replication_role = replica``), so both dialects show
what ``verify`` reports when the database itself did not stop the edit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from pdcaflow.engine.store import ChainReport, Store, StoreError, verify_chain
from pdcaflow.engine.store.audit import HASHED_FIELDS, event_hash
from pdcaflow.engine.store.tables import AuditEvent
from tests.engine.store.conftest import dialect_of
from tests.engine.store.seed import behind_the_api as _behind_the_api, run_cycle

EDITED_SEQ = 4  # step.completed of check_feedback


@pytest.fixture()
def seeded(store: Store) -> Store:
    run_cycle(store)
    assert _verify(store) == ChainReport(True, 11, _verify(store).head_hash)  # rows included
    return store


def _verify(store: Store) -> ChainReport:
    with store.read() as session:
        return verify_chain(session)


def _json_param(store: Store) -> str:
    return "CAST(:value AS json)" if dialect_of(store) == "postgresql" else ":value"


def _edited_payload(store: Store) -> str:
    with store.read() as session:
        payload = session.scalars(select(AuditEvent.payload).where(AuditEvent.seq == EDITED_SEQ)).one()
    payload["output"]["satisfaction_mean"] = 4.9  # the number a reviewer would care about
    return json.dumps(payload)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'mallory' WHERE seq = 4",
    "DELETE FROM audit_event WHERE seq = 11",
    "TRUNCATE audit_event",
    "UPDATE decision SET reason = 'looked fine'",
    "DELETE FROM decision",
    "UPDATE kpi_result SET actual = 4.9 WHERE kpi_id = 'satisfaction'",
    "DELETE FROM kpi_result",
    "UPDATE definition_version SET yaml_text = 'id: other'",
    "DELETE FROM definition_version",
])
def test_postgresql_refuses_updates_and_deletes_of_audit_rows(seeded: Store, statement: str) -> None:
    if dialect_of(seeded) != "postgresql":
        return  # SQLite cannot refuse; the tests below show verify catching each kind of edit
    operation = statement.split()[0]
    table = statement.split()[2] if operation == "DELETE" else statement.split()[1]
    with pytest.raises(StoreError, match=rf"audit rows are append-only: {operation} on {table} refused"):
        with seeded.transaction() as session:
            session.execute(text(statement))
    assert _verify(seeded).ok


@pytest.mark.parametrize("column, value", [
    ("at", "2001-01-01 00:00:00.000000"),
    ("actor", "mallory"),
    ("kind", "step.skipped"),
    ("process_id", "another-process"),
    ("cycle_number", 99),
    ("step_id", "another_step"),
    ("payload", None),  # filled in by the test: the same payload with one number changed
    ("reason", "because I said so"),
])
def test_editing_any_column_is_reported_at_that_event(seeded: Store, column: str, value: Any) -> None:
    placeholder = _json_param(seeded) if column == "payload" else ":value"
    value = _edited_payload(seeded) if column == "payload" else value
    _behind_the_api(seeded, f"UPDATE audit_event SET {column} = {placeholder} WHERE seq = :seq", value=value,
                    seq=EDITED_SEQ)
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, EDITED_SEQ - 1, EDITED_SEQ)
    assert report.what_differs == "hash mismatch: a field or the payload was changed after the event was written"


def test_editing_the_hash_column_is_named_as_such(seeded: Store) -> None:
    _behind_the_api(seeded, "UPDATE audit_event SET hash = :value WHERE seq = 4", value="f" * 64)
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 3, 4)
    assert report.what_differs == ("hash mismatch: the hash column of seq 4 was changed (its content still matches "
                                   "the prev_hash of seq 5)")


def test_a_payload_reformatted_without_changing_its_value_still_verifies(seeded: Store) -> None:
    """Stores written before JSON was stored canonically: verify re-encodes and still matches."""
    with seeded.read() as session:
        payload = session.scalars(select(AuditEvent.payload).where(AuditEvent.seq == EDITED_SEQ)).one()
    loose = json.dumps(payload, indent=2)  # spaces, newlines, another key order: the same JSON value
    _behind_the_api(seeded, f"UPDATE audit_event SET payload = {_json_param(seeded)} WHERE seq = 4", value=loose)
    assert _verify(seeded).ok


def test_a_value_the_store_cannot_read_is_reported_at_its_event(seeded: Store) -> None:
    if dialect_of(seeded) != "sqlite":
        return  # PostgreSQL's typed columns refuse such values even with the trigger off
    _behind_the_api(seeded, "UPDATE audit_event SET at = 'last tuesday' WHERE seq = 4")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.what_differs == "unreadable event: its time 'last tuesday' is not a datetime"
    _behind_the_api(seeded, "UPDATE audit_event SET at = '2026-01-01 00:00:00.000000', payload = '{oops' "
                            "WHERE seq = 4")
    assert _verify(seeded).what_differs == "unreadable event: its payload is not valid JSON"


def test_editing_prev_hash_is_reported_as_a_broken_link(seeded: Store) -> None:
    _behind_the_api(seeded, "UPDATE audit_event SET prev_hash = :value WHERE seq = 4", value="0" * 64)
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.what_differs == "prev_hash does not match the hash of seq 3"


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(seeded: Store) -> None:
    with seeded.read() as session:
        row = session.execute(select(*[getattr(AuditEvent, name) for name in HASHED_FIELDS])
                              .where(AuditEvent.seq == EDITED_SEQ)).one()
    fields = row._asdict()
    fields["payload"] = json.loads(_edited_payload(seeded))
    _behind_the_api(seeded, f"UPDATE audit_event SET payload = {_json_param(seeded)}, hash = :hash WHERE seq = 4",
                    value=json.dumps(fields["payload"]), hash=event_hash(fields))
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, EDITED_SEQ, EDITED_SEQ + 1)
    assert report.what_differs == "prev_hash does not match the hash of seq 4"


def test_deleting_the_last_event_makes_the_head_disagree(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM audit_event WHERE seq = 11")
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 10, 11)
    assert report.what_differs == "head row disagrees with the last event: head is seq 11, the log ends at seq 10"


def test_deleting_a_middle_event_is_a_sequence_gap(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM audit_event WHERE seq = 6")
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 5, 6)
    assert report.what_differs == "sequence gap after 5: the next event is 7"


def test_deleting_the_first_event_is_reported_at_seq_1(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM audit_event WHERE seq = 1")
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 0, 1)
    assert report.what_differs == "the log starts at 2, not 1"


def test_reordering_two_events_is_reported_at_the_first_moved_one(seeded: Store) -> None:
    for old, new in ((5, -5), (6, 5), (-5, 6)):
        _behind_the_api(seeded, "UPDATE audit_event SET seq = :new WHERE seq = :old", old=old, new=new)
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 4, 5)
    assert report.what_differs == "prev_hash does not match the hash of seq 4"


def test_an_event_appended_behind_the_api_makes_the_head_disagree(seeded: Store) -> None:
    columns = [getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "hash")]
    with seeded.read() as session:
        last = session.execute(select(*columns).where(AuditEvent.seq == 11)).one()._asdict()
    forged = {**last, "seq": 12, "kind": "cycle.started", "prev_hash": last["hash"]}
    forged["hash"] = event_hash(forged)  # a well-formed link: only the head row tells
    with seeded.engine.begin() as connection:
        connection.execute(insert(AuditEvent).values(**forged))
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 12, 12)
    assert report.what_differs == "head row disagrees with the last event: head is seq 11, the log ends at seq 12"
