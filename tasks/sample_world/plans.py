"""A stand-in for the PLAN steps, to test and calibrate the world on its own.

:func:`reference_plan` classifies customers by their last three months of sales
with the flagship definition's rules, takes each customer's demand for a product
as their three-month average adjusted for the season, and shares a scarce
product (supply below demand) by class quota after holding back ``reserve_pct``
% of its supply, giving what is left after the quotas to demand above them
(the rule ``strategy.allocate`` documents for its ``quota`` method). It is
deliberately simple; the real plan of a cycle comes from ``customers.classify``,
``demand.forecast`` and ``strategy.allocate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pdcaflow.tasks.sample_world.periods import add_months, season_factor
from pdcaflow.tasks.sample_world.storage import FILES, load_info

FLAGSHIP_QUOTAS = {"A": 30.0, "B": 20.0, "C": 10.0, "D": 5.0}
CLASS_VOLUMES = (("A", 300.0), ("B", 120.0), ("C", 40.0))
LARGE_FORMATS = ("supermarket", "chain_store")  # class C at least, whatever their volume


def reference_plan(directory: str | Path, period: str, *, reserve_pct: float = 5.0,
                   quotas: Mapping[str, float] = FLAGSHIP_QUOTAS, scale: float = 1.0) -> pd.DataFrame:
    """The plan table (``customer_id, class, product_id, month, demand, quota, allocated``) for ``period``.

    Args:
        directory: the world.
        period: the month planned (the month after the last in the sales).
        reserve_pct: % of a scarce product's supply held back for supplementary orders.
        quotas: cartons per customer per month of a scarce product, by class.
        scale: multiplies every allocation of a scarce product (below 1: allocate less than the rule).
    """
    root = Path(directory)
    load_info(root)  # it is a world, or SourceError
    recent = [add_months(period, -offset) for offset in (3, 2, 1)]
    sales = pd.read_parquet(root / FILES["sales"], filters=[("month", "in", recent)])
    customers = pd.read_csv(root / FILES["customers"], dtype=str, keep_default_na=False)
    customers = customers.loc[customers["left"] == "", ["customer_id", "business_type"]]
    volume = sales.groupby("customer_id")["quantity"].sum().div(3).reindex(customers["customer_id"]).fillna(0.0)
    kind = customers.set_index("customer_id")["business_type"]
    classes = pd.Series(np.select([volume >= low for _, low in CLASS_VOLUMES] + [kind.isin(LARGE_FORMATS)],
                                  [name for name, _ in CLASS_VOLUMES] + ["C"], "D"), index=volume.index)
    seasonal = season_factor(period) / np.mean([season_factor(month) for month in recent])
    asked = "requested" if "requested" in sales.columns else "quantity"  # demand, not sales cut by rationing
    wanted = (sales.loc[sales["customer_id"].isin(classes.index)]
              .groupby(["customer_id", "product_id"])[asked].sum().div(3).mul(seasonal).round()
              .rename("demand").reset_index())
    wanted = wanted.loc[wanted["demand"] > 0]
    wanted["class"] = wanted["customer_id"].map(classes)
    supply = pd.read_csv(root / FILES["supply"], dtype={"product_id": str, "month": str})
    available = supply.loc[supply["month"] == period].set_index("product_id")["supply"]
    parts = [_allocate(group, float(available.get(product, 0)), reserve_pct, quotas, scale)
             for product, group in wanted.groupby("product_id", sort=True)]
    plan = pd.concat(parts, ignore_index=True) if parts else wanted.assign(quota=np.nan, allocated=0.0)
    plan["month"] = period
    return plan[["customer_id", "class", "product_id", "month", "demand", "quota", "allocated"]]


def _allocate(group: pd.DataFrame, supply: float, reserve_pct: float, quotas: Mapping[str, float],
              scale: float) -> pd.DataFrame:
    demand = group["demand"].to_numpy(float)
    if supply >= demand.sum():
        return group.assign(quota=np.nan, allocated=demand)
    available = np.floor(supply * (1 - reserve_pct / 100.0))
    quota = group["class"].map(dict(quotas)).fillna(0.0).to_numpy(float)
    entitled = np.minimum(demand, quota)
    if entitled.sum() >= available:
        share = entitled * available / max(entitled.sum(), 1e-9)
    else:
        above = demand - entitled
        share = entitled + above * (available - entitled.sum()) / max(above.sum(), 1e-9)
    return group.assign(quota=quota, allocated=np.floor(np.minimum(share, demand) * scale))
