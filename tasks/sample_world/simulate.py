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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, read_table, write_table
from pdcaflow.tasks.sample_world import expected_demand, month_records, orders, population, respond
from pdcaflow.tasks.sample_world.world_model import CHANNELS
from pdcaflow.tasks.sample_world.periods import add_months, days_in, first_day, month_index, month_start
from pdcaflow.tasks.sample_world.storage import (FILES, WorldInfo, load_info, operations_dir, read_state, replace_sales_month,
                                 sales_table, write_arrow, write_customers, write_state)
from pdcaflow.tasks.sample_world.shocks import with_shocks
from pdcaflow.tasks.sample_world.supply import extend_supply

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
            ``visits_per_rep`` visits a month (default: the world's, 28).
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
    info = with_shocks(load_info(root), period)
    if month_index(period) <= month_index(info.history_end):
        raise ValueError(f"{period} is within the generated history of {root} (it ends {info.history_end}): "
                         f"the first month to simulate is {add_months(info.history_end, 1)}")
    _check_levers(visits_per_month, complaint_handlers, field_reps, delivery_window_hours, channels)
    plan_rows = _plan(plan, period)
    state = read_state(root, add_months(period, -1))
    backlog = read_state(root, add_months(period, -1), "complaints")
    rng = np.random.default_rng([info.seed, month_index(period), MONTH_STREAM])
    state = expected_demand.advance(rng, state, info.model)
    month = _Month(info, period, rng, state.loc[state["left"] == ""].reset_index(drop=True))
    classes = month.active["customer_id"].map(plan_rows.groupby("customer_id")["class"].first())
    planned, done, labels = _field_work(month, classes, visits_per_month, field_reps, check_price_labels)
    allocated, rationed = _allocations(plan_rows, month.ids, month.products)
    trade = _trade(month, allocated, rationed, done, channels, delivery_window_hours, accept_supplementary_orders)
    complaints, still_open, latent = _feedback(month, backlog, done, trade, complaint_handlers)
    size = survey_size if survey_size is not None else max(info.model.survey_min,
                                                            round(month.count * info.model.survey_pct / 100))
    folder = operations_dir(root, period)
    write_table(month_records.visits_table(month.ids, classes, planned, done, labels), folder / "visits.parquet")
    write_arrow(month_records.orders_table(trade.lines, month.ids, month.products, allocated, trade.channel,
                                     trade.line_hours, month.start, period, delivery_window_hours),
                folder / "orders.parquet")
    write_table(complaints, folder / "complaints.parquet")
    write_table(month_records.surveys_table(rng, month.ids, classes, latent, month.start, days_in(period), size,
                                      info.model), folder / "surveys.parquet")
    write_table(month_records.inspections_table(rng, month.ids, planned, done, labels,
                                          month.active["label_habit"].to_numpy(float), period, info.model),
                folder / "inspections.parquet")
    _save_month(rng, info, period, state, month.active, latent, trade.lines, still_open)
    return folder


@dataclass(frozen=True)
class _Month:
    """The month being simulated: its world, random stream and the customers active in it."""

    info: WorldInfo
    period: str
    rng: np.random.Generator
    active: pd.DataFrame

    @property
    def count(self) -> int:
        return len(self.active)

    @property
    def ids(self) -> np.ndarray:
        return self.active["customer_id"].to_numpy(object)

    @property
    def products(self) -> np.ndarray:
        return np.asarray(self.info.products, dtype=object)

    @property
    def hours(self) -> float:
        return days_in(self.period) * 24.0

    @property
    def start(self) -> pd.Timestamp:
        return month_start(self.period)

    @property
    def staffing(self) -> float:
        """Active customers in units of the staffing basis (5,000): what a per-basis lever is multiplied by."""
        return self.count / self.info.model.staffing_basis


@dataclass(frozen=True)
class _Trade:
    """The month's order lines after allocation and delivery, and what they did to each customer."""

    lines: orders.Lines
    channel: np.ndarray
    line_hours: np.ndarray      # hours from order to delivery, per line
    late: np.ndarray            # late orders per customer
    stockouts: np.ndarray       # stock-out lines per customer


def _field_work(month: _Month, classes: pd.Series, visits_per_month: Mapping[str, float],
                field_reps: float | None, check_price_labels: bool) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Visits planned and done per customer, and the price labels found on the visits."""
    model = month.info.model
    lowest = min(visits_per_month.values())
    planned = classes.map(dict(visits_per_month)).fillna(lowest).to_numpy(float).round().astype(int)
    capacity = (model.field_reps if field_reps is None else field_reps) * month.staffing * model.visits_per_rep
    done = respond.visits(month.rng, planned, month.active["area"].to_numpy(object), capacity, model)
    if not check_price_labels:
        return planned, done, pd.Series(pd.array([pd.NA] * month.count, dtype="boolean"))
    return planned, done, respond.price_labels(month.rng, done, month.active["label_habit"].to_numpy(float), model)


def _trade(month: _Month, allocated: np.ndarray, rationed: np.ndarray, done: np.ndarray, channels: Sequence[str],
           window_hours: float, accept_supplementary: bool) -> _Trade:
    """Orders against the allocation and the supply, their channels and delivery times."""
    model, rng = month.info.model, month.rng
    wanted = expected_demand.expected(month.active, month.period, len(month.products),
                             expected_demand.month_noise(rng, month.count, model))
    lines = orders.order_lines(rng, wanted, month.hours, model)
    lines = orders.fulfil(rng, lines, np.nan_to_num(allocated).astype(np.int64), rationed,
                          _supply(month.info, month.period), month.hours, model, accept_supplementary)
    channel = orders.channels_for(rng, lines, done > 0, tuple(channels), model)
    order_numbers, first_line = np.unique(lines.order, return_index=True)
    area = month.active["area"].to_numpy(object)
    order_hours = respond.delivery_hours(rng, area[lines.customer[first_line]], model)
    late_order = (order_hours > window_hours) & np.isin(order_numbers, lines.order[lines.delivered > 0])
    late = np.bincount(lines.customer[first_line], weights=late_order, minlength=month.count)
    stockouts = np.bincount(lines.customer, weights=lines.delivered < lines.requested, minlength=month.count)
    return _Trade(lines, channel, order_hours[np.searchsorted(order_numbers, lines.order)], late, stockouts)


def _feedback(month: _Month, backlog: pd.DataFrame, done: np.ndarray, trade: _Trade,
              complaint_handlers: float | None) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Complaints and their handling, then the customers' latent satisfaction at the end of the month."""
    model, rng = month.info.model, month.rng
    previous = month.active["satisfaction"].to_numpy(float)
    rate = respond.complaint_rates(trade.stockouts, trade.late, np.nan_to_num(previous, nan=4.0),
                                   days_in(month.period), model)
    new = respond.new_complaints(rng, rate, trade.stockouts, trade.late, month.hours, model)
    handlers = (model.complaint_handlers if complaint_handlers is None else complaint_handlers) * month.staffing
    waits = respond.waiting_hours(rng, len(new), float(rate.sum()), handlers, month.hours, model)
    complaints, still_open, trouble = month_records.complaint_cases(rng, backlog, new, waits, month.ids, month.start,
                                                              month.hours, month.period)
    penalty = np.where(trouble > 0, respond.complaint_penalty(trouble, model), 0.0)
    latent = respond.satisfaction(previous, month.active["sat_level"].to_numpy(float),
                                  month.active["visit_sensitivity"].to_numpy(float), done, trade.stockouts,
                                  trade.late, penalty, model)
    return complaints, still_open, latent


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
