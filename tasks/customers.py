"""Customer tasks: the register with history (摸清客户), classification (识别客户), profitability.

The register is versioned: a join, a leave or a change of business adds a new
version of the customer's record and closes the old one; nothing is overwritten,
so the history the studies warn about losing is always there (``tasks.register``).
Classification applies the published rules to each customer's monthly volumes,
with hysteresis, and flags sudden sales changes (``tasks.classification``).
Profitability weighs each segment's lifetime value against its cost to serve
(``tasks.profitability``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TypedDict

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tasks import classification, profitability as economics
from tasks.registry import StepContext, task
from tasks.sources import SourceError, is_url, read_table, write_table
from tasks.workspace import output_path

MAX_LISTED = 20  # ids an output lists at most: outputs go into the audit trail
# The allowed values of the data contract (docs/retail-data.md).
BUSINESS_TYPES = ("convenience", "grocery", "supermarket", "chain_store", "tobacco_shop", "restaurant")
AREAS = ("urban", "town", "rural")
SIZES = ("small", "medium", "large")


class ClassRule(BaseModel):
    """One published classification criterion; rules are tried in order and the first match wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the class a matching customer gets, e.g. 'A'")
    min_monthly_volume: float = Field(0.0, description="average monthly sales over the lookback, at least this")
    max_monthly_volume: float | None = Field(None, description="average monthly sales, at most this")
    business_types: tuple[str, ...] = Field((), description="e.g. supermarket, convenience; empty means any")
    areas: tuple[str, ...] = Field((), description="e.g. urban, town, rural or district names; empty means any")


class RegisterResult(TypedDict):
    snapshot: str
    customers_active: int
    joins: int
    leaves: int
    changes: int
    rejoins: int
    data_quality_rate: float
    invalid_records: int
    invalid_by_reason: dict[str, int]


class ClassifyResult(TypedDict):
    classification: str
    class_counts: dict[str, int]
    reclassified: int
    anomalies: int
    anomaly_rate: float
    anomaly_customers: list[str]


class SegmentValue(TypedDict):
    customers: int
    lifetime_value: float
    cost_to_serve: float
    return_ratio: float | None
    service_level: str


class ProfitabilityResult(TypedDict):
    segments: dict[str, SegmentValue]
    service_levels: dict[str, str]
    headroom: dict[str, int]
    cost_to_serve_ratio: float | None
    unprofitable_share: float


@task("customers.register")
def register(
    context: StepContext,
    *,
    source: str,
    table: str = "customers",
    register: str = "sqlite:///.pdca/register.db",
    register_table: str = "customer_register",
    required_fields: tuple[str, ...] = ("customer_id", "name", "licence_no", "business_type", "address", "area"),
    business_types: tuple[str, ...] = BUSINESS_TYPES,
    areas: tuple[str, ...] = AREAS,
    sizes: tuple[str, ...] = SIZES,
    as_of: str | None = None,
) -> RegisterResult:
    """Bring the customer register up to date from the customer list, keeping every past version.

    The register is a SQL table with one row per version of a customer
    (``customer_id, version, valid_from, valid_to, <attributes>, change_kind,
    recorded_cycle``), created when missing. A customer new to the register joins;
    one whose attributes differ from their current version changes; one with
    ``left`` set, or missing from the list, leaves; one that comes back after a
    leave rejoins. Each adds a version valid from ``as_of`` and closes the previous
    one (``valid_to`` = ``as_of``): the only update ever made, which never changes
    what a version recorded. Customers whose record did not change are not
    touched, so running the same list twice adds nothing. Everything is written in
    one transaction.

    Records that fail a check (a required field empty, ``licence_no`` not 12
    digits, a business type, area or size outside the allowed values, ``joined`` or
    ``left`` not a date, a repeated ``customer_id``) are counted as invalid, leave
    the register as it was for that customer, and are left out of the snapshot.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: the customer list: a CSV or Parquet file, a directory, or a SQLAlchemy URL.
        table: the table to read when ``source`` is a directory or a database URL.
        register: the register's database: a SQLAlchemy URL, or a file path for SQLite.
        register_table: the register's table in that database.
        required_fields: columns every valid record must fill in.
        business_types: the allowed values of ``business_type``.
        areas: the allowed values of ``area``.
        sizes: the allowed values of ``size`` (empty is allowed unless required).
        as_of: the date (ISO, ``YYYY-MM-DD``) new versions are valid from; by default
            the date the cycle started, in the time zone it started in.

    Returns:
        ``snapshot`` (path of ``register_snapshot.parquet``: the active valid customers'
        current versions), ``customers_active``, the versions written this run as
        ``joins``, ``leaves``, ``changes`` and ``rejoins``, ``data_quality_rate`` (% of
        records read that are valid, 2 decimals), ``invalid_records`` and
        ``invalid_by_reason`` (check -> records failing it; one record may fail several).

    Raises:
        SourceError: the list or the register cannot be read or written, or the list is empty.
        ValueError: ``as_of`` is not a date, or is before a version this run would close.
    """
    # Imported here, not at the top: `pdca validate` imports this module and must stay off SQLAlchemy.
    from tasks.register import apply, check_list, register_url

    valid_from = _period_start(as_of, context)
    raw = read_table(source, table, columns=("customer_id", *required_fields),
                     text_columns=("customer_id", "licence_no", *required_fields))
    if raw.empty:
        raise SourceError(f"{_where(source, table)}: the customer list is empty (refusing to mark every customer as left)")
    checked = check_list(raw, tuple(required_fields), {"business_type": business_types, "area": areas, "size": sizes})
    changes = apply(register_url(register), register_table, checked, valid_from, context.cycle)
    snapshot = write_table(changes.snapshot, output_path(context, "register_snapshot.parquet"))
    return {
        "snapshot": str(snapshot),
        "customers_active": len(changes.snapshot),
        "joins": changes.counts["join"],
        "leaves": changes.counts["leave"],
        "changes": changes.counts["change"],
        "rejoins": changes.counts["rejoin"],
        "data_quality_rate": round(100 * (checked.records - checked.invalid_records) / checked.records, 2),
        "invalid_records": checked.invalid_records,
        "invalid_by_reason": checked.invalid_by_reason,
    }


