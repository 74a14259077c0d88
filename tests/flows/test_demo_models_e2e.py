"""`pdca demo --model service-system` and `--model complaints` as a user runs them, in a fresh process.

The nine-element service system runs six quarterly cycles on the water brand's sample
world: each cycle runs the complaint-handling sub-process, whose KPIs roll up into the
parent's (the parent's value is the child cycle's, cycle by cycle); a policy that changed
the plan because a KPI missed is followed by that KPI moving the way the policy meant;
both processes' trails verify. Complaint handling also runs on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import Cycle, Decision, KpiResult
from tests.conftest import REPO
from tests.flows.test_demo_e2e import assert_readable_at_80, pdca

pytestmark = pytest.mark.slow
PARENT, CHILD = "service-quality-system", "complaint-handling"


def demo(directory: Path, model: str, *args: str) -> Any:
    return pdca("demo", "--model", model, "--dir", directory.name, "--seed", "7", "--customers", "600", *args,
                cwd=directory.parent, timeout=1200)


def stored(db: Path) -> tuple[dict[tuple[str, int, str], float | None], list[tuple[str, int, str]], bool]:
    """KPI actuals by (process, cycle, kpi), the fired decisions (process, cycle, policy), and whether it verifies."""
    store = open_store(f"sqlite:///{db}")
    try:
        with store.read() as session:
            cycles = {row.id: (row.process_id, row.number) for row in session.scalars(
                select(Cycle).where(Cycle.status == "completed"))}
            actual = {(*cycles[row.cycle_id], row.kpi_id): row.actual for row in session.scalars(select(KpiResult))
                      if row.cycle_id in cycles}
            fired = [(*cycles[row.cycle_id], row.policy_id) for row in session.scalars(
                select(Decision).where(Decision.fired.is_(True))) if row.cycle_id in cycles]
            ok = verify_chain(session).ok
    finally:
        store.dispose()
    return actual, fired, ok


def test_the_nine_element_demo_runs_six_quarters_with_complaint_kpis_rolled_up(tmp_path: Path) -> None:
    demo_dir = tmp_path / "water"
    run = demo(demo_dir, "service-system", "--cycles", "6")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert "KPIs over 6 cycle(s)" in run.stdout and "What changed the plan" in run.stdout
    assert_readable_at_80(run.stdout)
    actual, fired, verified = stored(demo_dir / ".pdca" / "pdca.db")
    assert verified
    assert sorted({cycle for process, cycle, _ in actual if process == PARENT}) == [1, 2, 3, 4, 5, 6]
    assert sorted({cycle for process, cycle, _ in actual if process == CHILD}) == [1, 2, 3, 4, 5, 6]

    definition = yaml.safe_load((REPO / "definitions" / f"{PARENT}.yaml").read_text(encoding="utf-8"))
    rolled_up = {kpi["id"]: kpi["source"].split(".")[2] for kpi in definition["kpis"]
                 if str(kpi["source"]).startswith("work_complaints.kpis.")}
    assert rolled_up, "the parent reads none of the complaint sub-process's KPIs"
    for parent_kpi, child_kpi in rolled_up.items():
        for cycle in range(1, 7):
            assert actual[(PARENT, cycle, parent_kpi)] == actual[(CHILD, cycle, child_kpi)], (parent_kpi, cycle)

    # every policy that changed a param because its KPI missed: that KPI moves the intended way afterwards
    targets = {kpi["id"]: kpi["target"] for kpi in definition["kpis"]}
    changing = {policy["id"]: policy["when"]["kpi"] for policy in definition["policies"]
                if "change" in policy and isinstance(policy.get("when"), dict) and "kpi" in policy["when"]
                and policy["when"].get("missed")}
    answered = [(cycle, policy) for process, cycle, policy in fired
                if process == PARENT and policy in changing and cycle <= 4]
    assert answered, f"no plan-changing policy fired in cycles 1-4: {fired}"
    improved = []
    for cycle, policy in answered:
        kpi = changing[policy]
        direction = +1 if "min" in targets[kpi] else -1
        then = actual[(PARENT, cycle, kpi)]
        later = [actual[(PARENT, n, kpi)] for n in range(cycle + 1, 7)]
        if then is not None and any(v is not None and direction * (v - then) > 0 for v in later):
            improved.append((policy, cycle))
    assert improved, f"no KPI a policy answered moved the intended way afterwards: {answered}"


def test_complaint_handling_runs_on_its_own_and_verifies(tmp_path: Path) -> None:
    demo_dir = tmp_path / "complaints"
    run = demo(demo_dir, "complaints", "--cycles", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "KPIs over 2 cycle(s)" in run.stdout
    assert_readable_at_80(run.stdout)
    actual, _, verified = stored(demo_dir / ".pdca" / "pdca.db")
    assert verified
    for kpi in ("resolution_p90", "closed_within_sla"):
        values = [actual[(CHILD, cycle, kpi)] for cycle in (1, 2)]
        assert all(value is not None for value in values), (kpi, values)

    other = demo(demo_dir, "retail", "--cycles", "1")
    assert other.returncode == 2 and "holds the complaints demo" in other.stderr
    unknown = demo(demo_dir, "bottled-water", "--cycles", "1")
    assert unknown.returncode == 2 and "retail, service-system, complaints" in unknown.stderr
