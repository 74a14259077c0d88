"""How the customers respond in a quarter, and what surveys, front-line staff and inspectors record.

Latent satisfaction moves ``relaxation`` of the way to its target each quarter
(docs/water-world.md gives the formula); the survey, the front-line reports and
the inspections are drawn from it and from the quarter's failures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.operations import Failures, Quarter
from pdcaflow.tasks.water_world.world_model import NEED_WEIGHTS, NEEDS, WaterModel

AREAS = ("delivery", "hotline", "hygiene", "complaints")
INSPECTIONS = {"team": 6, "company": 2}  # inspections a quarter per area
LEVEL_OFFSET = {"team": 0.0, "company": -3.0}  # company inspectors are stricter


def unmet(q: Quarter, column: str) -> np.ndarray:
    """Per active customer: whether their need in ``column`` (``need1``/``need2``) lacks an offering in force."""
    met = [f"{segment}|{need}" for segment, needs in q.met.items() for need in needs]
    return ~np.isin((q.active["segment"] + "|" + q.active[column]).to_numpy(str), met)


def target(q: Quarter, model: WaterModel, visits_done: np.ndarray, failures: Failures,
           complained: np.ndarray) -> np.ndarray:
    """Where each active customer's satisfaction is heading under this quarter's service."""
    seg = q.segment_index()
    return (q.active["level"].to_numpy(float)
            + np.asarray(model.visit_gain)[seg] * (1 - np.exp(-model.visit_rate * visits_done / 3))
            - model.unmet_primary * unmet(q, "need1") - model.unmet_secondary * unmet(q, "need2")
            - model.out_of_water_penalty * (1 - np.exp(-failures.out_of_water))
            - model.late_penalty * (1 - np.exp(-failures.late))
            - model.complaint_penalty * (complained > 0))


def settle(current: np.ndarray, goal: np.ndarray, relaxation: float) -> np.ndarray:
    return np.clip(current + relaxation * (goal - current), 1.0, 5.0)


def missed_need(q: Quarter, rows: np.ndarray) -> np.ndarray:
    """What each customer of ``rows`` misses most: their primary need if unmet, else their secondary if
    unmet, else a need drawn from their segment's weights among those not met (any need when all are)."""
    first, second = unmet(q, "need1")[rows], unmet(q, "need2")[rows]
    out = np.where(first, q.active["need1"].to_numpy(object)[rows],
                   np.where(second, q.active["need2"].to_numpy(object)[rows], None))
    for i in np.flatnonzero(out == None):  # noqa: E711 - element-wise comparison on an object array
        segment = str(q.active["segment"].iat[rows[i]])
        weights = np.array([w if need not in q.met.get(segment, set()) else 0.0
                            for need, w in zip(NEEDS, NEED_WEIGHTS[segment])])
        weights = weights if weights.sum() > 0 else np.ones(len(NEEDS))
        out[i] = NEEDS[q.rng.choice(len(NEEDS), p=weights / weights.sum())]
    return out


def surveys(q: Quarter, model: WaterModel, satisfaction: np.ndarray, size: int) -> pd.DataFrame:
    """``size`` customers invited in the quarter's last two weeks; the responders' score and missed need."""
    size = min(size, q.count)
    rows = np.sort(q.rng.choice(q.count, size=size, replace=False))
    seg = q.segment_index()[rows]
    responded = q.rng.random(size) < np.asarray(model.response_rate)[seg]
    score = np.clip(np.round(satisfaction[rows] + q.rng.normal(0.0, model.survey_noise, size)), 1, 5)
    need = missed_need(q, rows)
    day = q.days - q.rng.integers(1, 15, size)  # one of the quarter's last fourteen days, 9:00-18:00
    invited = pd.Timestamp(q.start) + pd.to_timedelta(
        np.round((day * 24 + q.rng.uniform(9, 18, size)) * 3600).astype("int64"), unit="s")
    return pd.DataFrame({"customer_id": q.active["customer_id"].to_numpy(object)[rows],
                         "segment": q.active["segment"].to_numpy(object)[rows], "invited_at": invited.floor("s"),
                         "responded": responded,
                         "satisfaction": pd.Series(score).where(responded).astype("Int64"),
                         "need": pd.Series(need).where(responded)})


def front_line_reports(q: Quarter, model: WaterModel, visits_done: np.ndarray,
                       deliveries: np.ndarray) -> pd.DataFrame:
    """Needs staff heard from customers: each visit done reports one with ``report_per_visit`` probability
    (an account manager's for key accounts, else a sales rep's), each delivery with ``report_per_delivery``
    (the driver's)."""
    on_visits = q.rng.binomial(visits_done.astype(int), model.report_per_visit)
    by_drivers = q.rng.binomial(deliveries.astype(int), model.report_per_delivery)
    rows = np.concatenate([np.repeat(np.arange(q.count), on_visits), np.repeat(np.arange(q.count), by_drivers)])
    segment = q.active["segment"].to_numpy(object)[rows]
    reporter = np.where(segment == "key_account", "account-manager", "sales-rep")
    reporter[on_visits.sum():] = "driver"
    reported = q.moments(len(rows)).to_numpy()
    # staff hear what the customer cares about most, met or not (the survey asks what they miss)
    table = pd.DataFrame({"reported_at": reported, "reporter": reporter, "segment": segment,
                          "need": q.active["need1"].to_numpy(object)[rows]})
    table = table.sort_values("reported_at", kind="stable").reset_index(drop=True)
    table.insert(0, "report_id", [f"F{q.period[:4]}{q.period[-1]}-{i + 1:05d}" for i in range(len(table))])
    return table


def inspections(q: Quarter, failure_share: dict[str, float]) -> pd.DataFrame:
    """Team and company inspections of each area: score = 96 - 150 x the area's failure share + level offset
    + N(0, 4), clipped to 0-100 (the failure shares: simulate.failure_shares)."""
    rows = []
    for level, count in INSPECTIONS.items():
        for area in AREAS:
            mean = 96.0 - 150.0 * failure_share[area] + LEVEL_OFFSET[level]
            for score in np.clip(q.rng.normal(mean, 4.0, count), 0, 100):
                rows.append((level, area, round(float(score), 1)))
    table = pd.DataFrame(rows, columns=["level", "area", "score"])
    table.insert(0, "inspected_at", q.moments(len(table)).to_numpy())
    table = table.sort_values("inspected_at", kind="stable").reset_index(drop=True)
    table.insert(0, "inspection_id", [f"I{q.period[:4]}{q.period[-1]}-{i + 1:03d}" for i in range(len(table))])
    return table
