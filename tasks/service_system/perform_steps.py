"""The work of ``service.perform`` (see :func:`pdcaflow.tasks.service_system.perform.perform`).

It picks the quarter, finds its operations records and measures them. It only reads
records: whoever makes them (the user's systems, or the water world that ``pdca demo``
has simulate the quarter just before this step) does so outside this library. The
world's hook calls :func:`perform_period` and :func:`operations_root` to find which
quarter to simulate and where to write it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.sources import FILE_SUFFIXES, SourceError, is_url, read_table
from pdcaflow.tasks.service_system.perform import PerformResult
from pdcaflow.tasks.service_system.quarters import (
    QUARTERS_DIR, check_quarter, flags, percent, quarter_bounds, quarters_root, read_quarter)

COMPLAINTS_DIR = "complaints"  # data/water/complaints/, beside quarters/


def perform_period(plan: str, period: str | None) -> str:
    """The quarter carried out: ``period`` if given, else the plan's (its ``period`` column).

    Raises:
        SourceError: the plan cannot be read or names no single quarter.
        ValueError: the quarter is not written ``YYYY-Qn``.
    """
    if period is not None:
        return check_quarter(period)
    frame = read_table(plan, "service_plan", columns=("period", "segment"))
    periods = sorted(set(frame["period"].dropna().astype(str)))
    if len(periods) != 1:
        raise SourceError(f"{plan}: the plan must name one quarter in its period column "
                          f"(found: {', '.join(periods) or 'none'}); or give the step's period (YYYY-Qn)")
    return check_quarter(periods[0], f"{plan}: period")


def operations_root(source: str) -> str:
    """The quarters source: a URL as given; ``<source>/quarters`` when it exists; else ``source`` itself."""
    return quarters_root(source)


def run_perform(*, plan: str, source: str, delivery_window_hours: float, period: str | None,
                answer_within_seconds: float, complaints: str | None) -> PerformResult:
    """The body of ``service.perform``."""
    if delivery_window_hours <= 0 or answer_within_seconds < 0:
        raise ValueError(f"service.perform: delivery_window_hours ({delivery_window_hours}) must be above 0 and "
                         f"answer_within_seconds ({answer_within_seconds}) 0 or more")
    quarter = perform_period(plan, period)
    root = operations_root(source)
    if not is_url(root) and not (Path(root) / quarter).is_dir():
        raise SourceError(f"{source}: no operations records for {quarter}: expected {Path(source) / QUARTERS_DIR / quarter} "
                          f"or {Path(source) / quarter}")
    planned = read_table(plan, "service_plan", columns=("offering_id", "change"), text_columns=("offering_id",))
    in_force = planned[planned["change"].isin(("keep", "new")) & planned["offering_id"].notna()]
    in_force = in_force[in_force["offering_id"].astype(str).str.strip() != ""]
    return {"period": quarter, "operations": root, **_visits(root, quarter),  # type: ignore[typeddict-item]
            **_deliveries(root, quarter, delivery_window_hours), **_hotline(root, quarter, answer_within_seconds),
            **_hygiene(root, quarter), "offerings_in_force": int(in_force["offering_id"].nunique()),
            "complaints_received": _complaints(root, quarter, complaints)}


def _numbers(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0)
    return frame


def _visits(root: str, quarter: str) -> dict[str, object]:
    visits = _numbers(read_quarter(root, quarter, "visits", ("customer_id", "segment", "planned", "done")),
                      ("planned", "done"))
    kept = visits[["planned", "done"]].min(axis=1)
    by_segment = {str(segment): percent(float(kept[rows.index].sum()), float(rows["planned"].sum()))
                  for segment, rows in visits.groupby("segment")}
    return {"visits_planned": int(visits["planned"].sum()), "visits_done": int(visits["done"].sum()),
            "visit_plan_completion": percent(float(kept.sum()), float(visits["planned"].sum())),
            "visit_plan_completion_by_segment": by_segment}


def _deliveries(root: str, quarter: str, window_hours: float) -> dict[str, object]:
    deliveries = read_quarter(root, quarter, "deliveries",
                              ("delivery_id", "ordered_at", "promised_by", "delivered_at", "out_of_water"),
                              parse_dates=("ordered_at", "promised_by", "delivered_at"))
    promised = deliveries["promised_by"].fillna(deliveries["ordered_at"] + pd.Timedelta(hours=window_hours))
    delivered = deliveries["delivered_at"].notna()
    on_time = delivered & (deliveries["delivered_at"] <= promised)
    count = len(deliveries)
    return {"deliveries": count, "undelivered": int((~delivered).sum()),
            "on_time_delivery_rate": percent(int(on_time.sum()), count),
            "stockout_rate": percent(int(flags(deliveries["out_of_water"]).sum()), count)}


def _hotline(root: str, quarter: str, within_seconds: float) -> dict[str, object]:
    calls = read_quarter(root, quarter, "hotline_calls", ("call_id", "wait_seconds", "answered"))
    wait = pd.to_numeric(calls["wait_seconds"], errors="coerce")
    in_time = flags(calls["answered"]) & (wait <= within_seconds)
    return {"hotline_calls": len(calls), "hotline_answer_rate": percent(int(in_time.sum()), len(calls))}


def _hygiene(root: str, quarter: str) -> dict[str, object]:
    returns = _numbers(read_quarter(root, quarter, "bucket_returns", ("return_id", "buckets", "hygiene_passed")),
                       ("buckets",))
    passed = returns.loc[flags(returns["hygiene_passed"]), "buckets"].sum()
    total = float(returns["buckets"].sum())
    return {"buckets_returned": int(total), "hygiene_pass_rate": percent(float(passed), total)}


def _complaints(root: str, quarter: str, complaints: str | None) -> int | None:
    where = complaints
    if where is None and is_url(root):
        where = root
    elif where is None:
        beside = Path(root).parent / COMPLAINTS_DIR
        if not any((beside / f"complaints{suffix}").is_file() for suffix in FILE_SUFFIXES):
            return None
        where = str(beside)
    try:
        frame = read_table(where, "complaints", columns=("contact_id", "received_at"), parse_dates=("received_at",))
    except SourceError:
        if complaints is None and is_url(root):  # the database simply keeps no complaints
            return None
        raise
    start, end = quarter_bounds(quarter)
    return int(((frame["received_at"] >= start) & (frame["received_at"] < end)).sum())
