"""The DO phase's records of one month and what ``service.deliver`` measures on them.

The records are the ``visits``, ``orders`` and ``complaints`` tables of
docs/retail-data.md. A directory holds one folder per month
(``<operations>/<YYYY-MM>/<table>.parquet`` or ``.csv``); a database holds every
month in one table per kind, and the month's rows are picked out here: visits
by their ``month`` column (the contract gives them no time of their own), orders
by ``month`` when they have it, else by ``ordered_at``, complaints by
``opened_at``.

Definitions (the task's docstring states them for users too):

- visit plan completion = sum over customers of min(done, planned) / sum of planned,
  so extra visits to one shop do not make up for missed visits to another;
- coverage = customers with at least one visit done / customers in the visits table;
- an order is on time when every line of it that was delivered is on time
  (``on_time``, or, where that is empty, delivered within the promised window);
  the rate counts orders with anything delivered;
- a stock-out is an order line delivered short of what it asked for (``delivered <
  requested``); the rate is over lines that asked for something;
- price-label compliance = shops found in order / shops checked (``price_labels_ok`` not empty);
- after-sales cases = complaints of category ``after_sales`` opened in the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import FILE_SUFFIXES, SourceError, is_url, read_table

COLUMNS = {
    "visits": ("customer_id", "class", "planned", "done", "price_labels_ok"),
    "orders": ("order_id", "customer_id", "product_id", "requested", "delivered", "supplementary", "ordered_at",
               "delivered_at", "on_time"),
    "complaints": ("complaint_id", "customer_id", "category", "opened_at"),
}
DATES = {"visits": (), "orders": ("ordered_at", "delivered_at"), "complaints": ("opened_at",)}
TIME_COLUMN = {"orders": "ordered_at", "complaints": "opened_at"}


@dataclass(frozen=True)
class MonthRecords:
    """One month's DO records and where each came from (for messages)."""

    visits: pd.DataFrame
    orders: pd.DataFrame
    complaints: pd.DataFrame
    where: dict[str, str]


def read_month(source: str, period: str, table_prefix: str = "") -> MonthRecords:
    """The period's visits, orders and complaints from a month folder's parent directory or a database URL.

    Raises:
        SourceError: the folder, a table or a column is missing (the message names which).
    """
    frames: dict[str, pd.DataFrame] = {}
    where: dict[str, str] = {}
    for kind in COLUMNS:
        if is_url(source):
            frame = read_table(source, table_prefix + kind, columns=COLUMNS[kind], parse_dates=DATES[kind])
            where[kind] = f"{source.split('://')[0]} table {table_prefix + kind!r}"
            frames[kind] = _in_month(frame, kind, period, where[kind])
        else:
            folder = Path(source) / period
            if not folder.is_dir():
                raise SourceError(f"{folder}: no operations records for {period} (no such directory)")
            frames[kind] = read_table(str(folder), kind, columns=COLUMNS[kind], parse_dates=DATES[kind])
            where[kind] = str(next((folder / f"{kind}{suffix}" for suffix in FILE_SUFFIXES
                                    if (folder / f"{kind}{suffix}").is_file()), folder / kind))
    return MonthRecords(frames["visits"], frames["orders"], frames["complaints"], where)


def measure(records: MonthRecords, period: str, window_hours: float) -> dict[str, Any]:
    """The outputs of ``service.deliver`` (all but ``period`` and ``operations``) from one month's records."""
    visits = _numbers(records.visits, ("planned", "done"), records.where["visits"])
    planned = visits["planned"].to_numpy(float)
    done = visits["done"].to_numpy(float)
    kept = np.minimum(done, planned)
    by_class = (pd.DataFrame({"class": visits["class"].fillna("-").astype(str), "kept": kept, "planned": planned})
                .groupby("class", sort=True)[["kept", "planned"]].sum())
    labels = visits["price_labels_ok"].dropna().astype(bool)
    orders = _numbers(records.orders, ("requested", "delivered"), records.where["orders"])
    asked = orders["requested"] > 0
    arrived = orders["delivered"] > 0
    on_time = _on_time(orders, window_hours).where(arrived)
    per_order = on_time.groupby(orders["order_id"].astype(str)).agg(["count", "all"])
    delivered_orders = per_order.loc[per_order["count"] > 0]
    supplementary = orders.loc[orders["supplementary"].fillna(False).astype(bool), "order_id"]
    complaints = records.complaints
    start = pd.Timestamp(f"{period}-01")
    opened = complaints.loc[(complaints["opened_at"] >= start) & (complaints["opened_at"] < start
                                                                   + pd.offsets.MonthBegin(1))]
    return {
        "visits_planned": int(planned.sum()),
        "visits_done": int(done.sum()),
        "visit_plan_completion": _percent(kept.sum(), planned.sum()),
        "visit_plan_completion_by_class": {str(name): _percent(row.kept, row.planned) or 0.0
                                           for name, row in by_class.iterrows() if row.planned > 0},
        "coverage": _percent((done >= 1).sum(), len(visits)),
        "orders": int(orders["order_id"].nunique()),
        "supplementary_orders": int(supplementary.nunique()),
        "on_time_delivery_rate": _percent(delivered_orders["all"].sum(), len(delivered_orders)),
        "stockout_rate": _percent((asked & (orders["delivered"] < orders["requested"])).sum(), asked.sum()),
        "price_label_compliance": _percent(labels.sum(), len(labels)),
        "complaints_opened": len(opened),
        "after_sales_cases": int((opened["category"].astype(str) == "after_sales").sum()),
    }


def _on_time(orders: pd.DataFrame, window_hours: float) -> pd.Series:
    """Each line's on-time flag: the ``on_time`` column, or delivered within the window where it is empty."""
    within = (orders["delivered_at"] - orders["ordered_at"]) <= pd.Timedelta(hours=window_hours)
    flag = orders["on_time"].astype("boolean")
    return flag.fillna(within.where(orders["delivered_at"].notna())).astype("boolean")


def _numbers(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> pd.DataFrame:
    converted = {}
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            raise SourceError(f"{where}: column {column}: {int(bad.sum())} value(s) are not counts of 0 or more "
                              f"(first: {str(frame.loc[bad, column].iloc[0])!r})")
        converted[column] = values
    return frame.assign(**converted)


def _in_month(frame: pd.DataFrame, kind: str, period: str, where: str) -> pd.DataFrame:
    if "month" in frame.columns:
        return frame.loc[frame["month"].astype(str).str.slice(0, 7) == period].reset_index(drop=True)
    if kind in TIME_COLUMN:
        start = pd.Timestamp(f"{period}-01")
        times = frame[TIME_COLUMN[kind]]
        return frame.loc[(times >= start) & (times < start + pd.offsets.MonthBegin(1))].reset_index(drop=True)
    raise SourceError(f"{where}: no month column to pick {period}'s {kind} from "
                      "(a database table holds every month: add month as YYYY-MM)")


def _percent(part: float, whole: float) -> float | None:
    return round(100.0 * float(part) / float(whole), 2) if whole else None
