"""No stubs: every task pdcaflow ships runs in a real cycle on sample data, and no product code is a placeholder.

One cycle of each demo model on a small sample world (the same definitions, worlds and
hooks `pdca demo` uses, in this process), the hand-hygiene example, and a small
definition for the generic tasks no shipped process uses: the tasks whose steps completed
in those cycles, read back from the audit store, include every built-in task. A task
added to the library without running anywhere fails here, as does one that raises.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from pdcaflow.engine.cli.demo import DEMO_APPROVAL, DEMO_CONFIG
from pdcaflow.engine.cli.demo_models import MODELS, DemoModel, generate, hook
from pdcaflow.engine.runtime.approval_gate import ApprovalSettings
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import Cycle, StepRun
from pdcaflow.flows.runner import run_cycles
from pdcaflow.tasks.sdk.registry import builtin_registry
from tests.conftest import DEFINITIONS, REPO

FIXTURE = Path(__file__).parent.parent / "fixtures" / "every_task"
PRODUCT = ("engine", "flows", "tasks")


def completed_tasks(store_url: str, definitions: dict[str, Path]) -> set[str]:
    """The `uses:` of every step that completed in the store's cycles (sub-process cycles included)."""
    uses = {}
    for path in definitions.values():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        uses |= {(data["id"], step["id"]): step["uses"] for step in data["steps"]}
    store = open_store(store_url)
    try:
        with store.read() as session:
            rows = session.execute(select(Cycle.process_id, StepRun.step_id).join(Cycle, StepRun.cycle_id == Cycle.id)
                                   .where(StepRun.status == "completed")).all()
    finally:
        store.dispose()
    return {uses[(process, step)] for process, step in rows if not uses[(process, step)].startswith("process:")}


def run_model(model: DemoModel, project: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    project.mkdir()
    for name in model.definitions:
        shutil.copyfile(DEFINITIONS / name, project / name)
    (project / "pdca.toml").write_text(DEMO_CONFIG, encoding="utf-8")
    generate(model, project / model.world, customers=300, seed=7)
    monkeypatch.chdir(project)
    store_url = f"sqlite:///{project / 'pdca.db'}"
    run_cycles(project / model.definitions[0], 1, actor="tester", db_url=store_url, reason="every task runs",
               approvals=ApprovalSettings(auto_answer=DEMO_APPROVAL), before_task=hook(model))
    return completed_tasks(store_url, {name: project / name for name in model.definitions})


@pytest.mark.slow
def test_every_builtin_task_completes_a_step_on_sample_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDCA_WORK_DIR", raising=False)
    ran: set[str] = set()
    for model in MODELS.values():
        if model.name != "complaints":  # the service-system model runs complaint handling as its sub-process
            ran |= run_model(model, tmp_path / model.name, monkeypatch)

    hygiene = tmp_path / "hand-hygiene"
    shutil.copytree(DEFINITIONS / "examples" / "hand-hygiene", hygiene,
                    ignore=shutil.ignore_patterns(".pdca", "__pycache__", "*.db"))
    monkeypatch.setenv("PDCA_CONNECTION_HYGIENE", f"sqlite:///{tmp_path / 'hygiene.db'}")
    monkeypatch.chdir(hygiene)
    run_cycles(hygiene / "hand-hygiene.yaml", 1, actor="tester", db_url=f"sqlite:///{tmp_path / 'h.db'}",
               reason="every task runs")
    ran |= completed_tasks(f"sqlite:///{tmp_path / 'h.db'}", {"hand-hygiene": hygiene / "hand-hygiene.yaml"})

    generic = tmp_path / "generic"
    shutil.copytree(FIXTURE, generic)
    monkeypatch.chdir(generic)
    run_cycles(generic / "generic-tasks.yaml", 1, actor="tester", db_url=f"sqlite:///{tmp_path / 'g.db'}",
               reason="every task runs")
    ran |= completed_tasks(f"sqlite:///{tmp_path / 'g.db'}", {"generic": generic / "generic-tasks.yaml"})

    never_ran = set(builtin_registry()) - ran
    assert not never_ran, f"built-in tasks no cycle ran: {sorted(never_ran)}"
    assert {"hygiene.plan_audit", "hygiene.observe"} <= ran  # and the example project's own tasks


def test_no_product_code_raises_not_implemented() -> None:
    """A placeholder body (`raise NotImplementedError`) anywhere in engine/, flows/ or tasks/ is a stub."""
    found = []
    for folder in PRODUCT:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                raised = node.exc if isinstance(node, ast.Raise) else None
                name = raised.func if isinstance(raised, ast.Call) else raised
                if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, found
