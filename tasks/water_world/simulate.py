"""One quarter in the water world: the plan carried out, the customers' response, every record written.

:func:`simulate_quarter` reads the state at the end of the quarter before, the
service plan and the levers, and writes what the brand's systems would have
recorded in the quarter (``quarters/<YYYY-Qn>/``), the quarter's complaint
contacts (replacing any of that quarter already in ``complaints/complaints.csv``,
and dropping the events of the contacts replaced), ``customers.csv`` with the
plan's cost to serve, the offerings' status, and the state at the quarter's end.
Its random numbers come from a stream of the world's seed and the quarter, and
it reads only the quarter before's state, so simulating a quarter again gives
the same records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.water_world import contacts as contact_model
from pdcaflow.tasks.water_world import feedback, operations
from pdcaflow.tasks.water_world.operations import Failures, Quarter
from pdcaflow.tasks.water_world.periods import add_quarters, quarter_days, quarter_index, quarter_start
from pdcaflow.tasks.water_world.plans import in_force, offering_status, read_plan, read_plan_state, segment_cost
from pdcaflow.tasks.water_world.population import STATE_COLUMNS, new_customers
from pdcaflow.tasks.water_world.storage import (COMPLAINTS_DIR, QUARTER_TABLES, WaterWorldInfo, load_info,
                                                quarter_dir, read_complaints, read_customers_state, save_info, stack,
                                                state_path, write_csv, write_levers_state)
from pdcaflow.tasks.water_world.world_model import DEFAULT_VISITS, SEGMENTS, WaterModel

QUARTER_STREAM = 1


@dataclass(frozen=True)
class Levers:
    """The levers of ``service.perform`` the world responds to."""

    visits_per_month: Mapping[str, float]
    delivery_window_hours: float = 4.0
    channels: tuple[str, ...] = ("phone", "online")  # only whether "online" is among them matters
    survey_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"visits_per_month": dict(self.visits_per_month), "delivery_window_hours": self.delivery_window_hours,
                "channels": list(self.channels), "survey_size": self.survey_size}


def check_levers(levers: Levers) -> None:
    """Raises ValueError naming a lever out of range."""
    for segment, visits in levers.visits_per_month.items():
        if segment not in SEGMENTS:
            raise ValueError(f"visits_per_month: unknown segment {segment!r} (segments: {', '.join(SEGMENTS)})")
        if not 0 <= float(visits) <= 30:
            raise ValueError(f"visits_per_month.{segment}: {visits} visits a month is outside 0-30")
    if not 0.5 <= levers.delivery_window_hours <= 168:
        raise ValueError(f"delivery_window_hours: {levers.delivery_window_hours} h is outside 0.5-168 h")
    if levers.survey_size is not None and levers.survey_size < 1:
        raise ValueError(f"survey_size: {levers.survey_size} customers; invite at least 1")


def simulate_quarter(directory: str | Path, quarter: str, *, plan: str | Path | pd.DataFrame,
                     levers: Levers) -> Path:
    """Simulate ``quarter`` in the world at ``directory`` under ``plan`` and ``levers``.

    Args:
        directory: the world (a folder with ``world.json``).
        quarter: ``YYYY-Qn``: the quarter after the last one simulated, or one already simulated
            (simulated again; its records are replaced).
        plan: the service plan (path or table, docs/service-system-data.md); rows of other periods are ignored.
        levers: visits a month by segment, the delivery window, order channels, survey size.

    Returns:
        the quarter's folder.

    Raises:
        SourceError: the world, the plan, or the state of the quarter before cannot be read.
        ValueError: a lever out of range, or a quarter the world cannot simulate yet.
    """
    root = Path(directory)
    info = load_info(root)
    check_levers(levers)
    if quarter_index(quarter) > quarter_index(info.last_quarter) + 1:
        raise ValueError(f"{quarter}: the world in {root} is simulated through {info.last_quarter}; "
                         f"the next quarter it can simulate is {add_quarters(info.last_quarter, 1)}")
    plan_rows = read_plan(plan, quarter)
    state = read_customers_state(root, add_quarters(quarter, -1))
    rng = np.random.default_rng([info.seed, quarter_index(quarter), QUARTER_STREAM])
    run_quarter(root, info, quarter, state, plan_rows, levers, rng)
    return quarter_dir(root, quarter)


def run_quarter(root: Path, info: WaterWorldInfo, quarter: str, state: pd.DataFrame, plan_rows: pd.DataFrame,
                levers: Levers, rng: np.random.Generator) -> None:
    """The quarter's records from the state before it (also used by the generation for the history)."""
    model = info.model
    met = in_force(plan_rows)
    if "online" not in levers.channels:  # online ordering needs the online channel open
        met = {segment: needs - {"online_ordering"} for segment, needs in met.items()}
    active = state.loc[state["left"] == ""].reset_index(drop=True)
    q = Quarter(quarter, quarter_start(quarter), quarter_days(quarter), rng, active, met)
    visits_month = active["segment"].map(lambda s: float(levers.visits_per_month.get(s, 0.0))).to_numpy(float)
    deliveries, late, out = operations.deliveries(q, model, visits_month, levers.delivery_window_hours)
    returns, hygiene_failed = operations.bucket_returns(q, model, deliveries)
    calls, unanswered = operations.hotline_calls(q, model)
    visits = operations.visits(q, model, visits_month)
    failures = Failures(late=late, out_of_water=out, hygiene_failed=hygiene_failed, unanswered=unanswered)
    quarter_contacts, complained = contact_model.contacts(q, model, failures)
    goal = feedback.target(q, model, visits["done"].to_numpy(float), failures, complained)
    satisfaction = feedback.settle(active["satisfaction"].to_numpy(float), goal, model.relaxation)
    size = levers.survey_size or max(model.survey_min, round(q.count * model.survey_pct / 100))
    tables = {
        "deliveries": deliveries, "bucket_returns": returns, "hotline_calls": calls, "visits": visits,
        "surveys": feedback.surveys(q, model, satisfaction, size),
        "front_line_reports": feedback.front_line_reports(
            q, model, visits["done"].to_numpy(float),
            active["customer_id"].map(deliveries["customer_id"].value_counts()).fillna(0).to_numpy(float)),
        "inspections": feedback.inspections(q, failure_shares(deliveries, returns, calls, quarter_contacts, q.count)),
    }
    folder = quarter_dir(root, quarter)
    for table in QUARTER_TABLES:
        write_csv(tables[table], table, folder / f"{table}.csv")
    replace_contacts(root, quarter, quarter_contacts)
    end_state = _end_state(q, model, state, satisfaction, _monthly_cost(plan_rows, levers, model))
    write_table(end_state, state_path(root, quarter, "customers"))
    if quarter_index(quarter) >= quarter_index(info.last_quarter):  # an earlier quarter again: the register stays
        write_csv(end_state, "customers", root / "customers.csv")
    write_table(plan_rows, state_path(root, quarter, "plan"))
    write_levers_state(root, quarter, levers.to_json())
    _update_offerings(root, info.with_quarter(quarter))
    save_info(info.with_quarter(quarter))


