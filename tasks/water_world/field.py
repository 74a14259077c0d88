"""The world as the field of the nine-element system and of complaint handling.

The domain libraries only read records. ``pdca demo`` runs its cycles with
:func:`simulate_before_task` as their ``before_task`` hook
(``pdcaflow.engine.runtime.step_runner.BeforeTask``); it acts only when the step's
``source`` lies in a water world (the world's folder, its ``complaints/`` or its
``quarters/`` folder), and only before three tasks:

* ``service.perform``: the world simulates the planned quarter under the step's plan
  and levers, so the records the step then reads are the world's answer to the plan;
* ``complaints.intake``: when the quarter to read has no contacts yet (the complaint
  process run on its own), the world simulates the next quarter under the plan before;
* ``complaints.handle``: the world works the step's cases and writes their events.

Each is deterministic, so a retried step sees the same records (docs/water-world.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, read_table
from pdcaflow.tasks.water_world.handling import rules_from, work_cases
from pdcaflow.tasks.water_world.periods import add_quarters, quarter_for, quarter_index, quarter_of, quarter_start
from pdcaflow.tasks.water_world.plans import plan_period, reference_plan
from pdcaflow.tasks.water_world.simulate import Levers, replace_events, simulate_quarter
from pdcaflow.tasks.water_world.storage import load_info, read_complaints, read_levers_state, save_info, world_root
from pdcaflow.tasks.water_world.world_model import DEFAULT_VISITS

PERFORM_TASK, INTAKE_TASK, HANDLE_TASK = "service.perform", "complaints.intake", "complaints.handle"
HANDLING_STREAM = 3
CASE_COLUMNS = ("case_id", "received_at", "contact_ids", "owner", "claim_amount")


def simulate_before_task(*, task: str, inputs: Mapping[str, Any]) -> None:
    """Let the world make the records a step is about to read, when the step's source is a water world.

    Args:
        task: the registered task about to be called; any but ``service.perform``,
            ``complaints.intake`` and ``complaints.handle`` is left alone.
        inputs: that step's inputs (every parameter, defaults filled in).

    Raises:
        SourceError, ValueError: the world, the plan or the cases cannot be read, or a lever is out of
            range (the step fails with the message).
    """
    if task not in (PERFORM_TASK, INTAKE_TASK, HANDLE_TASK):
        return
    root = world_root(str(inputs.get("source") or ""))
    if root is None:
        return
    if task == PERFORM_TASK:
        perform_quarter(root, inputs)
    elif task == INTAKE_TASK:
        advance_for_intake(root, inputs.get("period"))
    else:
        work_step_cases(root, inputs)


def perform_quarter(root: Path, inputs: Mapping[str, Any]) -> Path:
    """``service.perform``: simulate the step's quarter (its ``period``, else the plan's) under its plan."""
    if not inputs.get("plan"):
        raise ValueError(f"{PERFORM_TASK} has no plan: the water world simulates a quarter under a service plan")
    plan = str(inputs["plan"])
    quarter = inputs.get("period") or plan_period(plan) or add_quarters(load_info(root).last_quarter, 1)
    visits = inputs.get("visits_per_month")
    levers = Levers(visits_per_month={str(k): float(v) for k, v in dict(visits or DEFAULT_VISITS).items()},
                    delivery_window_hours=float(inputs.get("delivery_window_hours") or 4.0),
                    channels=tuple(inputs.get("channels") or ("phone", "online")),
                    survey_size=None if inputs.get("survey_size") is None else int(inputs["survey_size"]))
    return simulate_quarter(root, str(quarter), plan=plan, levers=levers)


def advance_for_intake(root: Path, period: str | None) -> None:
    """``complaints.intake``: simulate the quarters up to the one the step reads, when it has no contacts yet.

    With ``period``: every quarter after the last simulated through ``period``. Without: the next quarter,
    only when the last one's cases have been worked (a ``complaints.handle`` step ran on them), so a
    retried intake, or one after ``service.perform`` simulated the quarter, advances nothing.
    """
    info = load_info(root)
    last = quarter_index(info.last_quarter)
    if period:
        target = quarter_index(quarter_for(str(period)))
    elif quarter_index(info.complaints_handled_through) >= last:
        target = last + 1
    else:
        return
    for step in range(1, target - last + 1):
        quarter = add_quarters(info.last_quarter, step)
        previous = add_quarters(quarter, -1)
        saved = read_levers_state(root, previous)
        levers = Levers(visits_per_month=saved["visits_per_month"],
                        delivery_window_hours=float(saved["delivery_window_hours"]),
                        channels=tuple(saved["channels"]), survey_size=saved["survey_size"])
        simulate_quarter(root, quarter, plan=reference_plan(root, quarter, previous), levers=levers)


def work_step_cases(root: Path, inputs: Mapping[str, Any]) -> pd.DataFrame:
    """``complaints.handle``: work the step's cases and write their events (replacing their contacts').

    The cases' period is their ``period`` column when the file has one, else the quarter of the
    latest ``received_at``. A case carried over from before that period whose first contact
    already has events keeps them (it was worked when it came in); every other case is worked
    now, its owner slowed by all the cases the file gives them.
    """
    cases = read_table(str(inputs["cases"]), columns=CASE_COLUMNS)
    info = load_info(root)
    received = pd.to_datetime(cases["received_at"])
    periods = [str(p) for p in cases.get("period", pd.Series(dtype=object)).dropna().unique() if str(p)]
    quarter = (quarter_for(max(periods)) if periods else quarter_of(received.max()) if len(cases)
               else info.last_quarter)
    first = cases["contact_ids"].astype(str).str.split(";").str[0].str.strip()
    worked = set(read_complaints(root, "complaint_events")["contact_id"])
    carried = (received < quarter_start(quarter)).to_numpy() & first.isin(worked).to_numpy()
    rules = rules_from(inputs.get("sla_hours"), inputs.get("escalate_after_hours"), inputs.get("escalate_to"),
                       inputs.get("confirm_with_customer"), inputs.get("settle_within_days"), inputs.get("calendar"))
    rng = np.random.default_rng([info.seed, quarter_index(quarter), HANDLING_STREAM])
    load = cases["owner"].fillna("").astype(str).value_counts()
    events = work_cases(cases.loc[~carried], rules, info.model, rng, owner_cases=load)
    replace_events(root, _contact_ids(cases.loc[~carried, "contact_ids"]), events)
    handled = max(info.complaints_handled_through, quarter, key=quarter_index)
    save_info(replace(load_info(root), complaints_handled_through=handled))
    return events


def _contact_ids(column: Sequence[Any]) -> list[str]:
    ids = [part.strip() for value in column for part in str(value).split(";") if part.strip()]
    if not ids and len(column):
        raise SourceError("the cases file lists no contact_ids: each case names its contacts, ';'-separated")
    return ids
