"""How the sample world responds to each lever of the flagship definition, in numbers.

Run: ``python -m tasks.world.calibrate [--customers 5000] [--seed 7] [--months 3]``

For each scenario a fresh copy of the same generated world is simulated for a
few months with :func:`tasks.world.reference_plan` as the plan, and the KPI-like
numbers of each month are printed: the flagship's initial service levels, then
one lever changed at a time from the first simulated month on. The numbers in
docs/sample-world.md come from this script.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tasks.operations import measure, read_month
from tasks.world.generate import generate_world
from tasks.world.periods import add_months
from tasks.world.plans import reference_plan
from tasks.world.simulate import simulate_month
from tasks.world.storage import OPERATIONS_DIR, load_info, state_path

INITIAL: dict[str, Any] = {"visits_per_month": {"A": 4, "B": 2, "C": 1, "D": 1}, "reserve_pct": 5.0,
                           "complaint_handlers": 2.0}
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


def run_scenario(world: Path, levers: Mapping[str, Any], months: int) -> list[dict[str, Any]]:
    """Simulate ``months`` months of the world at ``world`` under ``levers``; the KPIs of each month."""
    settings = {**INITIAL, **levers}
    info = load_info(world)
    rows = []
    for step in range(1, months + 1):
        period = add_months(info.history_end, step)
        plan = reference_plan(world, period, reserve_pct=settings["reserve_pct"])
        started = time.perf_counter()
        simulate_month(world, period, plan=plan, visits_per_month=settings["visits_per_month"],
                       complaint_handlers=settings["complaint_handlers"])
        rows.append({"month": period, "seconds": round(time.perf_counter() - started, 2), **kpis(world, period)})
    return rows


def calibrate(customers: int, seed: int, months: int, scenarios: Mapping[str, Mapping[str, Any]] = SCENARIOS,
              root: Path | None = None) -> pd.DataFrame:
    """Every scenario's months as one table (scenario, month, KPIs)."""
    base = Path(root or tempfile.mkdtemp(prefix="pdca-world-calibration-"))
    original = base / "original"
    generate_world(original, customers=customers, seed=seed)
    frames = []
    for name, levers in scenarios.items():
        copy = base / name.replace(" ", "_")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(original, copy)
        frames.append(pd.DataFrame(run_scenario(copy, levers, months)).assign(scenario=name))
        shutil.rmtree(copy)
    shutil.rmtree(base, ignore_errors=True)
    table = pd.concat(frames, ignore_index=True)
    return table[["scenario", *[column for column in table.columns if column != "scenario"]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", type=int, default=3)
    args = parser.parse_args()
    table = calibrate(args.customers, args.seed, args.months)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_rows", 200):
        print(table.drop(columns=["seconds"]).to_string(index=False))


if __name__ == "__main__":
    main()