def failure_shares(deliveries: pd.DataFrame, returns: pd.DataFrame, calls: pd.DataFrame,
                   quarter_contacts: pd.DataFrame, customers: int) -> dict[str, float]:
    """What inspectors see failing in each area: deliveries late or out of water; half the calls not answered
    within 20 s; three times the returns failing hygiene; half the complaint contacts per customer."""
    late = (deliveries["delivered_at"] > deliveries["promised_by"]) | deliveries["delivered_at"].isna()
    slow_calls = ~calls["answered"] | (calls["wait_seconds"] > 20)
    return {"delivery": float((late | deliveries["out_of_water"]).mean()) if len(deliveries) else 0.0,
            "hotline": 0.5 * float(slow_calls.mean()) if len(calls) else 0.0,
            "hygiene": 3.0 * float((~returns["hygiene_passed"]).mean()) if len(returns) else 0.0,
            "complaints": 0.5 * len(quarter_contacts) / max(1, customers)}


def _monthly_cost(plan_rows: pd.DataFrame, levers: Levers, model: WaterModel) -> dict[str, float]:
    """Segment -> what a customer costs a month above the base: the offerings in force, and ``visit_cost``
    per visit a month above the reference visits (less below them)."""
    offerings = segment_cost(plan_rows)
    return {segment: offerings[segment] + model.visit_cost * (float(levers.visits_per_month.get(segment, 0.0))
                                                              - DEFAULT_VISITS[segment]) for segment in SEGMENTS}


