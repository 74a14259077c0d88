"""The operations records of a simulated month, as docs/retail-data.md lays them out.

Each function turns the arrays of :mod:`pdcaflow.tasks.sample_world.simulate` into one table of
``operations/<YYYY-MM>/``: visits, orders, complaints, surveys and inspections.
Complaint cases still open at the end of the month go into the next month's
table again (with their original ``opened_at``), so no case is ever lost between
months: the table of a month lists every case that was open at some time in it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from pdcaflow.tasks.sample_world import respond
from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.orders import Lines

COMPLAINT_COLUMNS = ("complaint_id", "customer_id", "category", "opened_at", "closed_at", "contacts")


def visits_table(customer_ids: np.ndarray, classes: pd.Series, planned: np.ndarray, done: np.ndarray,
                 labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": customer_ids, "class": classes.to_numpy(object),
                         "planned": planned.astype("int64"), "done": done.astype("int64"),
                         "price_labels_ok": labels.to_numpy()}).astype({"price_labels_ok": "boolean"})


def orders_table(lines: Lines, customer_ids: np.ndarray, product_ids: np.ndarray, allocated: np.ndarray,
                 channel: np.ndarray, hours_to_deliver: np.ndarray, start: pd.Timestamp, period: str,
                 window_hours: float) -> pa.Table:
    """One row per order line; ``hours_to_deliver`` is per line (the same for every line of an order).

    Built in Arrow with dictionary-coded text: a large world's month has millions of
    lines. ``delivered_at`` and ``on_time`` are empty for a line with nothing delivered.
    """
    orders, position = np.unique(lines.order, return_inverse=True)
    names = pa.array([f"O{period.replace('-', '')}-{number:07d}" for number in range(1, len(orders) + 1)])
    ordered_at = _minutes_after(start, lines.at_hours)
    arrived = lines.delivered > 0
    delivered_at = ordered_at + _minutes(hours_to_deliver)
    channels, channel_codes = np.unique(channel, return_inverse=True)
    return pa.table({
        "order_id": pa.DictionaryArray.from_arrays(pa.array(position.astype(np.int32)), names),
        "customer_id": pa.DictionaryArray.from_arrays(pa.array(lines.customer.astype(np.int32)),
                                                      pa.array(customer_ids.astype(str))),
        "product_id": pa.DictionaryArray.from_arrays(pa.array(lines.product.astype(np.int32)),
                                                     pa.array(product_ids.astype(str))),
        "channel": pa.DictionaryArray.from_arrays(pa.array(channel_codes.astype(np.int32)),
                                                  pa.array(channels.astype(str))),
        "requested": pa.array(lines.requested.astype(np.int64)),
        "allocated": pa.array(allocated[lines.customer, lines.product].astype(np.float64)),
        "delivered": pa.array(lines.delivered.astype(np.int64)),
        "supplementary": pa.array(lines.supplementary),
        "ordered_at": pa.array(ordered_at),
        "delivered_at": pa.array(delivered_at, mask=~arrived),
        "on_time": pa.array(hours_to_deliver <= window_hours, mask=~arrived),
    })


def _minutes(hours: np.ndarray) -> np.ndarray:
    return np.round(hours * 60).astype(np.int64).astype("timedelta64[m]")


def _minutes_after(start: pd.Timestamp, hours: np.ndarray) -> np.ndarray:
    """``start`` plus ``hours``, to the minute, as seconds (the finest unit pandas and Arrow share with numpy)."""
    return (np.datetime64(start.to_datetime64(), "m") + _minutes(hours)).astype("datetime64[s]")


def complaint_cases(rng: np.random.Generator, backlog: pd.DataFrame, new: pd.DataFrame, waits: np.ndarray,
                    customer_ids: np.ndarray, start: pd.Timestamp, hours_in_month: float,
                    period: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The month's complaint cases: last month's still open, then this month's new ones.

    A new case closes after its wait for a handler (``waits``), the handler's work and
    the wait on the customer or the field. Returns the month's complaints table, the
    cases still open at its end (the next month's backlog, with when each will close)
    and each customer's hours of complaint trouble (the longest of their cases:
    resolution time, or age at the month's end while open).
    """
    month_end = start + pd.Timedelta(hours=hours_in_month)
    opened_new = start + pd.to_timedelta(np.round(new["opened"].to_numpy() * 60), unit="min")
    closes_new = opened_new + pd.to_timedelta(
        np.round((waits + new["work"].to_numpy() + new["external"].to_numpy()) * 60), unit="min")
    opened_at = pd.DatetimeIndex(np.concatenate([pd.to_datetime(backlog["opened_at"]).to_numpy("datetime64[ns]"),
                                                 opened_new.to_numpy("datetime64[ns]")]))
    closes_at = pd.DatetimeIndex(np.concatenate([pd.to_datetime(backlog["closes_at"]).to_numpy("datetime64[ns]"),
                                                 closes_new.to_numpy("datetime64[ns]")]))
    closed = np.asarray(closes_at <= month_end)
    until = closes_at.where(closed, month_end)
    hours = ((until - opened_at) / pd.Timedelta(hours=1)).to_numpy(float)
    this_month = ((until - opened_at.where(opened_at > start, start)) / pd.Timedelta(hours=1)).to_numpy(float)
    earlier = np.concatenate([backlog["contacts"].to_numpy(int), np.ones(len(new), int)])
    contacts = earlier + respond.contacts(rng, this_month) - 1
    ids = [f"K{period.replace('-', '')}-{number:05d}" for number in range(1, len(new) + 1)]
    table = pd.DataFrame({
        "complaint_id": np.concatenate([backlog["complaint_id"].to_numpy(object), np.asarray(ids, dtype=object)]),
        "customer_id": np.concatenate([backlog["customer_id"].to_numpy(object),
                                       customer_ids[new["customer"].to_numpy()]]),
        "category": np.concatenate([backlog["category"].to_numpy(object), new["category"].to_numpy(object)]),
        "opened_at": opened_at, "closed_at": closes_at.where(closed), "contacts": contacts.astype("int64")})
    still_open = table.loc[~closed, ["complaint_id", "customer_id", "category", "opened_at", "contacts"]]
    still_open = still_open.assign(closes_at=closes_at[~closed]).reset_index(drop=True)
    trouble = np.zeros(len(customer_ids))
    rows = pd.Series(np.arange(len(customer_ids)), index=customer_ids).reindex(table["customer_id"]).to_numpy()
    known = ~np.isnan(rows)
    np.maximum.at(trouble, rows[known].astype(int), hours[known])
    return table, still_open, trouble


