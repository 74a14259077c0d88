"""What pdcaflow's compile + record adds to a cycle, against a hand-written Prefect flow, in one run.

Run: .venv/bin/python bench/overhead.py [--repeat N]

Measured in this process (same embedded Prefect server, same settings):
  plain     the flagship's 8 step functions (no-op bodies) called in plain Python
  raw       a hand-written Prefect flow of the same 8 no-op tasks (NO_CACHE, heartbeat off)
  pdca      pdcaflow's compiled flow of a definition with the flagship's steps (no-op business
            tasks, the real kpi.check and improve.apply_policies), recording everything in a SQLite store
Measured in a child process with Prefect's *default* settings (what a user gets writing it themselves;
telemetry off, which otherwise fails the first start on a new home with "database is locked"):
  raw-default  the same hand-written flow
Also: the time to the first completed cycle in a new process (`pdca run` wall time), and the
per-step cost of a 100-step generated definition for pdca and for raw Prefect.

The last line is ``ratio_vs_raw_prefect=<pdca median / raw median>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cli_latency import median_seconds  # noqa: E402  (bench/ is not a package)
# the flagship's dependencies (definitions/retail-customer-service.yaml): the plan phase is a chain
FLAGSHIP_NEEDS = {"identify_customers": ["know_customers"], "forecast_demand": ["identify_customers"],
                  "set_strategy": ["forecast_demand", "identify_customers"]}
FLAGSHIP_STEPS = [("know_customers", "plan"), ("identify_customers", "plan"), ("forecast_demand", "plan"),
                  ("set_strategy", "plan"), ("deliver_service", "do"), ("check_feedback", "check")]


def noop_definition(steps: list[tuple[str, str]]) -> str:
    lines = ["id: bench-cycle", "title: Benchmark cycle", "owner: bench", "params: {x: 1}", "kpis:",
             "  - {id: value, unit: n, target: {min: 0}, source: " + steps[-1][0] + ".value}", "steps:"]
    for step_id, phase in steps:
        needs = FLAGSHIP_NEEDS.get(step_id, [])
        lines.append(f"  - {{id: {step_id}, phase: {phase}, uses: bench.noop, needs: [{', '.join(needs)}]}}")
    lines += ["  - {id: evaluate_kpis, phase: check, uses: kpi.check, needs: [" + steps[-1][0] + "]}",
              "  - {id: improve, phase: act, uses: improve.apply_policies}",
              "policies:", "  - {id: tune, when: {kpi: value, missed: true}, change: {param: x, add: 1}}"]
    return "\n".join(lines) + "\n"


def generated_steps(count: int) -> list[tuple[str, str]]:
    phases = ["plan"] * (count // 2) + ["do"] * (count - count // 2 - 1) + ["check"]
    return [(f"step_{index:03d}", phase) for index, phase in enumerate(phases)]



def raw_flow_factory(step_count: int) -> Any:
    """The hand-written Prefect flow a user would write: module-level no-op task, one call per step."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    def noop_body(value: float) -> dict[str, float]:
        return {"value": value}

    noop_task = task(noop_body, cache_policy=NO_CACHE, persist_result=False)
    steps = [noop_task.with_options(name=f"s{i}", task_run_name=f"s{i}") for i in range(step_count)]

    @flow(name="raw-bench", persist_result=False)
    def raw() -> None:
        for step in steps:
            step(1.0)

    return raw


