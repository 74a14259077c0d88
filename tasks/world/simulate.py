"""The DO phase of one month in the sample world: the field carries the plan out and the customers respond.

:func:`simulate_month` reads the state at the end of the previous month, the
allocation plan and the service levels, and writes what the month's operational
systems would have recorded (``operations/<YYYY-MM>/``), appends the month's
sales, and saves the state at the end of the month (latent satisfaction, the
customer list with its joins, leaves and changes, open complaints). Its random
numbers come from a stream of the world's seed and the month, and it reads only
the previous month's state, so simulating a month again gives the same records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.sources import SourceError, read_table, write_table
from tasks.world import demand, orders, population, records, respond
from tasks.world.model import CHANNELS
from tasks.world.periods import add_months, days_in, first_day, month_index, month_start
from tasks.world.storage import (FILES, WorldInfo, load_info, operations_dir, read_state, replace_sales_month,
                                 sales_table, write_arrow, write_customers, write_state)
from tasks.world.supply import extend_supply

MONTH_STREAM = 1
PLAN_COLUMNS = ("customer_id", "class", "product_id", "allocated")


def simulate_month(directory: str | Path, period: str, *, plan: str | Path | pd.DataFrame,
                   visits_per_month: Mapping[str, float], complaint_handlers: float | None = None,
                   delivery_window_hours: float = 24.0, channels: Sequence[str] = CHANNELS,
                   field_reps: float | None = None, accept_supplementary_orders: bool = True,
                   check_price_labels: bool = True, survey_size: int | None = None) -> Path:
    """Simulate ``period`` in the world at ``directory`` under the given plan and service levels.

    Args:
        directory: the world (a directory with ``world.json``).
        period: the month to simulate, ``YYYY-MM``: the month after the last one simulated
            (or after the history); an earlier month already simulated is simulated again.
        plan: the allocation plan (a path to ``plan.parquet`` or the table): ``customer_id,
            class, product_id, allocated`` and, for rationed products, ``quota``; rows of
            other months than ``period`` (column ``month``) are ignored.
        visits_per_month: visits per customer per month by class; customers the plan does
            not list get the lowest.
        complaint_handlers: handlers per ``staffing_basis`` (5,000) active customers
            (default: the world's, 2).
        delivery_window_hours: the promised delivery time an order is on time within.
        channels: the order channels offered (``visit``, ``phone``, ``online``).
        field_reps: field reps per ``staffing_basis`` active customers, each making
            ``visits_per_rep`` visits a month (default: the world's, 25).
        accept_supplementary_orders: whether orders above an allocation can be placed on the reserve.
        check_price_labels: whether visits check the price labels (else ``price_labels_ok`` is empty).
        survey_size: customers called back (default: ``survey_pct`` % of active customers, at least 60).

    Returns:
        the month's operations directory.

    Raises:
        SourceError: the world, its previous month's state or the plan cannot be read.
        ValueError: a month before the simulation can start, or a lever out of range.
    """
    root = Path(directory)
    info = load_info(root)
    model = info.model
    if month_index(period) <= month_index(info.history_end):
        raise ValueError(f"{period} is within the generated history of {root} (it ends {info.history_end}): "
                         f"the first month to simulate is {add_months(info.history_end, 1)}")
    _check_levers(visits_per_month, complaint_handlers, field_reps, delivery_window_hours, channels)
    plan_rows = _plan(plan, period)
    state = read_state(root, add_months(period, -1))
    backlog = read_state(root, add_months(period, -1), "complaints")
    rng = np.random.default_rng([info.seed, month_index(period), MONTH_STREAM])
    state = demand.advance(rng, state, model)
    active = state.loc[state["left"] == ""].reset_index(drop=True)
    count = len(active)
    ids = active["customer_id"].to_numpy(object)
    hours = days_in(period) * 24.0
    start = month_start(period)
    scale = count / model.staffing_basis
    classes = active["customer_id"].map(plan_rows.groupby("customer_id")["class"].first())
    lowest = min(visits_per_month.values())
    planned = classes.map(dict(visits_per_month)).fillna(lowest).to_numpy(float).round().astype(int)
    capacity = (model.field_reps if field_reps is None else field_reps) * scale * model.visits_per_rep
    area = active["area"].to_numpy(object)
    done = respond.visits(rng, planned, area, capacity, model)
    habit = active["label_habit"].to_numpy(float)
    labels = respond.price_labels(rng, done, habit, model) if check_price_labels else \
        pd.Series(pd.array([pd.NA] * count, dtype="boolean"))
    # Orders against the allocation and the supply.
    products = np.asarray(info.products, dtype=object)
    wanted = demand.expected(active, period, len(products), demand.month_noise(rng, count, model))
    lines = orders.order_lines(rng, wanted, hours, model)
    allocated, rationed = _allocations(plan_rows, ids, products)
    supply = _supply(info, period)
    lines = orders.fulfil(rng, lines, np.nan_to_num(allocated).astype(np.int64), rationed, supply, hours, model,
                          accept_supplementary_orders)
    channel = orders.channels_for(rng, lines, done > 0, tuple(channels), model)
    order_numbers, first_line = np.unique(lines.order, return_index=True)
    per_order_hours = respond.delivery_hours(rng, area[lines.customer[first_line]], model)
    line_hours = per_order_hours[np.searchsorted(order_numbers, lines.order)]
    late_orders = np.zeros(count)
    late_order = (per_order_hours > delivery_window_hours) & np.isin(order_numbers, lines.order[lines.delivered > 0])
    np.add.at(late_orders, lines.customer[first_line], late_order)
    outcome = orders.per_customer(lines, count, np.zeros(len(lines.order)))
    stockouts = outcome["stockouts"].to_numpy(float)
    # Complaints, then how satisfied everyone ends the month.
    previous = active["satisfaction"].to_numpy(float)
    rate = respond.complaint_rates(stockouts, late_orders, np.nan_to_num(previous, nan=4.0), days_in(period), model)
    new = respond.new_complaints(rng, rate, stockouts, late_orders, hours, model)
    handlers = (model.complaint_handlers if complaint_handlers is None else complaint_handlers) * scale
    waits = respond.waiting_hours(rng, len(new), float(rate.sum()), handlers, hours, model)
    complaints, still_open, trouble = records.complaint_cases(rng, backlog, new, waits, ids, start, hours, period)
    penalty = np.where(trouble > 0, respond.complaint_penalty(trouble, model), 0.0)
    latent = respond.satisfaction(previous, active["sat_level"].to_numpy(float),
                                  active["visit_sensitivity"].to_numpy(float), done, stockouts, late_orders,
                                  penalty, model)
    size = survey_size if survey_size is not None else max(model.survey_min, round(count * model.survey_pct / 100))
    folder = operations_dir(root, period)
    tables = {
        "visits": records.visits_table(ids, classes, planned, done, labels),
        "orders": records.orders_table(lines, ids, products, allocated, channel, line_hours, start, period,
                                       delivery_window_hours),
        "complaints": complaints,
        "surveys": records.surveys_table(rng, ids, classes, latent, start, days_in(period), size, model),
        "inspections": records.inspections_table(rng, ids, planned, done, labels, habit, period, model),
    }
    for name, table in tables.items():
        if isinstance(table, pd.DataFrame):
            write_table(table, folder / f"{name}.parquet")
        else:
            write_arrow(table, folder / f"{name}.parquet")
    _save_month(rng, info, period, state, active, latent, lines, still_open)
    return folder


def _save_month(rng: np.random.Generator, info: WorldInfo, period: str, state: pd.DataFrame, active: pd.DataFrame,
                latent: np.ndarray, lines: orders.Lines, still_open: pd.DataFrame) -> None:
    """Append the sales, evolve the customer list, and write the state at the end of the month."""
    products = len(info.products)
    pair = lines.customer * products + lines.product
    delivered = np.bincount(pair, weights=lines.delivered, minlength=len(active) * products)
    requested = np.bincount(pair, weights=lines.requested, minlength=len(active) * products)
    rows = np.flatnonzero(requested > 0)
    sold = sales_table(active["customer_id"].to_numpy(str), rows // products, np.asarray(info.products, dtype=str),
                       rows % products, period, delivered[rows], requested[rows])
    replace_sales_month(info.directory, period, sold)
    state = state.copy()
    state.loc[state["left"] == "", "satisfaction"] = latent
    state, _ = population.evolve(rng, state, first_day(period), days_in(period), info.model,
                                 np.asarray(info.popularity))
    write_state(info.directory, period, state)
    write_state(info.directory, period, still_open, kind="complaints")
    write_customers(info.directory, state)
    extend_supply(info, add_months(period, info.horizon_months))


def _check_levers(visits_per_month: Mapping[str, float], complaint_handlers: float | None, field_reps: float | None,
                  window: float, channels: Sequence[str]) -> None:
    if not visits_per_month:
        raise ValueError("visits_per_month is empty: give the visits per customer per month for each class")
    negative = {name: value for name, value in visits_per_month.items() if not value >= 0}
    if negative:
        raise ValueError(f"visits_per_month must be 0 or more visits per customer: {negative}")
    for name, value in (("complaint_handlers", complaint_handlers), ("field_reps", field_reps)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} is {value}: more than 0 per 5,000 customers")
    if not window > 0:
        raise ValueError(f"delivery_window_hours is {window}: more than 0 hours")
    unknown = [name for name in channels if name not in CHANNELS]
    if unknown or not channels:
        raise ValueError(f"channels {list(channels)}: choose from {', '.join(CHANNELS)} (at least one)")


def _plan(plan: str | Path | pd.DataFrame, period: str) -> pd.DataFrame:
    frame = plan if isinstance(plan, pd.DataFrame) else read_table(str(plan), "plan", columns=PLAN_COLUMNS)
    where = "the plan" if isinstance(plan, pd.DataFrame) else str(plan)
    missing = [column for column in PLAN_COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(f"{where}: missing column(s) {', '.join(missing)}")
    if "month" in frame.columns:
        months = frame["month"].astype(str)
        if len(frame) and not (months == period).any():
            raise SourceError(f"{where}: plans {', '.join(sorted(months.unique())[:3])}, not {period}")
        frame = frame.loc[months == period]
    frame = frame.assign(customer_id=frame["customer_id"].astype(str), product_id=frame["product_id"].astype(str))
    if "quota" not in frame.columns:
        frame = frame.assign(quota=np.nan)
    return frame


def _allocations(plan: pd.DataFrame, ids: np.ndarray, products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(customers, products)`` allocated cartons (NaN where the plan has no row) and which products are rationed."""
    allocated = np.full((len(ids), len(products)), np.nan)
    row = pd.Series(np.arange(len(ids)), index=ids).reindex(plan["customer_id"]).to_numpy()
    column = pd.Series(np.arange(len(products)), index=products).reindex(plan["product_id"]).to_numpy()
    known = ~np.isnan(row) & ~np.isnan(column)
    values = pd.to_numeric(plan["allocated"], errors="coerce").fillna(0).to_numpy(float)
    allocated[row[known].astype(int), column[known].astype(int)] = values[known]
    quota = pd.to_numeric(plan["quota"], errors="coerce")
    rationed_ids = set(plan.loc[quota.notna() & (quota > 0), "product_id"])
    return allocated, np.asarray([product in rationed_ids for product in products])


def _supply(info: WorldInfo, period: str) -> np.ndarray:
    table = pd.read_csv(info.directory / FILES["supply"], dtype={"product_id": str, "month": str})
    month = table.loc[table["month"] == period].set_index("product_id")["supply"]
    missing = [product for product in info.products if product not in month.index]
    if missing:
        raise SourceError(f"{info.directory / FILES['supply']}: no supply of {', '.join(missing)} in {period}")
    return month.reindex(list(info.products)).to_numpy(np.int64)
