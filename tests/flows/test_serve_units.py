"""The scheduled entry flow's decisions and `pdca serve`'s catch-up plan, without a Prefect server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import Cycle
from pdcaflow.engine.store.repository import complete_cycle
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.flows.scheduled import _superseded, _who_started
from pdcaflow.flows.serve import load, plan_catch_up
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES


def test_a_late_run_is_superseded_once_its_next_slot_has_passed_unless_catchup_all() -> None:
    now = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)
    assert _superseded(Schedule(interval="15m", catchup="latest"), now - timedelta(minutes=20), now) == (
        "skipped the run for 2026-03-10T12:00:00+00:00: it started 1200 s late, after the next slot "
        "(2026-03-10T12:15:00+00:00) had passed (catchup latest: only the latest due slot runs)")
    assert _superseded(Schedule(interval="15m", catchup="all"), now - timedelta(minutes=20), now) is None
    assert _superseded(Schedule(interval="1h"), now - timedelta(minutes=20), now) is None  # late, still the latest
    assert _superseded(Schedule(interval="5s"), now - timedelta(seconds=60), now) is None  # within the grace


def test_who_started_a_run() -> None:
    slot = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    scheduled = SimpleNamespace(auto_scheduled=True, expected_start_time=slot, deployment_id="d", name="r")
    by_hand = SimpleNamespace(auto_scheduled=False, expected_start_time=slot, deployment_id="d-1", name="calm-fox")
    direct = SimpleNamespace(auto_scheduled=False, expected_start_time=slot, deployment_id=None, name="r")
    assert _who_started(scheduled, "schedule", None) == (slot, "schedule", None)
    assert _who_started(by_hand, "schedule", None) == (
        None, "manual", "run from Prefect deployment 'd-1' (flow run 'calm-fox')")
    assert _who_started(direct, "schedule", None) == (None, "schedule", None)
    assert _who_started(by_hand, "schedule", "2026-03-10T11:45:00+00:00") == (
        slot - timedelta(minutes=15), "schedule", None)  # a catch-up run names its slot


def test_serve_loads_scheduled_valid_definitions_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    (tmp_path / "scheduled.yaml").write_text(text + "schedule: {interval: 1h, catchup: all}\n", "utf-8")
    (tmp_path / "unscheduled.yaml").write_text(text.replace("id: visit-loop", "id: other-loop"), "utf-8")
    (tmp_path / "broken.yaml").write_text(text + "bogus: 1\n", "utf-8")
    served = load(sorted(tmp_path.glob("*.yaml")))
    assert [validated.definition.id for _, validated in served] == ["visit-loop"]
    printed = capsys.readouterr().out
    assert "not serving " + str(tmp_path / "broken.yaml") + ": it does not validate" in printed
    assert "PDCA101" in printed and "unscheduled.yaml: it has no schedule" in printed


def test_catch_up_plan_starts_from_the_latest_recorded_slot(tmp_path: Path) -> None:
    definition = tmp_path / "loop.yaml"
    definition.write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8")
                          + "schedule: {interval: 1h, catchup: all}\n", "utf-8")
    url = f"sqlite:///{tmp_path / 'pdca.db'}"
    served = load([definition])
    now = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    assert plan_catch_up(url, served, now) == {"visit-loop": []}  # never ran: nothing missed
    store = open_store(url)
    try:
        cycle_run = begin_cycle(compile_plan(validate_file(definition)), store, registry(), actor="scheduler",
                                trigger="schedule", scheduled_for=datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
        with store.transaction() as session:
            complete_cycle(session, session.get(Cycle, cycle_run.cycle_id), {"cycle": 1}, "scheduler")
    finally:
        store.dispose()
    # the cycle was for 09:00 (whenever it really started): 10:00, 11:00 and 12:00 were missed
    assert [slot.hour for slot in plan_catch_up(url, served, now)["visit-loop"]] == [10, 11, 12]


def test_serve_and_deploy_refuse_bad_input_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from pdcaflow.engine.cli.app import app

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    (tmp_path / "loop.yaml").write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8"), "utf-8")
    runner = CliRunner()
    served = runner.invoke(app, ["serve", str(tmp_path)])
    assert (served.exit_code, served.output.strip().splitlines()[-1]) == (
        2, "error: no valid definition with a `schedule:` to serve")
    missing = runner.invoke(app, ["serve", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    deployed = runner.invoke(app, ["deploy", str(tmp_path), "--pool", "p"])
    assert deployed.exit_code == 2 and "pdca deploy needs a Prefect server: --api URL or $PREFECT_API_URL" in (
        deployed.output)


def test_a_refused_definition_is_recorded_once_per_content(tmp_path: Path) -> None:
    from sqlalchemy import select

    from pdcaflow.engine.store.tables import AuditEvent
    from pdcaflow.flows.scheduled import _record_refusal

    store = open_store(f"sqlite:///{tmp_path / 'pdca.db'}")
    try:
        for text in ("id: a\nbogus: 1\n", "id: a\nbogus: 1\n", "id: a\nbogus: 2\n"):
            _record_refusal(store, None, text, "scheduler", "PDCA101 unknown key 'bogus'")
        with store.read() as session:
            events = session.scalars(select(AuditEvent).where(AuditEvent.kind == "cycle.refused")).all()
    finally:
        store.dispose()
    assert [(e.process_id, e.payload["diagnostics"]) for e in events] == [
        ("definition", "PDCA101 unknown key 'bogus'")] * 2
