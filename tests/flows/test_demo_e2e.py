"""`pdca demo` as a user runs it: the flagship seven-step model on a generated world, in a fresh process.

The world and every task are deterministic by seed, so this run is reproducible:
what it asserts is the PDCA loop doing its job, not luck. A policy that changed
the plan because a KPI missed must be followed, in a later cycle, by that KPI
moving the way the policy intended; every cycle is in the audit trail, which
verifies; and a second `pdca demo` in the same directory continues the cycles.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import AuditEvent, Cycle, Decision, KpiResult
from tests.conftest import REPO

pytestmark = pytest.mark.slow
PROCESS = "retail-customer-service"
# policy -> (KPI it answers, +1 if the KPI should rise afterwards, -1 if it should fall)
PLAN_CHANGING_POLICIES = {
    "more_visits_when_dissatisfied": ("satisfaction", +1),
    "complaints_too_slow": ("complaint_resolution_p90", -1),
    "larger_reserve_on_stockouts": ("stockout_rate", -1),
}


def pdca(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`pdca ARGS` as a saved log gets it: stdout to a file (not a terminal), COLUMNS unset, so 80 columns."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PDCA_ACTOR": "tester"}
    env.pop("PREFECT_LOGGING_LEVEL", None)
    env.pop("COLUMNS", None)
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def pdca_demo(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return pdca("demo", "--dir", directory.name, "--seed", "7", "--customers", "800", *args, cwd=directory.parent)


def assert_readable_at_80(stdout: str) -> None:
    """No line wider than a saved log, and no number or id cut short (`…`)."""
    wide = [line for line in stdout.splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)
    assert "…" not in stdout, stdout


def test_demo_policies_change_the_plan_and_the_kpis_they_answer_improve(tmp_path: Path) -> None:
    demo_dir = tmp_path / "demo"
    first = pdca_demo(demo_dir, "--cycles", "3")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "KPIs over 3 cycle(s)" in first.stdout and "What changed the plan" in first.stdout
    assert "Traceback" not in first.stderr
    assert_readable_at_80(first.stdout)
    db = f"sqlite:///{demo_dir / '.pdca' / 'pdca.db'}"
    for command in (("audit", "show", PROCESS, "2"), ("status",), ("actions", "list")):
        shown = pdca(*command, "--db", db, cwd=demo_dir, timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert_readable_at_80(shown.stdout)
    # `actions list`: each action headed by its whole id, on a line of its own
    assert re.search(rf"^{PROCESS}#[0-9]+/[\w-]+ *$", shown.stdout, re.MULTILINE), shown.stdout

    store = open_store(f"sqlite:///{demo_dir / '.pdca' / 'pdca.db'}")
    try:
        with store.read() as session:
            numbers = {cycle.id: cycle.number for cycle in session.scalars(
                select(Cycle).where(Cycle.process_id == PROCESS, Cycle.status == "completed"))}
            assert sorted(numbers.values()) == [1, 2, 3]
            actual = {(numbers[row.cycle_id], row.kpi_id): row.actual for row in session.scalars(select(KpiResult))}
            fired = [(numbers[row.cycle_id], row.policy_id) for row in session.scalars(
                select(Decision).where(Decision.fired.is_(True)))]
            report = verify_chain(session)
            signed = session.execute(select(AuditEvent.cycle_number, AuditEvent.actor, AuditEvent.step_id).where(
                AuditEvent.kind == "approval.approved").order_by(AuditEvent.seq)).all()
    finally:
        store.dispose()
    assert report.ok, report
    # the demo signs set_strategy's approval gate itself, recorded as actor `demo` (README: approval gates)
    assert [tuple(row) for row in signed] == [(n, "demo", "set_strategy") for n in (1, 2, 3)]

    answered = [(cycle, policy) for cycle, policy in fired if policy in PLAN_CHANGING_POLICIES and cycle < 3]
    assert answered, f"no plan-changing policy fired in cycles 1-2: {fired}"
    for cycle, policy in answered:
        kpi, direction = PLAN_CHANGING_POLICIES[policy]
        later = [actual[(n, kpi)] for n in range(cycle + 1, 4)]
        assert any(direction * (value - actual[(cycle, kpi)]) > 0 for value in later), (
            f"{policy} fired in cycle {cycle} ({kpi} = {actual[(cycle, kpi)]}) but {kpi} did not move "
            f"{'up' if direction > 0 else 'down'} later: {later}")

    again = pdca_demo(demo_dir, "--cycles", "1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "continuing in" in again.stdout and "retail-customer-service cycle 4" in again.stdout

    clash = pdca_demo(demo_dir, "--cycles", "1", "--seed", "8")
    assert clash.returncode == 2 and "already holds a world" in clash.stderr
