"""CAPA over several cycles of the seven-step model on the sample world (issue 6, "Done when").

A world of 300 customers runs the flagship's seven steps for five monthly cycles.
From the fourth month a shock (``world.json`` ``shocks``, :mod:`pdcaflow.tasks.sample_world.shocks`)
halves the visits a field rep can make (400 -> 200 a month) and holds up 40 % of
deliveries (1 % before). Both KPIs charted with a three-cycle baseline signal ``we1`` in
cycle 4; each signal's policy opens an action (the visits one also adds 30 field
reps). People mark both done with ``pdca actions``. Cycle 5 verifies them: the
extra reps brought visit plan completion back over its target, so that action is
verified effective; nothing in the plan can make the carrier punctual, so the
delivery action is found ineffective, reopened and escalated to the next owner of
its chain. Each step of that is in the audit trail, which verifies.

The cycles run in this process, driven by the engine without Prefect (begin, each
step in plan order, complete: the same recording code a flow run uses), with the
world's hook that simulates each month before ``service.deliver`` reads it (as
``pdca demo`` installs it), to keep the test near 30 s; tests/flows/test_demo_e2e.py runs the same model through Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.review.cycle_report import kpi_rows
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.action_history import action_history
from pdcaflow.engine.store.tables import AuditEvent, Cycle, Decision, KpiResult
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.tasks.sdk.registry import registry
from pdcaflow.tasks.sample_world import generate_world, load_info, simulate_before_delivery
from pdcaflow.tasks.sample_world.periods import add_months
from pdcaflow.tasks.sample_world.shocks import add_shock
from tests.conftest import DEFINITIONS

pytestmark = pytest.mark.slow
PROCESS = "retail-customer-service"
SHOCK = {"visits_per_rep": 200, "delay_pct": 40}  # from the 4th simulated month on
VISITS = f"{PROCESS}#4/reps_when_visits_shift"
CARRIER = f"{PROCESS}#4/carrier_when_delivery_shifts"
POLICIES = [
    {"id": "reps_when_visits_shift", "when": {"kpi": "visit_plan_completion", "signal": "we1"},
     "change": {"param": "staffing.field_reps", "add": 30, "max": 80},
     "open_action": {"title": "Visit plan completion shifted: staff the routes", "owner": "sales-supervisor",
                     "due_days": 14, "verify_after": 1}},
    {"id": "carrier_when_delivery_shifts", "when": {"kpi": "on_time_delivery", "signal": "we1"},
     "open_action": {"title": "On-time delivery shifted: review the carrier", "owner": "logistics-lead",
                     "due_days": 14, "verify_after": 1,
                     "escalate_to": ["logistics-lead", "operations-manager", "director"]}},
]


def capa_definition(path: Path) -> Path:
    """The flagship's steps and KPIs; two charted KPIs with a 3-cycle baseline; the two policies above."""
    definition = yaml.safe_load((DEFINITIONS / "retail-customer-service.yaml").read_text("utf-8"))
    for step in definition["steps"]:
        step.pop("approval", None)  # no one signs the plan in this test
    for kpi in definition["kpis"]:
        if kpi["id"] == "visit_plan_completion":
            kpi["target"] = {"min": 90}
        if kpi["id"] in ("visit_plan_completion", "on_time_delivery"):
            kpi["control"] = {"chart": "xmr", "rules": ["we1"], "baseline": 3}
    definition["escalation"] = ["sales-supervisor", "customer-service-manager", "director"]
    definition["policies"] = POLICIES
    path.write_text(yaml.safe_dump(definition, allow_unicode=True, sort_keys=False), "utf-8")
    return path


CARRIED: dict[int, dict[str, Any]] = {}


def run_cycle(definition: Path, url: str) -> int:
    """Run the next cycle; its carry-over goes in ``CARRIED``."""
    store = open_store(url)
    try:
        plan = compile_plan(validate_file(str(definition)))
        cycle_run = begin_cycle(plan, store, registry(), actor="scheduler", reason="monthly cycle")
        cycle_run.before_task = simulate_before_delivery
        for step in plan.steps:
            cycle_run.execute_step(step.id, 1)
        CARRIED[cycle_run.number] = cycle_run.complete()
        return cycle_run.number
    finally:
        store.dispose()


def kpi_actions(number: int) -> dict[str, str]:
    """KPI id -> the `actions` cell of its row in cycle ``number``'s KPI table."""
    return {row["kpi"]: row["actions"] for row in kpi_rows(CARRIED[number])}


def pdca(*args: str) -> None:
    outcome = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr


