"""How the sample world responds to each lever of the flagship definition, in numbers.

Run: ``python -m pdcaflow.tasks.sample_world.calibrate [--customers 5000] [--seed 7] [--months 3] [--plan pipeline|reference]``

For each scenario a fresh copy of the same generated world is simulated for a
few months and the KPI-like numbers of each month are printed: the flagship's
initial service levels, then one lever changed at a time from the first
simulated month on. The plan of each month comes from the flagship's own PLAN
tasks called directly (``--plan pipeline``: ``customers.register``,
``customers.classify``, ``demand.forecast``, ``strategy.allocate`` with the
flagship's settings) or from :func:`pdcaflow.tasks.sample_world.reference_plan`. The numbers in
docs/sample-world.md come from this script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pdcaflow.tasks.retail.customers import ClassRule, classify, register
from pdcaflow.tasks.retail.demand import forecast
from pdcaflow.tasks.retail.operations import measure, read_month
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.retail.strategy import allocate
from pdcaflow.tasks.sample_world.generate import generate_world
from pdcaflow.tasks.sample_world.periods import add_months
from pdcaflow.tasks.sample_world.plans import reference_plan
from pdcaflow.tasks.sample_world.simulate import simulate_month
from pdcaflow.tasks.sample_world.storage import OPERATIONS_DIR, load_info, state_path

INITIAL: dict[str, Any] = {"visits_per_month": {"A": 4, "B": 2, "C": 1, "D": 1}, "reserve_pct": 5.0,
                           "complaint_handlers": 2.0, "scarce_below": 1.0}
FLAGSHIP_RULES = [ClassRule(name="A", min_monthly_volume=300), ClassRule(name="B", min_monthly_volume=120),
                  ClassRule(name="C", min_monthly_volume=40), ClassRule(name="C", business_types=("supermarket", "chain_store"))]
FLAGSHIP_QUOTAS = {"A": 30.0, "B": 20.0, "C": 10.0, "D": 5.0}
SCENARIOS: dict[str, dict[str, Any]] = {
    "initial": {},
    "B visits +1": {"visits_per_month": {"A": 4, "B": 3, "C": 1, "D": 1}},
    "C visits +1": {"visits_per_month": {"A": 4, "B": 2, "C": 2, "D": 1}},
    "B and C +1": {"visits_per_month": {"A": 4, "B": 3, "C": 2, "D": 1}},
    "handlers +1": {"complaint_handlers": 3.0},
    "handlers -0.5": {"complaint_handlers": 1.5},
    "reserve +2": {"reserve_pct": 7.0},
    "reserve +4": {"reserve_pct": 9.0},
    "reserve +6": {"reserve_pct": 11.0},
}


def kpis(directory: Path, period: str) -> dict[str, float | None]:
    """KPI-like numbers of one simulated month (CHECK's definitions: open complaints count their age)."""
    operations = directory / OPERATIONS_DIR
    measured = measure(read_month(str(operations), period), period, 24.0)
    folder = operations / period
    complaints = pd.read_parquet(folder / "complaints.parquet")
    start = pd.Timestamp(f"{period}-01")
    end = start + pd.offsets.MonthBegin(1)
    closed = complaints["closed_at"].notna() & (complaints["closed_at"] < end)
    hours = np.where(closed, (complaints["closed_at"] - complaints["opened_at"]) / pd.Timedelta(hours=1),
                     (end - complaints["opened_at"]) / pd.Timedelta(hours=1))
    surveys = pd.read_parquet(folder / "surveys.parquet")
    inspections = pd.read_parquet(folder / "inspections.parquet")
    state = pd.read_parquet(state_path(directory, period))
    return {
        "satisfaction_latent": round(float(state.loc[state["left"] == "", "satisfaction"].mean()), 3),
        "satisfaction_survey": round(float(surveys["score"].mean()), 3),
        "complaint_p90_hours": round(float(np.percentile(hours, 90)), 1) if len(hours) else None,
        "complaints": measured["complaints_opened"],
        "stockout_rate": measured["stockout_rate"],
        "on_time_delivery_rate": measured["on_time_delivery_rate"],
        "visit_plan_completion": measured["visit_plan_completion"],
        "coverage": measured["coverage"],
        "inspection_score": round(float(inspections.groupby("level")["score"].mean().mean()), 2),
    }


def pipeline_plan(world: Path, period: str, cycle: int, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The month's plan from the flagship's PLAN tasks, called directly (work files under ``world/work``)."""
    context = StepContext(process_id="calibration", cycle=cycle, started_at=f"{period}-01T06:00:00+08:00")
    snapshot = register(context, source=str(world / "customers.csv"), register=f"sqlite:///{world / 'register.db'}")
    classes = classify(context, customers=snapshot["snapshot"], sales=str(world / "sales.parquet"),
                       rules=FLAGSHIP_RULES)
    history = world / "sales.parquet"
    if settings.get("forecast_from") == "requested":  # demand as ordered, not sales cut short by rationing
        history = world / "work" / "demand_history.parquet"
        sales = pd.read_parquet(world / "sales.parquet")
        sales.assign(quantity=sales["requested"]).to_parquet(history, index=False)
    demand = forecast(context, history=str(history), method="holt", alpha=0.4, beta=0.2,
                      by="product_and_class", classification=classes["classification"])
    plan = allocate(context, forecast=demand["forecast"], classification=classes["classification"],
                    supply=str(world / "supply.csv"), quotas=FLAGSHIP_QUOTAS, reserve_pct=settings["reserve_pct"],
                    scarce_below=settings["scarce_below"])
    return plan["plan"], {"data_quality": snapshot["data_quality_rate"], "anomaly_rate": classes["anomaly_rate"],
                          "wape": demand["wape"], "scarce": ",".join(plan["scarce_products"])}


def run_scenario(world: Path, levers: Mapping[str, Any], months: int, mode: str = "pipeline") -> list[dict[str, Any]]:
    """Simulate ``months`` months of the world at ``world`` under ``levers``; the KPIs of each month."""
    settings = {**INITIAL, **levers}
    info = load_info(world)
    rows = []
    previous_work = os.environ.get("PDCA_WORK_DIR")
    os.environ["PDCA_WORK_DIR"] = str(world / "work")
    try:
        for step in range(1, months + 1):
            period = add_months(info.history_end, step)
            rows.append(_month(world, period, step, settings, mode))
    finally:
        if previous_work is None:
            os.environ.pop("PDCA_WORK_DIR", None)
        else:
            os.environ["PDCA_WORK_DIR"] = previous_work
    return rows


def _month(world: Path, period: str, cycle: int, settings: Mapping[str, Any], mode: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if mode == "pipeline":
        plan: Any
        plan, extra = pipeline_plan(world, period, cycle, settings)
    else:
        plan = reference_plan(world, period, reserve_pct=settings["reserve_pct"])
    started = time.perf_counter()
    simulate_month(world, period, plan=plan, visits_per_month=settings["visits_per_month"],
                   complaint_handlers=settings["complaint_handlers"])
    return {"month": period, "seconds": round(time.perf_counter() - started, 2), **kpis(world, period), **extra}


def calibrate(customers: int, seed: int, months: int, scenarios: Mapping[str, Mapping[str, Any]] = SCENARIOS,
              root: Path | None = None, mode: str = "pipeline", jobs: int = 4) -> pd.DataFrame:
    """Every scenario's months as one table (scenario, month, KPIs)."""
    base = Path(root or tempfile.mkdtemp(prefix="pdca-world-calibration-"))
    original = base / "original"
    generate_world(original, customers=customers, seed=seed)
    copies = {}
    for name in scenarios:
        copies[name] = base / name.replace(" ", "_")
        shutil.rmtree(copies[name], ignore_errors=True)
        shutil.copytree(original, copies[name])
    with ProcessPoolExecutor(max_workers=min(jobs, len(scenarios))) as pool:
        runs = {name: pool.submit(run_scenario, copies[name], levers, months, mode)
                for name, levers in scenarios.items()}
        frames = [pd.DataFrame(run.result()).assign(scenario=name) for name, run in runs.items()]
    shutil.rmtree(base, ignore_errors=True)
    table = pd.concat(frames, ignore_index=True)
    return table[["scenario", *[column for column in table.columns if column != "scenario"]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--plan", choices=("pipeline", "reference"), default="pipeline")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="scenarios run at once")
    parser.add_argument("--forecast-from", choices=("quantity", "requested"), default="quantity",
                        help="the sales column the forecast reads (requested: demand before rationing)")
    parser.add_argument("--scarce-below", type=float, default=INITIAL["scarce_below"])
    args = parser.parse_args()
    common = {"forecast_from": args.forecast_from, "scarce_below": args.scarce_below}
    chosen = {name: {**common, **levers} for name, levers in SCENARIOS.items()
              if not args.only or name in args.only.split(",")}
    table = calibrate(args.customers, args.seed, args.months, chosen, mode=args.plan, jobs=args.jobs)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 200):
        print(table.drop(columns=["seconds"]).to_string(index=False))


if __name__ == "__main__":
    main()