def surveys_table(rng: np.random.Generator, customer_ids: np.ndarray, classes: pd.Series, latent: np.ndarray,
                  start: pd.Timestamp, days: int, size: int, model: WorldModel) -> pd.DataFrame:
    """Follow-up calls in the last week of the month to a random sample of ``size`` customers."""
    chosen = np.sort(rng.choice(len(customer_ids), size=min(size, len(customer_ids)), replace=False))
    minutes = rng.integers(0, 7 * 24 * 60, len(chosen))
    called = start + pd.Timedelta(days=max(days - 7, 0)) + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame({"customer_id": customer_ids[chosen], "class": classes.to_numpy(object)[chosen],
                         "score": respond.survey_scores(rng, latent[chosen], model).astype("int64"),
                         "surveyed_at": called})


def inspections_table(rng: np.random.Generator, customer_ids: np.ndarray, planned: np.ndarray, done: np.ndarray,
                      labels: pd.Series, habit: np.ndarray, period: str, model: WorldModel) -> pd.DataFrame:
    """Three-level inspection records: self-check, department and company samples of shops."""
    completion = np.where(planned > 0, np.minimum(done / np.maximum(planned, 1), 1.0), 1.0)
    labels_ok = labels.astype("Float64").fillna(pd.Series(habit)).to_numpy(float)
    frames = []
    for level, rows in respond.inspection_sample(rng, len(customer_ids), model):
        frames.append(pd.DataFrame({
            "customer_id": customer_ids[rows], "level": level,
            "score": respond.inspection_scores(rng, completion[rows], labels_ok[rows], level, model)}))
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "record_id", [f"I{period.replace('-', '')}-{number:05d}" for number in range(1, len(table) + 1)])
    return table.astype({"score": "int64"})
