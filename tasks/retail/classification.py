"""The arithmetic of classification: monthly volumes, published rules, hysteresis, sales anomalies.

Everything works on a customers x months array of cartons (numpy), so 100,000
customers with two years of history classify in well under a second.

Definitions (the task's docstring states them for users too):

- **month calendar**: every month from the first to the last month in the sales
  table; a customer with no sales rows in a month sold 0 that month.
- **volume** of month *t*: the average monthly cartons over the ``lookback``
  months ending with *t* (fewer at the very start of the history).
- **rule class** of month *t*: the class of the first rule the customer meets
  with that volume and their (current) business type and area; the default class
  when none matches.
- **class** (with hysteresis ``hold``): in the first month the rule class; after
  that the customer takes a new rule class once it has held ``hold`` consecutive
  months, and otherwise keeps the class it had. The class published this cycle is
  that of the last month, the previous class that of the month before (what the
  previous cycle published, given the same rules).
- **anomaly**: base = the average of the ``lookback`` months *before* the last
  month. The last month is an anomaly when base > 0, the larger of base and last
  month is at least ``min_volume`` cartons (tiny customers do not flag), and
  ``|last - base| / base`` exceeds ``change_pct`` %. A customer with no sales in the
  base months has no range of their own yet and is not flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError


@dataclass(frozen=True)
class Rule:
    """One classification rule in array form (see ``pdcaflow.tasks.retail.customer_types.ClassRule``)."""

    name: str
    min_volume: float
    max_volume: float | None
    business_types: tuple[str, ...]
    areas: tuple[str, ...]


def monthly_volumes(sales: pd.DataFrame, customer_ids: Sequence[str], where: str) -> tuple[np.ndarray, list[str]]:
    """Cartons per customer (rows, in ``customer_ids`` order) and calendar month (columns, oldest first).

    Sales of customers not in ``customer_ids`` are ignored.

    Raises:
        SourceError: no sales rows, a month not written ``YYYY-MM``, or a quantity that is not a number.
    """
    if sales.empty:
        raise SourceError(f"{where}: no sales rows to classify by")
    month_codes, month_texts = pd.factorize(sales["month"].astype(str).str.strip())
    parsed = pd.to_datetime(pd.Series(month_texts), format="%Y-%m", errors="coerce")
    if parsed.isna().any():
        bad = ", ".join(repr(text) for text in month_texts[parsed.isna().to_numpy()][:3])
        raise SourceError(f"{where}: month must be written YYYY-MM, found {bad}")
    ordinals = (parsed.dt.year * 12 + parsed.dt.month - 1).to_numpy()
    first, last = int(ordinals.min()), int(ordinals.max())
    quantity = pd.to_numeric(sales["quantity"], errors="coerce")
    if quantity.isna().any():
        raise SourceError(f"{where}: quantity is not a number in {int(quantity.isna().sum())} row(s)")
    rows = pd.Index(customer_ids).get_indexer(sales["customer_id"].astype(str))
    columns = ordinals[month_codes] - first
    months = last - first + 1
    known = rows >= 0
    flat = np.bincount(rows[known] * months + columns[known], weights=quantity.to_numpy(dtype=float)[known],
                       minlength=len(customer_ids) * months)
    calendar = [f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}" for ordinal in range(first, last + 1)]
    return flat.reshape(len(customer_ids), months), calendar


def rolling_mean(volumes: np.ndarray, window: int) -> np.ndarray:
    """The mean of each month and the ``window - 1`` months before it (fewer at the start)."""
    sums = np.concatenate([np.zeros((volumes.shape[0], 1)), np.cumsum(volumes, axis=1)], axis=1)
    ends = np.arange(1, volumes.shape[1] + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[:, ends] - sums[:, starts]) / (ends - starts)


def rule_classes(volume: np.ndarray, business_type: np.ndarray, area: np.ndarray, district: np.ndarray,
                 rules: Sequence[Rule], classes: Sequence[str], default: str) -> np.ndarray:
    """The rule class of every customer and month, as indexes into ``classes`` (first matching rule wins)."""
    codes = np.full(volume.shape, classes.index(default), dtype=np.int16)
    for rule in reversed(rules):
        meets = volume >= rule.min_volume
        if rule.max_volume is not None:
            meets &= volume <= rule.max_volume
        if rule.business_types:
            meets &= np.isin(business_type, rule.business_types)[:, None]
        if rule.areas:
            meets &= (np.isin(area, rule.areas) | np.isin(district, rule.areas))[:, None]
        codes = np.where(meets, np.int16(classes.index(rule.name)), codes)
    return codes


def with_hysteresis(rule_codes: np.ndarray, hold: int) -> np.ndarray:
    """The class of every customer and month when a new rule class must hold ``hold`` months first."""
    held = np.empty_like(rule_codes)
    held[:, 0] = rule_codes[:, 0]
    run = np.ones(rule_codes.shape[0], dtype=np.int32)
    for month in range(1, rule_codes.shape[1]):
        run = np.where(rule_codes[:, month] == rule_codes[:, month - 1], run + 1, 1)
        held[:, month] = np.where(run >= hold, rule_codes[:, month], held[:, month - 1])
    return held


def anomalies(volumes: np.ndarray, lookback: int, change_pct: float, min_volume: float) -> np.ndarray:
    """Whether each customer's last month is far outside their own recent range (see the module doc)."""
    if volumes.shape[1] < 2:
        return np.zeros(volumes.shape[0], dtype=bool)
    last = volumes[:, -1]
    base = volumes[:, max(0, volumes.shape[1] - 1 - lookback):-1].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.abs(last - base) / base * 100
    return (base > 0) & (np.maximum(base, last) >= min_volume) & (change > change_pct)
