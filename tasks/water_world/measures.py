"""What a quarter's records say, measured the plain way: for calibration (``calibrate.py``) and the docs.

These are the world's own yardsticks, not the domain libraries' KPIs (those are
``service.perform``'s and ``service.control``'s to compute from the same tables).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.periods import add_quarters, quarter_start
from pdcaflow.tasks.water_world.storage import quarter_dir, read_complaints


class QuarterMeasures(TypedDict):
    satisfaction: float
    response_rate: float
    on_time_pct: float
    out_of_water_pct: float
    answered_20s_pct: float
    hygiene_pct: float
    inspection_score: float
    contacts: int
    contacts_by_type: dict[str, int]
    unprofitable_pct: float
    cost_to_serve_pct: float


def measure(directory: str | Path, quarter: str) -> QuarterMeasures:
    """The quarter's headline figures from its records and ``customers.csv`` (as it is now)."""
    root = Path(directory)
    folder = quarter_dir(root, quarter)
    deliveries = pd.read_csv(folder / "deliveries.csv", parse_dates=["promised_by", "delivered_at"])
    calls = pd.read_csv(folder / "hotline_calls.csv")
    returns = pd.read_csv(folder / "bucket_returns.csv")
    surveys = pd.read_csv(folder / "surveys.csv")
    inspections = pd.read_csv(folder / "inspections.csv")
    customers = pd.read_csv(root / "customers.csv", keep_default_na=False)
    active = customers.loc[customers["left"] == ""]
    contacts = read_complaints(root, "complaints")
    received = pd.to_datetime(contacts["received_at"])
    mine = contacts.loc[(received >= quarter_start(quarter)) & (received < quarter_start(add_quarters(quarter, 1)))]
    return {
        "satisfaction": round(float(surveys["satisfaction"].mean()), 3),
        "response_rate": round(100 * float(surveys["responded"].mean()), 1),
        "on_time_pct": round(100 * float((deliveries["delivered_at"] <= deliveries["promised_by"]).mean()), 2),
        "out_of_water_pct": round(100 * float(deliveries["out_of_water"].mean()), 2),
        "answered_20s_pct": round(100 * float((calls["answered"] & (calls["wait_seconds"] <= 20)).mean()), 1),
        "hygiene_pct": round(100 * float(returns["hygiene_passed"].mean()), 2),
        "inspection_score": round(float(inspections["score"].mean()), 1),
        "contacts": len(mine),
        "contacts_by_type": {str(k): int(v) for k, v in mine["type"].value_counts().sort_index().items()},
        "unprofitable_pct": round(100 * float((active["monthly_service_cost"] > active["monthly_margin"]).mean()), 1),
        "cost_to_serve_pct": round(100 * float(active["monthly_service_cost"].sum() / active["monthly_margin"].sum()),
                                   1),
    }


class HandlingMeasures(TypedDict):
    cases: int
    resolution_p90_hours: float
    within_48h_pct: float
    reopened_pct: float
    confirmed_pct: float
    score: float


def measure_handling(cases: pd.DataFrame, events: pd.DataFrame) -> HandlingMeasures:
    """Resolution figures of ``cases`` from ``events`` (first resolution of each case's first contact)."""
    first = cases["contact_ids"].astype(str).str.split(";").str[0]
    received = pd.Series(pd.to_datetime(cases["received_at"]).to_numpy(), index=first)
    at = pd.to_datetime(events["at"])
    resolved = events.assign(at=at).loc[events["event"] == "resolved"].groupby("contact_id")["at"].min()
    hours = ((resolved.reindex(first) - received.reindex(first)).dt.total_seconds() / 3600).to_numpy(float)
    confirmed = events.loc[events["event"] == "confirmed"]
    return {"cases": len(cases), "resolution_p90_hours": round(float(np.nanpercentile(hours, 90)), 1),
            "within_48h_pct": round(100 * float(np.mean(hours <= 48)), 1),
            "reopened_pct": round(100 * float(events.loc[events["event"] == "reopened", "contact_id"]
                                              .isin(set(first)).sum() / max(1, len(cases))), 1),
            "confirmed_pct": round(100 * float(confirmed["contact_id"].isin(set(first)).sum() / max(1, len(cases))),
                                   1),
            "score": round(float(pd.to_numeric(confirmed["score"]).mean()), 2)}