def _end_state(q: Quarter, model: WaterModel, state: pd.DataFrame, satisfaction: np.ndarray,
               cost: Mapping[str, float]) -> pd.DataFrame:
    """The customers at the quarter's end: satisfaction settled, leavers marked, joiners added, cost to serve."""
    out = state.copy()
    rows = out.index[out["left"] == ""]
    out.loc[rows, "satisfaction"] = satisfaction
    leave_pct = model.leave_pct + model.leave_per_point * np.maximum(0.0, 3.5 - satisfaction)
    leaving = q.rng.random(len(rows)) < leave_pct / 100
    end = quarter_start(add_quarters(q.period, 1)) - pd.Timedelta(days=1)
    out.loc[rows[leaving], "left"] = end.date().isoformat()
    number = int(out["customer_id"].str[1:].astype(int).max()) + 1
    joiners = new_customers(q.rng, int(q.rng.poisson(leaving.sum() + 0.5)), number,
                            (q.start.date(), end.date()), model)
    joiners["satisfaction"] = np.clip(joiners["level"] - model.unmet_primary, 1.0, 5.0)
    out = pd.concat([out, joiners], ignore_index=True) if len(joiners) else out
    out["monthly_service_cost"] = np.round(np.maximum(0.0, out["base_cost"] + out["segment"].map(cost).fillna(0.0)), 2)
    return out.loc[:, list(STATE_COLUMNS)]


def replace_contacts(root: Path, quarter: str, quarter_contacts: pd.DataFrame) -> None:
    """Put the quarter's contacts into ``complaints.csv`` in place of any it held; drop the replaced ones' events."""
    existing = read_complaints(root, "complaints")
    start, end = quarter_start(quarter), quarter_start(add_quarters(quarter, 1))
    received = pd.to_datetime(existing["received_at"])
    old = existing.loc[(received >= start) & (received < end), "contact_id"]
    merged = stack("complaints", [existing.loc[~existing["contact_id"].isin(old)], quarter_contacts])
    merged = merged.sort_values(["received_at", "contact_id"], kind="stable")
    write_csv(merged, "complaints", root / COMPLAINTS_DIR / "complaints.csv")
    events = read_complaints(root, "complaint_events")
    write_csv(events.loc[~events["contact_id"].isin(old)], "complaint_events",
              root / COMPLAINTS_DIR / "complaint_events.csv")


def replace_events(root: Path, contact_ids: Sequence[str], events: pd.DataFrame) -> None:
    """Put ``events`` into ``complaint_events.csv`` in place of any of the contacts ``contact_ids``."""
    existing = read_complaints(root, "complaint_events")
    merged = stack("complaint_events", [existing.loc[~existing["contact_id"].isin(set(contact_ids))], events])
    merged = merged.sort_values(["at", "contact_id"], kind="stable")
    write_csv(merged, "complaint_events", root / COMPLAINTS_DIR / "complaint_events.csv")


def _update_offerings(root: Path, info: WaterWorldInfo) -> None:
    """``offerings.csv``'s status after the world's last quarter (plans.offering_status)."""
    offerings = pd.read_csv(root / "offerings.csv", keep_default_na=False)
    plans = [read_plan_state(root, quarter) for quarter in info.quarters if state_path(root, quarter, "plan").is_file()]
    write_csv(offering_status(offerings, plans), "offerings", root / "offerings.csv")