def _period_start(as_of: str | None, context: StepContext) -> date:
    if as_of is not None:
        try:
            return date.fromisoformat(as_of)
        except ValueError as exc:
            raise ValueError(f"as_of {as_of!r} is not a date written YYYY-MM-DD") from exc
    if context.started_at:  # the local date the cycle started: a retry next day still writes the same date
        return datetime.fromisoformat(context.started_at).date()
    return datetime.now(timezone.utc).date()


@task("customers.classify")
def classify(
    context: StepContext,
    *,
    customers: str,
    sales: str,
    rules: list[ClassRule],
    default_class: str = "D",
    lookback_months: int = 3,
    min_months_in_class: int = 2,
    anomaly_change_pct: float = 50.0,
    anomaly_min_volume: float = 20.0,
) -> ClassifyResult:
    """Classify customers by the published criteria and flag sudden changes in their sales.

    Volumes are cartons per calendar month, from the first to the last month of
    ``sales`` (a month without sales counts 0). A customer's volume for a month is
    the average over the ``lookback_months`` months ending with it; their rule
    class is that of the first rule they meet (volume, business type, area or
    district), ``default_class`` if none. A customer moves to a new class only once
    its rule has held ``min_months_in_class`` consecutive months; until then they
    keep their class. This is replayed month by month over the whole history, so
    the class of the last month is published and that of the month before is the
    previous class (what the previous cycle published, given the same rules and
    attributes; business type and area are today's).

    A customer's last month is an anomaly when it moved more than
    ``anomaly_change_pct`` % against their average over the ``lookback_months``
    months before it, that average is above 0, and the larger of the two is at
    least ``anomaly_min_volume`` cartons (so that tiny customers do not all flag).

    Args:
        context: the cycle this step runs in (passed by the engine).
        customers: the register snapshot to classify (``steps.<register step>.snapshot``).
        sales: sales per customer and month (``customer_id, month, quantity``): a file,
            or a directory or SQLAlchemy URL holding the table ``sales``.
        rules: the classification criteria, in order of precedence.
        default_class: the class of a customer no rule matches.
        lookback_months: months of sales the volume criteria average over.
        min_months_in_class: months a new class must hold before a customer moves (1: at once).
        anomaly_change_pct: percentage change of the last month against the customer's own
            recent average that is flagged as an anomaly.
        anomaly_min_volume: cartons a month below which a customer is too small to flag.

    Returns:
        ``classification`` (path of ``classification.parquet``: ``customer_id, class,
        previous_class, avg_volume, last_volume, anomaly``), ``class_counts`` (every
        class, 0 included), ``reclassified`` (class differs from the previous one),
        ``anomalies``, ``anomaly_rate`` (% of customers, 2 decimals) and
        ``anomaly_customers`` (the first 20 flagged ids, sorted).

    Raises:
        SourceError: a source cannot be read, has no sales, or holds a malformed month or quantity.
        ValueError: ``lookback_months`` or ``min_months_in_class`` below 1.
    """
    if lookback_months < 1 or min_months_in_class < 1:
        raise ValueError(f"lookback_months ({lookback_months}) and min_months_in_class ({min_months_in_class}) "
                         "must be at least 1")
    snapshot = read_table(customers, "customers", columns=("customer_id", "business_type", "area"))
    ids = snapshot["customer_id"].astype(str)
    if ids.duplicated().any():
        raise SourceError(f"{_where(customers, 'customers')}: customer_id {ids[ids.duplicated()].iloc[0]!r} "
                          "appears more than once")
    frame = read_table(sales, "sales", columns=("customer_id", "month", "quantity"))
    volumes, _calendar = classification.monthly_volumes(frame, ids.tolist(), _where(sales, "sales"))
    average = classification.rolling_mean(volumes, lookback_months)
    names = list(dict.fromkeys([rule.name for rule in rules] + [default_class]))
    held = classification.with_hysteresis(classification.rule_classes(
        average, _values(snapshot, "business_type"), _values(snapshot, "area"), _values(snapshot, "district"),
        [classification.Rule(rule.name, rule.min_monthly_volume, rule.max_monthly_volume, rule.business_types,
                             rule.areas) for rule in rules],
        names, default_class), min_months_in_class)
    flags = classification.anomalies(volumes, lookback_months, anomaly_change_pct, anomaly_min_volume)
    labels = np.array(names, dtype=object)
    previous = labels[held[:, -2]] if held.shape[1] > 1 else np.full(len(ids), None, dtype=object)
    result = pd.DataFrame({"customer_id": ids.to_numpy(), "class": labels[held[:, -1]], "previous_class": previous,
                           "avg_volume": average[:, -1], "last_volume": volumes[:, -1], "anomaly": flags})
    path = write_table(result, output_path(context, "classification.parquet"))
    counts = result["class"].value_counts()
    flagged = sorted(result.loc[result["anomaly"], "customer_id"])
    return {
        "classification": str(path),
        "class_counts": {name: int(counts.get(name, 0)) for name in names},
        "reclassified": int((result["previous_class"].notna() & (result["class"] != result["previous_class"])).sum()),
        "anomalies": len(flagged),
        "anomaly_rate": round(100 * len(flagged) / len(result), 2) if len(result) else 0.0,
        "anomaly_customers": flagged[:MAX_LISTED],
    }


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), None).to_numpy()


