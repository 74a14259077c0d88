"""The compiled flow inside the test process: concurrency within a phase, the entry flow, artifacts.

One embedded Prefect server serves the whole test session (started by the first flow run,
on the session's pre-migrated PREFECT_HOME; see tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import select

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import Cycle
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.flows.cycle_flow import pdca_cycle, run_prepared
from pdcaflow.flows.runner import prefect_runtime
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_independent_steps_of_a_phase_run_concurrently(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'pdca.db'}")
    try:
        plan = compile_plan(validate_file(FIXTURES / "runnable/parallel.yaml"))
        with prefect_runtime():
            result = run_prepared(begin_cycle(plan, store, registry(), actor="tester"))
    finally:
        store.dispose()
    # testing.rendezvous waits at a two-party barrier: run one after the other, both would time out.
    assert result["kpis"][0]["status"] == "met"


def test_entry_flow_runs_a_cycle_names_it_and_publishes_artifacts(tmp_path: Path, db_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    definition = tmp_path / "loop.yaml"
    definition.write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8"), "utf-8")
    with prefect_runtime():
        summary = pdca_cycle(definition_path=str(definition), db_url=db_url, actor="deployment")
    assert summary["cycle"] == 1 and summary["process"] == "visit-loop"
    assert summary["params"]["visits"] == 2  # the policy fired: satisfaction 3.8 < 4.2

    store = open_store(db_url)
    try:
        with store.read() as session:
            cycle = session.scalars(select(Cycle).where(Cycle.process_id == "visit-loop")).one()
            flow_run_id, trigger, actor = cycle.flow_run_id, cycle.trigger, cycle.actor
    finally:
        store.dispose()
    assert (trigger, actor) == ("schedule", "deployment") and flow_run_id

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        # the client's read_artifacts sends nulls this server version rejects (422); ask the API directly
        response = client.request("POST", "/artifacts/filter",
                                  json={"artifacts": {"key": {"any_": ["visit-loop-kpis", "visit-loop-decisions"]}}})
    artifacts = response.json()
    assert flow_run.name == "visit-loop-cycle-1"
    mine = {(a["key"], a["type"]) for a in artifacts if a["flow_run_id"] == str(flow_run.id)}
    assert mine == {("visit-loop-kpis", "table"), ("visit-loop-decisions", "markdown")}


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every document validated from now on (a spy on ``validate_document``)."""
    from pdcaflow.engine.definition import validate

    validated: list[str] = []
    real = validate.validate_document

    def counting(document, *args, **kwargs):  # type: ignore[no-untyped-def]
        validated.append(document.path)
        return real(document, *args, **kwargs)

    monkeypatch.setattr(validate, "validate_document", counting)
    return validated


def test_a_run_of_three_cycles_validates_its_definition_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pdca run -n 3` validates (and compiles) the definition once and hands the plan to every cycle."""
    from typer.testing import CliRunner

    from pdcaflow.engine.cli.app import app

    validated = _count_validations(monkeypatch)
    monkeypatch.setenv("PREFECT_LOGGING_LEVEL", "CRITICAL")  # what `pdca run` sets, undone after the test
    monkeypatch.setenv("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    definition = str(FIXTURES / "runnable/parallel.yaml")
    result = CliRunner().invoke(app, ["run", definition, "-n", "3", "--reason", "one validation",
                                      "--db", f"sqlite:///{tmp_path / 'pdca.db'}"])
    assert result.exit_code == 0, result.output
    assert "3 cycle(s) of parallel-plan completed" in result.output
    assert validated == [definition]


def test_a_sub_process_definition_is_validated_once_per_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pdcaflow.flows.runner import run_cycles

    monkeypatch.chdir(tmp_path)
    for name in ("visit-parent.yaml", "visit-child.yaml"):
        (tmp_path / name).write_text((FIXTURES / "runnable" / name).read_text("utf-8"), "utf-8")
    validated = _count_validations(monkeypatch)
    results = run_cycles(tmp_path / "visit-parent.yaml", 2, actor="tester", db_url=f"sqlite:///{tmp_path / 'pdca.db'}",
                         reason="two cycles with a sub-process")
    assert [result["cycle"] for result in results] == [1, 2]
    assert sorted(Path(path).name for path in validated) == ["visit-child.yaml", "visit-parent.yaml"]