def child_default_settings(repeat: int) -> None:
    """Entry of the child process: the raw flow on Prefect's default settings, printed as JSON."""
    raw = raw_flow_factory(8)
    raw()  # server start-up is not part of a cycle
    print(json.dumps({"raw_default": median_seconds(raw, repeat)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--child-default", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_default:
        child_default_settings(args.repeat)
        return
    workdir = Path(tempfile.mkdtemp(prefix="pdca-bench-"))
    os.chdir(workdir)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    import pdcaflow.flows  # noqa: F401  (applies pdcaflow's embedded Prefect defaults before Prefect loads)
    from pdcaflow.engine.definition.compile import compile_plan
    from pdcaflow.engine.runtime.cycle import begin_cycle
    from pdcaflow.engine.store import open_store
    from pdcaflow.engine.definition.validate import validate_file
    from pdcaflow.flows.cycle_flow import run_prepared
    from pdcaflow.flows.runner import prefect_runtime
    from pdcaflow.tasks.sdk.registry import registry

    os.environ["PDCA_TASK_MODULES"] = "bench_tasks"
    store = open_store(f"sqlite:///{workdir / 'bench.db'}")
    tasks = registry()

    def pdca_cycle_runner(steps: list[tuple[str, str]], name: str) -> Any:
        path = workdir / f"{name}.yaml"
        path.write_text(noop_definition(steps).replace("bench-cycle", f"bench-{name}"), encoding="utf-8")
        plan = compile_plan(validate_file(path))
        return lambda: run_prepared(begin_cycle(plan, store, tasks, actor="bench", reason="bench/overhead.py"))

    plain_functions = [lambda: {"value": 1.0} for _ in range(8)]
    with prefect_runtime():
        raw8 = raw_flow_factory(8)
        started = time.perf_counter()
        raw8()
        first_flow = time.perf_counter() - started
        ours8 = pdca_cycle_runner(FLAGSHIP_STEPS, "flagship-shape")
        ours8()  # warm-up: first definition version, first cycle
        plain = median_seconds(lambda: [function() for function in plain_functions], args.repeat)
        raw = median_seconds(raw8, args.repeat)
        ours = median_seconds(ours8, args.repeat)
        raw100, ours100 = raw_flow_factory(100), pdca_cycle_runner(generated_steps(98), "hundred")
        raw100(), ours100()
        raw_100 = median_seconds(raw100, max(3, args.repeat // 5))
        ours_100 = median_seconds(ours100, max(3, args.repeat // 5))

    child_env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    child_env["PREFECT_HOME"] = str(workdir / "prefect-default-home")
    # The one change from Prefect's defaults: with telemetry on, the first start on a new home fails here
    # with "database is locked" (its TELEMETRY_SESSION insert races the server's start-up), every time.
    child_env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    child = subprocess.run([sys.executable, __file__, "--child-default", "--repeat", str(args.repeat)],
                           env=child_env, capture_output=True, text=True, check=False, timeout=900)
    if child.returncode != 0:
        raise SystemExit(f"the default-settings child failed:\n{child.stderr[-3000:]}")
    raw_default = json.loads(child.stdout.strip().splitlines()[-1])["raw_default"]

    first_cycle = _time_first_cycle(workdir)
    print(f"prefect server start + first flow in this process: {first_flow:.2f} s")
    print(f"plain python, 8 steps:                 {plain * 1000:9.3f} ms (median of {args.repeat})")
    print(f"raw prefect flow, 8 steps (tuned):     {raw * 1000:9.1f} ms")
    print(f"raw prefect flow, 8 steps (defaults):  {raw_default * 1000:9.1f} ms (child process)")
    print(f"pdca cycle, 8 steps, recorded:         {ours * 1000:9.1f} ms")
    print(f"100 steps: raw {raw_100 * 10:.2f} ms/step, pdca {ours_100 * 10:.2f} ms/step "
          f"(x{ours_100 / raw_100:.2f})")
    print(f"first cycle in a new process (`pdca run` wall time): {first_cycle:.1f} s")
    print(f"ratio_vs_default_prefect={ours / raw_default:.2f}")
    print(f"ratio_vs_raw_prefect={ours / raw:.2f}")


def _time_first_cycle(parent: Path) -> float:
    # A folder of its own: two SQLite stores in one folder share its checkpoints/ log (see the session notes).
    workdir = parent / "first"
    workdir.mkdir()
    path = workdir / "first.yaml"
    path.write_text(noop_definition(FLAGSHIP_STEPS).replace("bench-cycle", "bench-first"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'bench'}", "PDCA_TASK_MODULES": "bench_tasks"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", str(path),
                           "--db", f"sqlite:///{workdir / 'first.db'}",
                           "--reason", "bench/overhead.py: first cycle in a new process"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:  # say why, not only that it failed
        raise SystemExit(f"`pdca run` of the first cycle exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
