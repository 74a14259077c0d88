"""What the distributor can hand out each month: ``supply.csv``.

Supply of a product in a future month is the customers' expected demand for it
at the level of the three months before (as projected when the world was
generated: ``supply_base`` grown by ``supply_growth``, times the average season
factor of those months) times a ratio: for a scarce product a fixed
ratio below 1 (``scarce_supply``), for the others a random ratio above 1
(``plentiful_supply``). History months have every product a little above demand.
Each month's ratios come from a random stream of their own, so the file can be
extended month by month (a rolling horizon) and always holds the same numbers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.sample_world.periods import add_months, month_index, months_between, season_factor
from pdcaflow.tasks.sample_world.storage import FILES, WorldInfo, save_info

SUPPLY_STREAM = 3


def future_supply(info: WorldInfo, months: list[str]) -> pd.DataFrame:
    """``product_id, month, supply`` for months after the history."""
    base = np.asarray(info.supply_base)
    growth = np.asarray(info.supply_growth)
    scarce = np.asarray([product in info.scarce_products for product in info.products])
    ratios = np.asarray(info.model.scarce_supply, dtype=float)
    scarce_ratio = np.zeros(len(info.products))
    scarce_ratio[scarce] = ratios[np.arange(int(scarce.sum())) % len(ratios)]
    low, high = info.model.plentiful_supply
    rows = []
    for month in months:
        rng = np.random.default_rng([info.seed, month_index(month), SUPPLY_STREAM])
        ahead = months_between(info.history_end, month)
        # Supply is planned on the recent level of demand (the last three months), as a planner sees it:
        # scarce stays scarce against any forecast that follows recent sales, whatever the season does.
        recent = np.mean([season_factor(add_months(month, -offset)) for offset in (1, 2, 3)])
        demand = base * np.exp(growth * ahead) * recent
        ratio = np.where(scarce, scarce_ratio, rng.uniform(low, high, len(base)))
        rows.append(pd.DataFrame({"product_id": info.products, "month": month,
                                  "supply": np.round(demand * ratio).astype(int)}))
    return pd.concat(rows, ignore_index=True)


def history_supply(rng: np.random.Generator, products: tuple[str, ...], months: list[str],
                   demand: np.ndarray, ratio_range: list[float]) -> pd.DataFrame:
    """Supply in the history months: each product's expected demand ``(months, products)`` times a ratio above 1."""
    low, high = ratio_range
    ratio = rng.uniform(low, high, demand.shape)
    return pd.DataFrame({"product_id": np.tile(products, len(months)), "month": np.repeat(months, len(products)),
                         "supply": np.round(demand * ratio).astype(int).ravel()})


def extend_supply(info: WorldInfo, through: str) -> WorldInfo:
    """Make ``supply.csv`` reach ``through`` (adding the missing months); returns the updated info."""
    if month_index(through) <= month_index(info.supply_until):
        return info
    months = [add_months(info.supply_until, step) for step in range(1, months_between(info.supply_until, through) + 1)]
    path = info.directory / FILES["supply"]
    existing = pd.read_csv(path, dtype={"product_id": str, "month": str})
    existing = existing.loc[~existing["month"].isin(months)]
    write_table(pd.concat([existing, future_supply(info, months)], ignore_index=True), path)
    updated = dataclasses.replace(info, supply_until=through)
    save_info(updated)
    return updated
