"""The water brand's customers: who they are, what they return and cost, what they need.

A customer's latent values (own satisfaction level, primary and secondary need,
latent satisfaction) live in the world state, never in ``customers.csv``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.world_model import (CATALOGUE, NEED_WEIGHTS, NEEDS, REGIONS, SEGMENT_SHARES, SEGMENTS,
                                                    WaterModel)

_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Hu", "Zhu",
             "Gao", "Lin", "He", "Guo", "Ma", "Luo")
_GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Hui", "Tao", "Ping", "Gang", "Ying")
_FIRMS = ("Huaxin", "Jinqiao", "Dongfang", "Xinda", "Hengtai", "Yuanfeng", "Changsheng", "Mingyang", "Ruifeng",
          "Tianhe", "Baolong", "Kaixuan")
_KINDS = {"key_account": ("Group", "Hospital", "University", "Industrial Park"),
          "office": ("Trading Co.", "Law Office", "Design Studio", "Consulting"),
          "retail": ("Supermarket", "Convenience Store", "Tea House", "Pharmacy")}
STATE_COLUMNS = ("customer_id", "name", "segment", "region", "joined", "left", "monthly_margin", "base_cost",
                 "monthly_service_cost", "level", "need1", "need2", "satisfaction")


def new_customers(rng: np.random.Generator, count: int, first_number: int, joined_between: tuple[date, date],
                  model: WaterModel) -> pd.DataFrame:
    """``count`` new customers numbered from ``first_number`` (``W00001`` ...), satisfaction not yet set."""
    segment_index = rng.choice(len(SEGMENTS), size=count, p=[SEGMENT_SHARES[s] for s in SEGMENTS])
    segment = np.asarray(SEGMENTS, dtype=object)[segment_index]
    margin = np.asarray(model.margin_median)[segment_index] * rng.lognormal(0.0, model.margin_sd, count)
    cost = np.asarray(model.cost_median)[segment_index] * rng.lognormal(0.0, model.cost_sd, count)
    level = np.asarray(model.level_mean)[segment_index] + rng.normal(0.0, model.level_sd, count)
    need1, need2 = _needs(rng, segment)
    span = max(1, (joined_between[1] - joined_between[0]).days)
    joined = [(joined_between[0] + timedelta(days=int(day))).isoformat() for day in rng.integers(0, span, count)]
    return pd.DataFrame({
        "customer_id": [f"W{first_number + i:05d}" for i in range(count)],
        "name": _names(rng, segment),
        "segment": segment,
        "region": np.asarray(REGIONS, dtype=object)[rng.choice(4, size=count, p=[0.3, 0.25, 0.25, 0.2])],
        "joined": joined, "left": "",
        "monthly_margin": np.round(margin, 2), "base_cost": np.round(cost, 2), "monthly_service_cost": np.round(cost, 2),
        "level": level, "need1": need1, "need2": need2, "satisfaction": np.nan,
    }).loc[:, list(STATE_COLUMNS)]


def _needs(rng: np.random.Generator, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's primary and secondary need, from the segment's weights (two different needs)."""
    need1 = np.empty(len(segment), dtype=object)
    need2 = np.empty(len(segment), dtype=object)
    for name in np.unique(segment):
        rows = np.flatnonzero(segment == name)
        weights = np.asarray(NEED_WEIGHTS[str(name)], float)
        first = rng.choice(len(NEEDS), size=len(rows), p=weights / weights.sum())
        # the secondary need: drawn again from the weights, the primary excluded (uniform among the rest if none left)
        second = np.empty(len(rows), dtype=int)
        for primary in range(len(NEEDS)):
            chosen = np.flatnonzero(first == primary)
            rest = weights.copy()
            rest[primary] = 0.0
            rest = rest if rest.sum() > 0 else np.where(np.arange(len(NEEDS)) == primary, 0.0, 1.0)
            second[chosen] = rng.choice(len(NEEDS), size=len(chosen), p=rest / rest.sum())
        need1[rows] = np.asarray(NEEDS, dtype=object)[first]
        need2[rows] = np.asarray(NEEDS, dtype=object)[second]
    return need1, need2


def _names(rng: np.random.Generator, segment: np.ndarray) -> list[str]:
    names = []
    for name in segment:
        if name == "household":
            names.append(f"{_SURNAMES[rng.integers(len(_SURNAMES))]} {_GIVEN[rng.integers(len(_GIVEN))]}")
        else:
            kinds = _KINDS[str(name)]
            names.append(f"{_FIRMS[rng.integers(len(_FIRMS))]} {kinds[rng.integers(len(kinds))]}")
    return names


def catalogue() -> pd.DataFrame:
    """``offerings.csv`` as generated: three offerings in force, eight designed but not offered."""
    return pd.DataFrame(list(CATALOGUE), columns=["offering_id", "name", "meets", "segments", "min_level",
                                                 "cost_per_customer_month", "status"])
