"""One quarter's operations records: deliveries, bucket returns, hotline calls and visits.

Each function draws from the quarter's random stream, in arrays, and returns the
table of docs/service-system-data.md plus the per-customer counts the customers'
response needs (:class:`Failures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.world_model import REGIONS, SEGMENTS, WaterModel

TOPICS = ("order", "delivery", "billing", "bucket", "water_quality", "other")
TOPIC_SHARES = (0.40, 0.20, 0.15, 0.10, 0.05, 0.10)


@dataclass(frozen=True)
class Quarter:
    """The quarter being simulated: its start, length, random stream and active customers."""

    period: str
    start: datetime
    days: int
    rng: np.random.Generator
    active: pd.DataFrame          # the state's rows of the customers active in the quarter
    met: Mapping[str, set[str]]   # segment -> needs met by an offering in force

    @property
    def count(self) -> int:
        return len(self.active)

    def segment_index(self) -> np.ndarray:
        return self.active["segment"].map({s: i for i, s in enumerate(SEGMENTS)}).to_numpy(int)

    def has_met(self, need: str) -> np.ndarray:
        """Per active customer: whether their segment has an offering in force meeting ``need``."""
        segments = {segment for segment, needs in self.met.items() if need in needs}
        return self.active["segment"].isin(segments).to_numpy(bool)

    def moments(self, count: int, first_hour: float = 8.0, last_hour: float = 18.0) -> pd.Series:
        """``count`` random times in the quarter, on working hours ``first_hour``-``last_hour``, to the second."""
        day = self.rng.integers(0, self.days, count)
        hour = self.rng.uniform(first_hour, last_hour, count)
        seconds = np.round((day * 24 + hour) * 3600).astype("int64")
        return pd.Series(pd.Timestamp(self.start) + pd.to_timedelta(seconds, unit="s"))


@dataclass(frozen=True)
class Failures:
    """Per active customer: what went wrong for them this quarter (counts)."""

    late: np.ndarray
    out_of_water: np.ndarray
    hygiene_failed: np.ndarray
    unanswered: np.ndarray


def deliveries(q: Quarter, model: WaterModel, visits_per_month: np.ndarray,
               window_hours: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The quarter's deliveries; per customer, how many came late and how many found them out of water."""
    seg = q.segment_index()
    per_customer = q.rng.poisson(np.asarray(model.deliveries_per_quarter)[seg])
    owner = np.repeat(np.arange(q.count), per_customer)
    n = len(owner)
    ordered = q.moments(n).to_numpy()
    region = q.active["region"].to_numpy(object)[owner]
    median = pd.Series(region).map(dict(zip(REGIONS, model.lead_median_hours))).to_numpy(float)
    lead_hours = median * q.rng.lognormal(0.0, model.lead_sd, n)
    delivered = ordered + pd.to_timedelta(np.round(lead_hours * 3600).astype("int64"), unit="s").to_numpy()
    not_delivered = q.rng.random(n) < model.undelivered_pct / 100
    late = (lead_hours > window_hours) & ~not_delivered
    scheduled = q.has_met("scheduled_delivery")[owner]
    p_out = (np.asarray(model.out_of_water_base)[seg[owner]]
             * np.exp(-model.out_of_water_visit_rate * visits_per_month[owner]) * np.where(scheduled, 0.5, 1.0))
    out = q.rng.random(n) < p_out
    buckets = 1 + q.rng.poisson(np.asarray(model.buckets_per_delivery)[seg[owner]] - 1)
    order = np.argsort(ordered, kind="stable")
    table = pd.DataFrame({
        "customer_id": q.active["customer_id"].to_numpy(object)[owner],
        "segment": q.active["segment"].to_numpy(object)[owner],
        "region": region,
        "ordered_at": ordered,
        "promised_by": ordered + np.timedelta64(int(round(window_hours * 3600)), "s"),
        "delivered_at": pd.Series(delivered).where(~not_delivered).to_numpy(),
        "buckets": buckets, "out_of_water": out,
    }).iloc[order].reset_index(drop=True)
    table.insert(0, "delivery_id", [f"D{q.period[:4]}{q.period[-1]}-{i + 1:06d}" for i in range(n)])
    return table, np.bincount(owner, weights=late, minlength=q.count), np.bincount(owner, weights=out,
                                                                                  minlength=q.count)


def bucket_returns(q: Quarter, model: WaterModel, delivered: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Empties collected at each delivery made; per customer, how many returns failed the hygiene check."""
    made = delivered.loc[delivered["delivered_at"].notna()].reset_index(drop=True)
    clean = made["customer_id"].isin(q.active.loc[q.has_met("clean_buckets"), "customer_id"]).to_numpy(bool)
    fail_pct = np.where(clean, model.hygiene_fail_pct_clean, model.hygiene_fail_pct)
    passed = q.rng.random(len(made)) >= fail_pct / 100
    returned = np.maximum(0, made["buckets"].to_numpy(int) - q.rng.binomial(1, 0.1, len(made)))
    table = pd.DataFrame({"return_id": [f"R{q.period[:4]}{q.period[-1]}-{i + 1:06d}" for i in range(len(made))],
                          "customer_id": made["customer_id"], "returned_at": made["delivered_at"],
                          "buckets": returned, "hygiene_passed": passed})
    table = table.loc[table["buckets"] > 0].reset_index(drop=True)
    failed = table.loc[~table["hygiene_passed"], "customer_id"].value_counts()
    return table, q.active["customer_id"].map(failed).fillna(0).to_numpy(float)


def hotline_calls(q: Quarter, model: WaterModel) -> tuple[pd.DataFrame, np.ndarray]:
    """The quarter's calls to the hotline; per customer, how many hung up before an answer."""
    seg = q.segment_index()
    per_customer = q.rng.poisson(np.asarray(model.calls_per_quarter)[seg])
    owner = np.repeat(np.arange(q.count), per_customer)
    n = len(owner)
    priority = q.has_met("faster_hotline")[owner]
    wait = q.rng.exponential(np.where(priority, model.wait_mean_priority, model.wait_mean_seconds), n)
    patience = q.rng.exponential(model.patience_seconds, n)
    answered = wait <= patience
    received = q.moments(n, 8.0, 20.0).to_numpy()
    order = np.argsort(received, kind="stable")
    table = pd.DataFrame({
        "customer_id": q.active["customer_id"].to_numpy(object)[owner], "received_at": received,
        "wait_seconds": np.round(np.where(answered, wait, patience)).astype(int), "answered": answered,
        "topic": np.asarray(TOPICS, dtype=object)[q.rng.choice(len(TOPICS), size=n, p=TOPIC_SHARES)],
    }).iloc[order].reset_index(drop=True)
    table.insert(0, "call_id", [f"H{q.period[:4]}{q.period[-1]}-{i + 1:06d}" for i in range(n)])
    return table, np.bincount(owner, weights=~answered, minlength=q.count)


def visits(q: Quarter, model: WaterModel, visits_per_month: np.ndarray) -> pd.DataFrame:
    """One row per active customer: visits planned in the quarter and visits done."""
    planned = np.round(visits_per_month * 3).astype(int)
    done = q.rng.binomial(planned, model.visit_reliability)
    return pd.DataFrame({"customer_id": q.active["customer_id"].to_numpy(object),
                         "segment": q.active["segment"].to_numpy(object), "planned": planned, "done": done})
