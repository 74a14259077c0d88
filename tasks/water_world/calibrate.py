"""How the water world responds to each lever: a few quarters per scenario, measured (docs/water-world.md).

    python -m pdcaflow.tasks.water_world.calibrate --customers 2000 --seed 7 --quarters 4

Each scenario starts from the same generated world and runs ``--quarters`` quarters
from the first planned one with one change from the reference (the plan of the last
history quarter kept, reference levers). ``offerings`` puts every catalogue offering in
force for every segment it may go to at the segment's default level. The complaint
figures work each quarter's cases (the world's own intake) with the escalation given.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.generate import generate_world
from pdcaflow.tasks.water_world.handling import DeskRules, group_cases, work_cases
from pdcaflow.tasks.water_world.measures import measure, measure_handling
from pdcaflow.tasks.water_world.periods import add_quarters, quarter_start
from pdcaflow.tasks.water_world.plans import initial_plan, reference_plan
from pdcaflow.tasks.water_world.simulate import Levers, simulate_quarter
from pdcaflow.tasks.water_world.storage import load_info, read_complaints
from pdcaflow.tasks.water_world.world_model import DEFAULT_VISITS, LEVELS

Scenario = tuple[Callable[[Path, str], pd.DataFrame], Levers, DeskRules]


def all_offerings(root: Path, quarter: str) -> pd.DataFrame:
    """Every catalogue offering in force wherever it may go."""
    offerings = pd.read_csv(root / "offerings.csv", keep_default_na=False).assign(status="current")
    return initial_plan(offerings, quarter)


def kept(root: Path, quarter: str) -> pd.DataFrame:
    return reference_plan(root, quarter, add_quarters(quarter, -1))


def research_and_design(root: Path, quarter: str, max_new: int = 3) -> pd.DataFrame:
    """A stand-in for research -> design: the needs the last quarter's responders named, most named first
    (per segment, weighted by the segment's share of responders); each gets the cheapest catalogue offering
    that meets it and may go to the segment, up to ``max_new`` new (segment, offering) rows a quarter."""
    previous = add_quarters(quarter, -1)
    plan = kept(root, quarter)
    surveys = pd.read_csv(root / "quarters" / previous / "surveys.csv")
    named = surveys.loc[surveys["responded"]].groupby(["segment", "need"]).size().sort_values(ascending=False)
    offerings = pd.read_csv(root / "offerings.csv", keep_default_na=False).sort_values("cost_per_customer_month")
    levels = plan.groupby("segment")["service_level"].first()
    rows: list[tuple[str, str, str, str, str, str, float]] = []
    for (segment, need), _count in named.items():
        if len(rows) == max_new:
            break
        if need in set(plan.loc[(plan["segment"] == segment), "meets"]):
            continue
        level = str(levels.get(segment, "bronze"))
        for offering in offerings.itertuples():
            fits = offering.segments == "*" or segment in str(offering.segments).split(";")
            if offering.meets == need and fits and LEVELS.index(level) <= LEVELS.index(str(offering.min_level)):
                rows.append((quarter, segment, level, offering.offering_id, need, "new",
                             float(offering.cost_per_customer_month)))
                break
    new = pd.DataFrame(rows, columns=plan.columns)
    plan = plan.loc[~((plan["offering_id"] == "") & plan["segment"].isin(new["segment"]))]
    return pd.concat([plan, new], ignore_index=True) if len(new) else plan


def scenarios() -> dict[str, Scenario]:
    base = Levers(visits_per_month=DEFAULT_VISITS)
    return {
        "reference": (kept, base, DeskRules()),
        "research and design": (research_and_design, base, DeskRules()),
        "office visits +1": (kept, Levers(visits_per_month={**DEFAULT_VISITS, "office": 3.0}), DeskRules()),
        "household visits 1": (kept, Levers(visits_per_month={**DEFAULT_VISITS, "household": 1.0}), DeskRules()),
        "every offering": (all_offerings, base, DeskRules()),
        "window 3 h": (kept, Levers(visits_per_month=DEFAULT_VISITS, delivery_window_hours=3.0), DeskRules()),
        "escalate after 12 h": (kept, base, DeskRules(escalate_after_hours=12.0)),
        "survey 600": (kept, Levers(visits_per_month=DEFAULT_VISITS, survey_size=600), DeskRules()),
    }


def run(world: Path, scenario: Scenario, quarters: int) -> list[str]:
    plan_of, levers, rules = scenario
    info = load_info(world)
    lines = []
    for step in range(1, quarters + 1):
        quarter = add_quarters(info.history[-1], step)
        simulate_quarter(world, quarter, plan=plan_of(world, quarter), levers=levers)
        contacts = read_complaints(world, "complaints")
        received = pd.to_datetime(contacts["received_at"])
        mine = contacts.loc[received >= quarter_start(quarter)]
        cases = group_cases(mine)
        handled = measure_handling(cases, work_cases(cases, rules, info.model, np.random.default_rng([info.seed, step])))
        lines.append(f"  {quarter} {measure(world, quarter)}\n           {handled}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quarters", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        origin = Path(temp) / "origin"
        generate_world(origin, customers=args.customers, seed=args.seed)
        for quarter in load_info(origin).history:
            print(f"history {quarter} {measure(origin, quarter)}")
        for name, scenario in scenarios().items():
            world = Path(temp) / "run"
            shutil.rmtree(world, ignore_errors=True)
            shutil.copytree(origin, world)
            print(name)
            print("\n".join(run(world, scenario, args.quarters)))


if __name__ == "__main__":
    main()
