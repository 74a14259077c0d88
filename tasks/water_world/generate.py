"""Generating a water world: the brand's customers, its offerings catalogue and two quarters of history.

:func:`generate_world` draws the customers (``population.py``), settles their
satisfaction at the service they have had, then simulates the two history
quarters exactly as a cycle's quarter is simulated (``simulate.run_quarter``)
under the catalogue's current offerings and the reference levers, and works the
history's complaints with the desk's default rules (``handling.py``). The same
seed gives the same files, byte for byte.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.water_world.handling import DeskRules, group_cases, work_cases
from pdcaflow.tasks.water_world.periods import add_quarters, quarter_index, quarter_start
from pdcaflow.tasks.water_world.plans import initial_plan, read_plan
from pdcaflow.tasks.water_world.population import catalogue, new_customers
from pdcaflow.tasks.water_world.simulate import QUARTER_STREAM, Levers, replace_events, run_quarter
from pdcaflow.tasks.water_world.storage import (COMPLAINTS_DIR, INFO_FILE, QUARTERS_DIR, STATE_DIR, WaterWorldInfo,
                                                load_info, read_complaints, save_info, state_path,
                                                write_levers_state)
from pdcaflow.tasks.water_world.world_model import DEFAULT_VISITS, WaterModel

POPULATION_STREAM, HANDLING_STREAM = 0, 2
HISTORY_QUARTERS = 2
SETTLED_PENALTY = 0.1  # the usual quarter's failures, taken off the settled satisfaction


def generate_world(path: str | Path, *, customers: int = 2000, seed: int = 7, start: str = "2026-Q1",
                   model: WaterModel | None = None) -> None:
    """Generate a water world in ``path`` (created if missing; a water world there is replaced).

    Args:
        path: where the tables go, e.g. ``data/water``.
        customers: active customers at the start of the history (50 to 200,000).
        seed: the seed; the same seed and size give identical files.
        start: the first history quarter, ``YYYY-Qn``; the history is it and the next one, so the
            first cycle plans the quarter after (``2026-Q3`` by default).
        model: the population and response parameters (defaults: :class:`WaterModel`).

    Raises:
        ValueError: a size out of range, ``start`` not a quarter, or ``path`` holds something else
            than a water world.
    """
    model = model or WaterModel()
    if not 50 <= customers <= 200_000:
        raise ValueError(f"customers: {customers} is outside 50-200,000")
    before = add_quarters(start, -1)
    root = _clear(Path(path))
    history = tuple(add_quarters(start, i) for i in range(HISTORY_QUARTERS))
    info = WaterWorldInfo(directory=root, seed=seed, customers=customers, history=history, quarters=(),
                          complaints_handled_through=before, model=model)
    rng = np.random.default_rng([seed, POPULATION_STREAM])
    start_day = quarter_start(start).date()
    state = new_customers(rng, customers, 1, (start_day.replace(year=start_day.year - 4), start_day), model)
    offerings = catalogue()
    plan = initial_plan(offerings, before)
    state["satisfaction"] = _settled(state, plan, model)
    write_table(offerings, root / "offerings.csv")
    write_table(state, state_path(root, before, "customers"))
    write_table(plan, state_path(root, before, "plan"))
    levers = Levers(visits_per_month=DEFAULT_VISITS)
    write_levers_state(root, before, levers.to_json())
    save_info(info)
    for quarter in history:
        quarter_plan = plan.assign(period=quarter)
        run_quarter(root, load_info(root), quarter, pd.read_parquet(state_path(root, add_quarters(quarter, -1),
                                                                                "customers")),
                    read_plan(quarter_plan, quarter), levers,
                    np.random.default_rng([seed, quarter_index(quarter), QUARTER_STREAM]))
    cases = group_cases(read_complaints(root, "complaints"))
    events = work_cases(cases, DeskRules(), model, np.random.default_rng([seed, HANDLING_STREAM]))
    replace_events(root, list(cases["case_id"]), events)
    final = load_info(root)
    save_info(WaterWorldInfo(directory=root, seed=seed, customers=customers, history=history,
                             quarters=final.quarters, complaints_handled_through=history[-1], model=model))


def _clear(root: Path) -> Path:
    """Remove an earlier water world's records, so none survive into the new one."""
    if root.exists() and any(root.iterdir()) and not (root / INFO_FILE).is_file():
        raise ValueError(f"{root} holds files but no world.json: generate the water world into an empty "
                         "folder or one holding a water world")
    root.mkdir(parents=True, exist_ok=True)
    for name in (QUARTERS_DIR, COMPLAINTS_DIR, STATE_DIR):
        shutil.rmtree(root / name, ignore_errors=True)
    return root


def _settled(state: pd.DataFrame, plan: pd.DataFrame, model: WaterModel) -> np.ndarray:
    """Satisfaction settled at the service the customers have had: the target with the reference visits all
    done, the plan's unmet needs, less ``SETTLED_PENALTY`` for the usual failures."""
    met: dict[str, set[str]] = {}
    for segment, need in zip(plan["segment"], plan["meets"]):
        met.setdefault(str(segment), set()).add(str(need))
    segments = state["segment"].to_numpy(object)
    gain = np.array([model.visit_gain[i] for i in state["segment"].map(
        {s: i for i, s in enumerate(DEFAULT_VISITS)}).to_numpy(int)])
    visits = state["segment"].map(DEFAULT_VISITS).to_numpy(float) * 3 * model.visit_reliability
    unmet1 = np.array([n not in met.get(s, set()) for s, n in zip(segments, state["need1"])])
    unmet2 = np.array([n not in met.get(s, set()) for s, n in zip(segments, state["need2"])])
    goal = (state["level"].to_numpy(float) + gain * (1 - np.exp(-model.visit_rate * visits / 3))
            - model.unmet_primary * unmet1 - model.unmet_secondary * unmet2 - SETTLED_PENALTY)
    return np.clip(goal, 1.0, 5.0)