def _where(source: str, table: str) -> str:
    """A source as messages name it: a path, or a URL without its password and the table."""
    from tasks.register import display_url  # see register(): SQLAlchemy only when a task runs

    return f"{display_url(source)} table {table!r}" if is_url(source) else source


@task("customers.profitability")
def profitability(
    context: StepContext,
    *,
    source: str,
    segment_by: str = "class",
    sales: str | None = None,
    products: str | None = None,
    lookback_months: int = 3,
    lifetime_months: int = 36,
    discount_rate_pct: float = 8.0,
    retention_pct: float = 100.0,
    visits_per_month: dict[str, float] | None = None,
    visit_cost: float = 50.0,
    orders_per_month: float = 4.0,
    order_cost: float = 10.0,
    levels: tuple[str, ...] = ("gold", "silver", "bronze"),
    level_min_ratio: tuple[float, ...] = (3.0, 1.5),
) -> ProfitabilityResult:
    """Weigh each customer segment's lifetime value against its cost to serve and set service levels.

    A customer's monthly margin is their average over the last ``lookback_months``
    months of ``sales`` of quantity x price x margin_pct / 100 (``products``), or the
    ``monthly_margin`` column of ``source`` when no sales are named. Their monthly
    cost to serve is ``visits_per_month[segment] x visit_cost + orders_per_month x
    order_cost`` (plus ``source``'s ``monthly_service_cost`` column if it has one).
    Both are carried over ``lifetime_months`` months, month t weighted by
    ``retention^((t-1)/12) / (1 + discount)^(t/12)`` (yearly rates).

    A segment gets the first of ``levels`` whose minimum return ratio (value / cost,
    ``level_min_ratio``, one per level but the last) it reaches, else the last level.
    Its ``headroom`` is how many more visits a month each of its customers could get
    before the segment's cost to serve would exceed its value: a policy can refuse
    to raise visits where it is 0. Service that does not pay off is not stable, and
    not every customer can be "most favoured".

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: one row per customer with the ``segment_by`` column, e.g. the
            classification (``steps.<classify step>.classification``): a file, or a
            directory or SQLAlchemy URL holding the table ``customers``.
        segment_by: the column that defines segments (``class``, ``channel`` ...).
        sales: sales per customer, product and month (``customer_id, product_id, month,
            quantity``); a file, or a directory or URL holding ``sales``.
        products: ``product_id, price, margin_pct`` (price per unit, margin in %); a file,
            or a directory or URL holding ``products``. Needed with ``sales``.
        lookback_months: the last months of ``sales`` the monthly margin averages over.
        lifetime_months: the horizon of the lifetime value.
        discount_rate_pct: yearly discount rate applied to future margin and cost.
        retention_pct: % of customers still buying a year later (100: no churn).
        visits_per_month: segment -> visits per customer per month (a segment not named gets 0).
        visit_cost: the cost of one visit (above 0).
        orders_per_month: orders delivered to a customer per month.
        order_cost: the cost of delivering one order.
        levels: service levels from best to most basic.
        level_min_ratio: the return ratio each level but the last needs, highest first.

    Returns:
        ``segments`` (segment -> ``customers``, per-customer ``lifetime_value`` and
        ``cost_to_serve``, ``return_ratio``, ``service_level``), ``service_levels``
        (segment -> level), ``headroom`` (segment -> more visits a month that still
        pay off, 0 or more), ``cost_to_serve_ratio`` (% of lifetime value spent on
        service) and ``unprofitable_share`` (% of customers whose own cost to serve
        exceeds their own lifetime value).

    Raises:
        SourceError: a source cannot be read or lacks a column, or a product sold has no price.
        ValueError: a parameter is out of range, or ``level_min_ratio`` does not fit ``levels``.
    """
    _check_economics(levels, level_min_ratio, lifetime_months, lookback_months, visit_cost)
    customers = read_table(source, "customers", columns=("customer_id", segment_by))
    segment = customers[segment_by].astype(object).where(customers[segment_by].notna(), "unassigned").astype(str)
    if sales is not None:
        if products is None:
            raise ValueError("profitability: `sales` needs `products` (price and margin_pct per product)")
        margin = economics.monthly_margin(
            customers["customer_id"], read_table(sales, "sales", columns=("customer_id", "product_id", "month", "quantity")),
            read_table(products, "products", columns=("product_id", "price", "margin_pct")), lookback_months,
            _where(products, "products"))
    elif "monthly_margin" in customers.columns:
        margin = pd.to_numeric(customers["monthly_margin"], errors="coerce").fillna(0.0)
    else:
        raise SourceError(f"{_where(source, 'customers')}: no monthly_margin column; name `sales` and `products` "
                          "to compute the margin from sales")
    cost = economics.monthly_cost(segment, visits_per_month or {}, visit_cost, orders_per_month, order_cost,
                                  customers.get("monthly_service_cost"))
    factor = economics.lifetime_factor(lifetime_months, discount_rate_pct, retention_pct)
    table = economics.segment_table(segment, margin, cost, factor, visit_cost)
    segments: dict[str, SegmentValue] = {}
    for name, row in table.iterrows():
        ratio = None if row["return_ratio"] is None else round(float(row["return_ratio"]), 2)
        segments[str(name)] = {"customers": int(row["customers"]), "lifetime_value": round(float(row["lifetime_value"]), 2),
                               "cost_to_serve": round(float(row["cost_to_serve"]), 2), "return_ratio": ratio,
                               "service_level": economics.service_level(row["return_ratio"], levels, level_min_ratio)}
    total_value, total_cost = float(margin.sum()) * factor, float(cost.sum()) * factor
    return {
        "segments": segments,
        "service_levels": {name: value["service_level"] for name, value in segments.items()},
        "headroom": {str(name): int(spare) for name, spare in table["headroom"].items()},
        "cost_to_serve_ratio": round(100 * total_cost / total_value, 2) if total_value > 0 else None,
        "unprofitable_share": round(100 * float((cost > margin).mean()), 2) if len(customers) else 0.0,
    }


def _check_economics(levels: tuple[str, ...], level_min_ratio: tuple[float, ...], lifetime_months: int,
                     lookback_months: int, visit_cost: float) -> None:
    if not levels:
        raise ValueError("profitability: name at least one service level in `levels`")
    if len(level_min_ratio) != len(levels) - 1:
        raise ValueError(f"profitability: `level_min_ratio` needs {len(levels) - 1} value(s), one per level "
                         f"but the last ({', '.join(levels)}); got {len(level_min_ratio)}")
    if lifetime_months < 1 or lookback_months < 1:
        raise ValueError(f"profitability: lifetime_months ({lifetime_months}) and lookback_months "
                         f"({lookback_months}) must be at least 1")
    if visit_cost <= 0:
        raise ValueError(f"profitability: visit_cost must be above 0 (got {visit_cost})")