def test_a_shift_is_signalled_answered_and_its_actions_verified_or_escalated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    world = tmp_path / "data" / "retail"
    generate_world(world, customers=300, seed=7)
    shocked_month = add_months(load_info(world).history_end, 4)
    add_shock(world, shocked_month, SHOCK)
    definition = capa_definition(tmp_path / "capa.yaml")
    url = f"sqlite:///{tmp_path / '.pdca' / 'pdca.db'}"
    (tmp_path / ".pdca").mkdir()

    assert [run_cycle(definition, url) for _ in range(4)] == [1, 2, 3, 4]
    kpis, fired = read_results(url)
    for kpi in ("visit_plan_completion", "on_time_delivery"):
        assert [number for number in range(1, 5) if "we1" in kpis[number][kpi]["details"]["signals"]] == [4], kpi
    assert kpis[4]["visit_plan_completion"]["status"] == "missed"
    assert fired[4] >= {"reps_when_visits_shift", "carrier_when_delivery_shifts"}
    assert kpi_actions(4)["visit_plan_completion"] == f"{VISITS} (open, sales-supervisor)"

    pdca("actions", "close", VISITS, "--actor", "sam", "--reason", "30 more field reps on the routes", "--db", url)
    pdca("actions", "update", CARRIER, "--status", "done", "--actor", "lee", "--reason", "carrier warned", "--db", url)
    pdca("override", PROCESS, "--param", "complaint_sla_hours=72", "--actor", "kim", "--reason", "holiday month",
         "--db", url)
    assert run_cycle(definition, url) == 5

    kpis, fired = read_results(url)
    assert kpis[5]["visit_plan_completion"]["status"] == "met"
    assert kpis[5]["visit_plan_completion"]["actual"] > kpis[4]["visit_plan_completion"]["actual"]
    assert kpis[5]["on_time_delivery"]["status"] == "missed"
    # until closed, an action is in its KPI's row: the verified one is gone, the reopened one is there
    assert kpi_actions(5)["visit_plan_completion"] == "-"
    assert kpi_actions(5)["on_time_delivery"] == f"{CARRIER} (open, operations-manager)"
    store = open_store(url)
    try:
        with store.read() as session:
            visits, visits_history = action_history(session, VISITS)
            carrier, carrier_history = action_history(session, CARRIER)
            decisions = {row.reason for row in session.scalars(select(Decision).where(
                Decision.policy_id == "action-verification"))}
            started = session.scalars(select(AuditEvent).where(AuditEvent.kind == "cycle.started")
                                      .order_by(AuditEvent.seq.desc()).limit(1)).one()
            report = verify_chain(session)
    finally:
        store.dispose()
    assert report.ok, report
    [override] = started.payload["plan"]["overrides"]  # the cycle's start says where the value came from
    assert (override["param"], override["value"], override["old"], override["actor"], override["reason"]) == (
        "complaint_sla_hours", 72, 48, "kim", "holiday month")
    assert started.payload["plan"]["params"]["complaint_sla_hours"] == 72
    assert visits["status"] == "verified"
    assert [(change["actor"], change["status"]) for change in visits_history] == [
        ("sam", ["open", "done"]), ("scheduler", ["done", "verified"])]
    assert (carrier["status"], carrier["owner"]) == ("open", "operations-manager")
    assert [(change["source"], change["status"], change["owner"][1]) for change in carrier_history] == [
        ("person", ["open", "done"], "logistics-lead"), ("act", ["done", "ineffective"], "logistics-lead"),
        ("act", ["ineffective", "open"], "operations-manager")]
    assert any(reason.startswith("on_time_delivery did not meet its target in every cycle after action "
                                 f"{CARRIER} was done (cycle 5: ") for reason in decisions)
    assert any(reason.startswith(f"visit_plan_completion met its target in the 1 cycle(s) after action {VISITS}")
               for reason in decisions)


def read_results(url: str) -> tuple[dict[int, dict[str, Any]], dict[int, set[str]]]:
    """Cycle number -> KPI id -> its stored result; cycle number -> the policies that fired."""
    store = open_store(url)
    try:
        with store.read() as session:
            numbers = {cycle.id: cycle.number for cycle in session.scalars(select(Cycle))}
            kpis: dict[int, dict[str, Any]] = {}
            for row in session.scalars(select(KpiResult)):
                kpis.setdefault(numbers[row.cycle_id], {})[row.kpi_id] = {
                    "actual": row.actual, "status": row.status, "details": row.details}
            fired: dict[int, set[str]] = {}
            for row in session.scalars(select(Decision).where(Decision.fired.is_(True))):
                fired.setdefault(numbers[row.cycle_id], set()).add(row.policy_id)
    finally:
        store.dispose()
    return kpis, fired
