"""Editing the append-only tables (KPI results, decisions, definition versions) behind the API.

The events stay intact, so the chain itself verifies; ``verify_chain`` then checks
each row against the event written with it and names that event's sequence number.
Seeded events (tests/engine/store/seed.py): 1 definition.version, 5-6 kpi.result
(rows 1 satisfaction, 2 complaint_resolution_p90), 7-8 decision (rows 1 fired, 2 not).
"""

from __future__ import annotations

import pytest

from pdcaflow.engine.store import ChainReport, Store, verify_chain
from tests.engine.store.conftest import dialect_of
from tests.engine.store.seed import behind_the_api as _behind_the_api, run_cycle


@pytest.fixture()
def seeded(store: Store) -> Store:
    run_cycle(store)
    return store


def _verify(store: Store) -> ChainReport:
    with store.read() as session:
        return verify_chain(session)


@pytest.mark.parametrize("statement, seq, what", [
    ("UPDATE kpi_result SET actual = 4.9 WHERE id = 1", 5, "actual is 4.9 in the row, 4.0 in the event"),
    ("UPDATE kpi_result SET kpi_id = 'speed' WHERE id = 1", 5, "kpi is 'speed' in the row, 'satisfaction'"),
    ("UPDATE kpi_result SET target_min = 3.0 WHERE id = 1", 5, "target is {'min': 3.0, 'max': None} in the row"),
    ("UPDATE kpi_result SET target_max = 50 WHERE id = 2", 6, "target is {'min': None, 'max': 50.0} in the row"),
    ("UPDATE kpi_result SET status = 'met' WHERE id = 1", 5, "status is 'met' in the row, 'missed' in the event"),
    ("UPDATE kpi_result SET delta = 0 WHERE id = 1", 5, "delta is 0.0 in the row, -0.2 in the event"),
    ("UPDATE kpi_result SET unit = 'points' WHERE id = 2", 6, "unit is 'points' in the row, 'hours' in the event"),
    ("UPDATE kpi_result SET details = '{}' WHERE id = 1", 5, "missed is None in the row, True in the event"),
    ("UPDATE decision SET policy_id = 'other' WHERE id = 2", 8, "policy is 'other' in the row, 'ratchet_satisfaction'"),
    ("UPDATE decision SET kpi_id = NULL WHERE id = 1", 7, "kpi is None in the row, 'satisfaction' in the event"),
    ("UPDATE decision SET fired = false WHERE id = 1", 7, "fired is False in the row, True in the event"),
    ("UPDATE decision SET reason = 'looked fine' WHERE id = 1", 7, "reason is 'looked fine' in the row"),
    ("UPDATE decision SET effects = '[]' WHERE id = 1", 7, "effects is [] in the row"),
    ("UPDATE definition_version SET yaml_text = 'id: other' WHERE id = 1", 1, "yaml_text is 'id: other' in the row"),
    ("UPDATE definition_version SET sha256 = 'abc' WHERE id = 1", 1, "sha256 is 'abc' in the row"),
    ("UPDATE definition_version SET process_id = 'other' WHERE id = 1", 1, "process_id is 'other' in the row"),
    ("UPDATE definition_version SET first_seen_at = '2001-01-01 00:00:00.000000' WHERE id = 1", 1,
     "first_seen_at is '2001-01-01T00:00:00.000000+00:00' in the row"),
])
def test_a_changed_row_is_reported_at_its_event(seeded: Store, statement: str, seq: int, what: str) -> None:
    if "first_seen_at" in statement and dialect_of(seeded) == "postgresql":
        statement = statement.replace("'2001-01-01 00:00:00.000000'", "'2001-01-01 00:00:00+00'")
    _behind_the_api(seeded, statement)
    report = _verify(seeded)
    assert (report.ok, report.count, report.first_bad_seq) == (False, 11, seq)
    assert report.what_differs is not None and " was changed: " in report.what_differs
    assert what in report.what_differs


def test_a_deleted_row_is_reported_at_its_event(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM decision WHERE id = 2")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 8)
    assert report.what_differs == "decision row 2 (event seq 8) is missing: deleted behind the API"


def test_deleting_every_kpi_result_is_reported_at_the_first(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM kpi_result")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 5)
    assert report.what_differs == "kpi_result row 1 (event seq 5) is missing: deleted behind the API"


def test_a_renumbered_row_is_missing_at_its_event(seeded: Store) -> None:
    _behind_the_api(seeded, "UPDATE decision SET id = 9 WHERE id = 2")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 8)


def test_a_row_added_behind_the_api_has_no_event(seeded: Store) -> None:
    _behind_the_api(seeded, "INSERT INTO decision (id, cycle_id, policy_id, kpi_id, fired, reason, effects) "
                            "VALUES (3, 1, 'forged', NULL, true, 'trust me', '[]')")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, None)
    assert report.what_differs == "decision row 3 has no event: written behind the API"


def test_rows_can_be_left_out_of_verify(seeded: Store) -> None:
    _behind_the_api(seeded, "DELETE FROM decision")
    with seeded.read() as session:
        assert verify_chain(session, rows=False).ok


def test_events_written_out_of_row_order_still_verify(seeded: Store) -> None:
    """The merge reads events in sequence order; when that is not row id order it lets the database sort."""
    from pdcaflow.engine.store import append_event
    from pdcaflow.engine.store.tables import Cycle, KpiResult
    from pdcaflow.engine.store.results import kpi_result_dict

    with seeded.transaction() as session:
        cycle = session.get(Cycle, 1)
        rows = [KpiResult(cycle_id=1, kpi_id=f"extra_{n}", actual=float(n), target_min=None, target_max=1.0,
                          status="met", delta=None, unit="", details={}) for n in range(2)]
        session.add_all(rows)
        session.flush()
        for row in reversed(rows):
            append_event(session, kind="kpi.result", actor="tester", process_id=cycle.process_id,
                         cycle_number=cycle.number, payload={"kpi_result_id": row.id, **kpi_result_dict(row)})
    assert _verify(seeded).ok
    _behind_the_api(seeded, "UPDATE kpi_result SET actual = 7 WHERE id = 3")
    report = _verify(seeded)
    assert (report.ok, report.first_bad_seq) == (False, 13)  # row 3's event is the later of the two
    assert report.what_differs == "kpi_result row 3 (event seq 13) was changed: actual is 7.0 in the row, 0.0 in the event"
