"""The arithmetic of customer profitability: lifetime value against cost to serve, by segment.

Definitions (the task's docstring states them for users too):

- **monthly margin** of a customer: with a sales and a products table, the
  average over the last ``lookback`` calendar months of the sales table of
  ``quantity x price x margin_pct / 100``; otherwise the customer table's own
  ``monthly_margin`` column.
- **monthly cost to serve**: ``visits_per_month[segment] x visit_cost +
  orders_per_month x order_cost``, plus the customer table's
  ``monthly_service_cost`` column when it has one.
- **lifetime factor**: ``sum over t = 1..lifetime of retention^((t-1)/12) /
  (1 + discount)^(t/12)``: month *t*'s money discounted at the yearly rate, and
  weighted by the chance (yearly ``retention``) that the customer still buys then.
  With no discount and full retention it is just the number of months.
- **lifetime value** and **cost to serve**: the monthly figures times that factor.
- **return ratio** of a segment: its total lifetime value / its total cost to serve.
- **headroom** of a segment: how many more visits a month each of its customers
  could get before the segment's cost to serve would exceed its value:
  ``floor((margin - cost) / (customers x visit_cost))`` on the segment's monthly
  totals, never below 0. The lifetime factor cancels out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError


def lifetime_factor(months: int, discount_rate_pct: float, retention_pct: float) -> float:
    """What one unit of money a month for ``months`` months is worth today (see the module doc)."""
    month = np.arange(1, months + 1)
    weights = (retention_pct / 100) ** ((month - 1) / 12) / (1 + discount_rate_pct / 100) ** (month / 12)
    return float(weights.sum())


def monthly_margin(customer_ids: pd.Series, sales: pd.DataFrame, products: pd.DataFrame, lookback: int,
                   where: str) -> pd.Series:
    """Each customer's average monthly margin over the last ``lookback`` months of ``sales`` (0 without sales).

    Raises:
        SourceError: a product sold is missing from the products table, or a price is not a number.
    """
    prices = (products.assign(product_id=products["product_id"].astype(str))
              .drop_duplicates("product_id").set_index("product_id"))
    per_carton = (pd.to_numeric(prices["price"], errors="coerce")
                  * pd.to_numeric(prices["margin_pct"], errors="coerce") / 100)
    product_ids = sales["product_id"].astype(str)
    unknown = sorted(set(product_ids) - set(per_carton.dropna().index))
    if unknown:
        raise SourceError(f"{where}: no price and margin_pct for product(s) {', '.join(unknown[:5])}"
                          + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
    months = sales["month"].astype(str).str.strip()
    recent = months.isin(sorted(months.unique())[-lookback:])
    margin = (pd.to_numeric(sales["quantity"], errors="coerce").fillna(0).to_numpy()
              * per_carton.reindex(product_ids).to_numpy())
    totals = pd.Series(margin[recent.to_numpy()]).groupby(sales["customer_id"].astype(str)[recent].to_numpy()).sum()
    return (totals.reindex(customer_ids.astype(str)).fillna(0.0) / lookback).set_axis(customer_ids.index)


def segment_table(segment: pd.Series, margin: pd.Series, cost: pd.Series, factor: float,
                  visit_cost: float) -> pd.DataFrame:
    """Per segment: customers, lifetime value and cost to serve (per customer), return ratio, headroom."""
    frame = pd.DataFrame({"segment": segment, "margin": margin, "cost": cost})
    totals = frame.groupby("segment", sort=True).agg(customers=("margin", "size"), margin=("margin", "sum"),
                                                     cost=("cost", "sum"))
    totals["lifetime_value"] = totals["margin"] * factor / totals["customers"]
    totals["cost_to_serve"] = totals["cost"] * factor / totals["customers"]
    totals["return_ratio"] = [margin_total / cost_total if cost_total > 0 else None
                              for margin_total, cost_total in zip(totals["margin"], totals["cost"], strict=True)]
    spare = (totals["margin"] - totals["cost"]) / (totals["customers"] * visit_cost)
    totals["headroom"] = [max(0, math.floor(value + 1e-9)) for value in spare]
    return totals


def service_level(ratio: float | None, levels: Sequence[str], min_ratios: Sequence[float]) -> str:
    """The first level whose minimum return ratio ``ratio`` reaches; the last level otherwise."""
    if ratio is None:  # nothing spent on the segment: it cannot cost more than it returns
        return levels[0]
    return next((level for level, floor in zip(levels, min_ratios, strict=False) if ratio >= floor), levels[-1])


def monthly_cost(segment: pd.Series, visits_per_month: Mapping[str, float], visit_cost: float,
                 orders_per_month: float, order_cost: float, extra: pd.Series | None) -> pd.Series:
    """Each customer's monthly cost to serve (see the module doc); a segment with no visits set gets none."""
    visits = segment.map(lambda name: float(visits_per_month.get(str(name), 0.0)))
    cost = visits * visit_cost + orders_per_month * order_cost
    if extra is not None:
        cost = cost + pd.to_numeric(extra, errors="coerce").fillna(0.0)
    return cost
