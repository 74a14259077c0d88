"""The second-domain example end to end: two real cycles (Prefect flow runs, SQLite store and audit database).

definitions/examples/hand-hygiene/ is used as shipped, copied to a temporary folder
(its pdca.toml makes that folder the project root): its own tasks come from
hygiene_tasks.py through that pdca.toml; only the audit database is redirected to a
temporary file (``PDCA_CONNECTION_HYGIENE``) and the store named; the work files and
the outbox go under the project root, whatever the working folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.flows.runner import run_cycles
from pdcaflow.tasks.sdk.display import rounded
from tests.conftest import DEFINITIONS

pytestmark = pytest.mark.slow
EXAMPLE = DEFINITIONS / "examples" / "hand-hygiene" / "hand-hygiene.yaml"


def test_two_cycles_act_changes_the_plan_and_the_second_cycle_starts_from_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "hand-hygiene"
    shutil.copytree(EXAMPLE.parent, project, ignore=shutil.ignore_patterns(".pdca", "__pycache__", "*.db"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.delenv("PDCA_WORK_DIR", raising=False)
    audit_db = tmp_path / "hygiene.db"
    monkeypatch.setenv("PDCA_CONNECTION_HYGIENE", f"sqlite:///{audit_db}")
    store_url = f"sqlite:///{tmp_path / 'pdca.db'}"

    results = run_cycles(project / EXAMPLE.name, 2, actor="tester", db_url=store_url, reason="example test")

    first, second = (result["kpi_values"] for result in results)
    assert first["compliance"]["status"] == "missed" and first["weakest_ward"]["status"] == "missed"
    assert first["audit_data_quality"]["actual"] == 100.0  # data.assert: every audit-data check passed
    # ACT changed the plan: one more training session per ward, more observations
    assert results[0]["params"]["training_sessions_per_ward"] == 2
    assert results[0]["params"]["observations_per_ward"] == 60
    # ... and the second cycle started from it (read back from the store) and did better
    store = open_store(store_url)
    try:
        with store.read() as session:
            starts = session.scalars(select(AuditEvent.payload).where(AuditEvent.kind == "cycle.started")
                                     .order_by(AuditEvent.seq)).all()
    finally:
        store.dispose()
    assert [start["plan"]["params"]["training_sessions_per_ward"] for start in starts] == [1, 2]
    assert starts[1]["plan"]["carried_from_cycle"] == 1
    assert second["compliance"]["actual"] > first["compliance"]["actual"]
    with sqlite3.connect(audit_db) as db:  # what the project's own DO task recorded, cycle by cycle
        recorded = db.execute("SELECT cycle, training_sessions, count(*) FROM observation GROUP BY 1, 2").fetchall()
    assert recorded[0] == (1, 1, 200) and recorded[1][:2] == (2, 2) and recorded[1][2] >= 300
    assert second["observations"]["actual"] == recorded[1][2]  # data.query counted what was recorded
    notes = [json.loads(line) for line in (project / ".pdca" / "outbox.jsonl").read_text("utf-8").splitlines()]
    assert [note["cycle"] for note in notes] == [1, 2]
    # a KPI's numbers in a notification with its decimals (a percentage: one), its target as written
    assert notes[0]["subject"] == f"Hand hygiene, cycle 1: {rounded(first['compliance']['actual'], 1)} % (target 80 %)"
    assert list((tmp_path / "elsewhere").iterdir()) == []  # nothing in the working folder: all under the root
