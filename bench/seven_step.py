"""One cycle of the flagship seven-step model at 5,000, 20,000 and 100,000 customers.

Run: .venv/bin/python bench/seven_step.py [--sizes 5000,20000,100000] [--seed 7]

For each size, in this one process, on a freshly generated sample world (two
identical copies of it, so both runs plan the same month from the same data):

  pdca      the cycle as `pdca run` runs it: a Prefect flow run on the embedded
            server (warmed up first, so its start-up is not counted), every
            step a task run, everything recorded in a SQLite audit store
  direct    the same cycle driven by the engine without Prefect: begin, each
            step's `execute_step` in plan order (same rendering, same task
            code, same recording), complete — the plain-Python baseline

Shares of the pdca cycle's wall time: tasks = the time at least one task was
running (step intervals merged, since independent steps run in parallel);
engine = rendering, recording, begin and complete, measured in the direct run
(its time minus its steps' time); prefect = the rest. "vs direct" is the pdca
cycle's time over the direct run's (below 1 when parallel steps gain more than
Prefect costs). The last line is
``seconds_per_cycle_<largest size>=<x.xx>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FLAGSHIP = REPO / "definitions" / "retail-customer-service.yaml"


def step_times(store_url: str) -> tuple[dict[str, float], float]:
    """Each completed step's recorded duration, and the time at least one step was running (overlaps merged)."""
    from sqlalchemy import select

    from pdcaflow.engine.store.db import open_store
    from pdcaflow.engine.store.tables import StepRun

    store = open_store(store_url)
    try:
        with store.read() as session:
            rows = session.scalars(select(StepRun).where(StepRun.status == "completed")).all()
    finally:
        store.dispose()
    durations = {row.step_id: (row.finished_at - row.started_at).total_seconds() for row in rows}
    busy, end = 0.0, None
    for row in sorted(rows, key=lambda r: r.started_at):
        start, finish = row.started_at, row.finished_at
        if end is not None and start < end:
            start = end
        if end is None or finish > end:
            busy += max((finish - start).total_seconds(), 0.0)
            end = finish
    return durations, busy


def _signed() -> Any:
    """Approval settings that sign the flagship's approval gate at once, as actor `bench` (an unattended run)."""
    from pdcaflow.engine.runtime.approval_gate import ApprovalSettings

    return ApprovalSettings(auto_answer=("bench", "bench/seven_step.py signs approvals itself (unattended)"))


def run_with_prefect(directory: Path) -> tuple[float, dict[str, float], float]:
    from pdcaflow.flows.runner import run_cycles

    os.chdir(directory)
    marks: dict[str, float] = {"start": time.perf_counter()}
    run_cycles(directory / FLAGSHIP.name, 1, actor="bench", db_url=None, reason="bench/seven_step.py",
               approvals=_signed(), on_result=lambda _result: marks.setdefault("end", time.perf_counter()))
    return (marks["end"] - marks["start"], *step_times(f"sqlite:///{directory / '.pdca' / 'pdca.db'}"))


def run_direct(directory: Path) -> tuple[float, float]:
    from pdcaflow.engine.runtime.approval_gate import settle
    from pdcaflow.engine.definition.compile import compile_plan
    from pdcaflow.engine.runtime.cycle import begin_cycle
    from pdcaflow.engine.store.db import open_store
    from pdcaflow.engine.definition.validate import validate_file
    from pdcaflow.tasks.sdk.registry import registry

    os.chdir(directory)
    (directory / ".pdca").mkdir(exist_ok=True)
    started = time.perf_counter()
    store = open_store(f"sqlite:///{directory / '.pdca' / 'pdca.db'}")
    try:
        plan = compile_plan(validate_file(str(directory / FLAGSHIP.name)))
        cycle_run = begin_cycle(plan, store, registry(), actor="bench", trigger="manual",
                                reason="bench/seven_step.py: direct run")
        cycle_run.approval_settings = _signed()
        for step in plan.steps:
            cycle_run.execute_step(step.id, 1)
            if step.definition.approval is not None:  # set_strategy's approval, signed by the bench itself
                settle(cycle_run, step, cycle_run.approval_settings)
        cycle_run.complete()
    finally:
        store.dispose()
    elapsed = time.perf_counter() - started
    return elapsed, sum(step_times(f"sqlite:///{directory / '.pdca' / 'pdca.db'}")[0].values())


def warm_up(root: Path, seed: int) -> None:
    """Start the embedded Prefect server and import the task library once (a 200-customer cycle)."""
    from pdcaflow.flows.runner import run_cycles
    from pdcaflow.tasks.sample_world import generate_world

    warm = root / "warmup"
    generate_world(warm / "data" / "retail", customers=200, seed=seed)
    shutil.copyfile(FLAGSHIP, warm / FLAGSHIP.name)
    os.chdir(warm)
    started = time.perf_counter()
    run_cycles(warm / FLAGSHIP.name, 1, actor="bench", db_url=None, reason="bench warm-up", approvals=_signed())
    print(f"embedded Prefect server start + a 200-customer warm-up cycle: {time.perf_counter() - started:.1f} s")


def measure(root: Path, customers: int, seed: int) -> dict[str, Any]:
    from pdcaflow.tasks.sample_world import generate_world

    world_a = root / f"pdca-{customers}"
    started = time.perf_counter()
    generate_world(world_a / "data" / "retail", customers=customers, seed=seed)
    generated = time.perf_counter() - started
    shutil.copyfile(FLAGSHIP, world_a / FLAGSHIP.name)
    world_b = root / f"direct-{customers}"
    shutil.copytree(world_a, world_b)
    pdca, steps, busy = run_with_prefect(world_a)
    direct, direct_tasks = run_direct(world_b)
    engine = max(direct - direct_tasks, 0.0)  # rendering, recording, begin/complete: measured without Prefect
    return {"customers": customers, "generate": generated, "pdca": pdca, "direct": direct, "busy": busy,
            "engine": engine, "prefect": max(pdca - busy - engine, 0.0), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000,100000", help="comma-separated customer counts")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="pdca-seven-step-"))
    os.chdir(root)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    warm_up(root, args.seed)
    rows = []
    for customers in sizes:
        row = measure(root, customers, args.seed)
        rows.append(row)
        steps = ", ".join(f"{name} {seconds:.2f}" for name, seconds in row["steps"].items())
        print(f"{customers:>7} customers: world {row['generate']:.1f} s | cycle with Prefect {row['pdca']:.2f} s | "
              f"without Prefect (sequential) {row['direct']:.2f} s | some task running {row['busy']:.2f} s",
              flush=True)
        print(f"          steps (s): {steps}", flush=True)
    print()
    print(f"{'customers':>9} {'s/cycle':>8} {'tasks':>7} {'prefect':>8} {'engine':>7} {'vs direct':>9}")
    for row in rows:
        print(f"{row['customers']:>9} {row['pdca']:>8.2f} {row['busy'] / row['pdca']:>7.0%} "
              f"{row['prefect'] / row['pdca']:>8.0%} {row['engine'] / row['pdca']:>7.0%} "
              f"{row['pdca'] / row['direct']:>9.2f}")
    shutil.rmtree(root, ignore_errors=True)
    print(f"seconds_per_cycle_{rows[-1]['customers']}={rows[-1]['pdca']:.2f}")


if __name__ == "__main__":
    main()
