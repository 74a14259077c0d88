"""The work of ``strategy.allocate``, imported by the task only when it runs (pandas, numpy).

:mod:`pdcaflow.tasks.retail.strategy` holds the registered task (its signature and the docstring
users read). The arithmetic lives in :mod:`pdcaflow.tasks.retail.allocation`; this module reads
the inputs, checks them, writes the plan and reports its totals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pdcaflow.tasks.retail.allocation import ANY_CLASS, ProductSupply, allocate as allocate_cartons, customer_demand
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, read_table, write_table
from pdcaflow.tasks.retail.strategy_types import AllocateResult, Method
from pdcaflow.tasks.sdk.workspace import output_path


def run_allocate(context: StepContext, *, forecast: str, classification: str, supply: str,
                 quotas: dict[str, float], method: Method, scarce_below: float, reserve_pct: float,
                 supply_table: str) -> AllocateResult:
    """The body of ``strategy.allocate`` (see :func:`pdcaflow.tasks.retail.strategy.allocate`)."""
    _check_terms(quotas, scarce_below, reserve_pct)
    month, month_forecast = _month_forecast(forecast)
    customers = _customers(classification)
    if method != "proportional":
        _check_quotas(quotas, customers, classification)
    demand = customer_demand(month_forecast, customers)
    totals = demand.groupby("product_id", sort=True)["demand"].sum()
    available = _supply(supply, supply_table, month, list(totals.index))
    terms: dict[str, ProductSupply] = {}
    scarce: list[str] = []
    reserve = 0
    for product, wanted in totals.items():
        cartons = available[str(product)]
        if wanted > 0 and cartons < scarce_below * wanted:
            scarce.append(str(product))
            held = cartons - int(np.floor(cartons * (1 - reserve_pct / 100) + 1e-9))
            reserve += held
            terms[str(product)] = ProductSupply(cartons - held, method != "proportional", method == "priority")
        else:
            terms[str(product)] = ProductSupply(cartons, with_quotas=False)
    allocated, applied = allocate_cartons(demand, terms, quotas, list(quotas))
    plan = demand.assign(month=month, quota=applied, allocated=allocated)
    plan = plan.loc[plan["demand"] > 0, ["customer_id", "class", "product_id", "month", "demand", "quota",
                                        "allocated"]]
    path = output_path(context, "plan.parquet")
    write_table(plan.reset_index(drop=True), path)
    allocated_total = int(allocated.sum())
    return AllocateResult(
        plan=path,
        month=month,
        scarce_products=scarce,
        fill_rate=_percent(allocated_total, int(totals.sum())),
        demand_coverage=_percent(allocated_total, float(month_forecast["forecast"].sum())),
        reserve=int(reserve),
        allocated_total=allocated_total,
    )


def _check_terms(quotas: Mapping[str, float], scarce_below: float, reserve_pct: float) -> None:
    if not 0 <= reserve_pct <= 100:
        raise ValueError(f"reserve_pct is {reserve_pct}: a percentage of supply, from 0 to 100")
    if scarce_below < 0:
        raise ValueError(f"scarce_below is {scarce_below}: a ratio of supply to demand, 0 or more")
    negative = {name: value for name, value in quotas.items() if not value >= 0}
    if negative:
        raise ValueError(f"quotas must be 0 or more cartons per customer: {negative}")


def _month_forecast(path: str) -> tuple[str, pd.DataFrame]:
    frame = read_table(path, columns=["product_id", "class", "month", "forecast"])
    if frame.empty:
        raise SourceError(f"{path}: the forecast has no rows")
    frame = frame.assign(product_id=frame["product_id"].astype(str), month=_months(frame["month"]),
                         **{"class": frame["class"].astype(str)})
    month = str(frame["month"].min())
    rows = frame.loc[frame["month"] == month, ["product_id", "class", "forecast"]]
    values = pd.to_numeric(rows["forecast"], errors="coerce")
    if values.isna().any():
        bad = rows.loc[values.isna(), "product_id"].iloc[0]
        raise SourceError(f"{path}: forecast for product {bad} in {month} is not a number")
    rows = rows.assign(forecast=values.clip(lower=0.0))
    duplicated = rows.duplicated(["product_id", "class"])
    if duplicated.any():
        product, klass = rows.loc[duplicated, ["product_id", "class"]].iloc[0]
        raise SourceError(f"{path}: more than one forecast for product {product}, class {klass} in {month}")
    mixed = rows.groupby("product_id")["class"].agg(lambda classes: ANY_CLASS in set(classes) and len(classes) > 1)
    if mixed.any():
        raise SourceError(f"{path}: product {mixed[mixed].index[0]} has a forecast for all classes (*) and for "
                          f"single classes in {month}; it would count twice")
    return month, rows.reset_index(drop=True)


def _customers(path: str) -> pd.DataFrame:
    frame = read_table(path, columns=["customer_id", "class", "avg_volume"])
    frame = pd.DataFrame({
        "customer_id": frame["customer_id"].astype(str),
        "class": frame["class"].astype(str),
        "avg_volume": pd.to_numeric(frame["avg_volume"], errors="coerce").fillna(0.0).clip(lower=0.0),
    })
    duplicated = frame["customer_id"].duplicated()
    if duplicated.any():
        raise SourceError(f"{path}: customer {frame.loc[duplicated, 'customer_id'].iloc[0]} appears more than once")
    return frame


def _check_quotas(quotas: Mapping[str, float], customers: pd.DataFrame, path: str) -> None:
    missing = sorted(set(customers["class"]) - set(quotas))
    if missing:
        raise ValueError(f"quotas has no quota for class {', '.join(missing)} (classes in {path}); "
                         f"it has {', '.join(quotas) or 'none'}")


def _supply(source: str, table: str, month: str, products: list[str]) -> dict[str, int]:
    frame = read_table(source, table, columns=["product_id", "month", "supply"])
    frame = frame.assign(product_id=frame["product_id"].astype(str), month=_months(frame["month"]))
    rows = frame.loc[frame["month"] == month]
    duplicated = rows["product_id"].duplicated()
    if duplicated.any():
        raise SourceError(f"{source}: more than one supply row for product "
                          f"{rows.loc[duplicated, 'product_id'].iloc[0]} in {month}")
    cartons = pd.to_numeric(rows.set_index("product_id")["supply"], errors="coerce")
    missing = [product for product in products if product not in cartons.index or pd.isna(cartons[product])]
    if missing:
        raise SourceError(f"{source}: no supply for product {', '.join(missing)} in {month}")
    negative = [product for product in products if cartons[product] < 0]
    if negative:
        raise SourceError(f"{source}: negative supply for product {', '.join(negative)} in {month}")
    return {product: int(np.floor(cartons[product] + 1e-9)) for product in products}


def _months(values: pd.Series) -> pd.Series:
    """Months as ``YYYY-MM`` text, whether stored as text or as dates."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m")
    return values.astype(str).str.slice(0, 7)


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None
