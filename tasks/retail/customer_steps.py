"""The work of the customer tasks, imported by them only when they run (pandas, numpy, SQLAlchemy).

:mod:`pdcaflow.tasks.retail.customers` holds the registered tasks (signatures and the docstrings
users read); each calls its ``run_*`` function here. The arithmetic lives in
:mod:`pdcaflow.tasks.retail.classification` and :mod:`pdcaflow.tasks.retail.profitability`, the register in
:mod:`pdcaflow.tasks.retail.register`; this module reads the inputs, checks them, writes the
tables and reports the totals.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pandas as pd

from pdcaflow.tasks.retail import classification

from pdcaflow.tasks.retail import profitability as economics
from pdcaflow.tasks.retail.customer_types import ClassifyResult, ClassRule, ProfitabilityResult, RegisterResult, SegmentValue
from pdcaflow.tasks.retail.register import apply, check_list, register_url
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, display_source, is_url, read_table, write_table
from pdcaflow.tasks.sdk.workspace import output_path

MAX_LISTED = 20  # ids an output lists at most: outputs go into the audit trail


def run_register(context: StepContext, *, source: str, table: str, register: str, register_table: str,
                 required_fields: tuple[str, ...], business_types: tuple[str, ...], areas: tuple[str, ...],
                 sizes: tuple[str, ...], as_of: str | None) -> RegisterResult:
    """The body of ``customers.register`` (see :func:`pdcaflow.tasks.retail.customers.register`)."""
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


def run_classify(context: StepContext, *, customers: str, sales: str, rules: list[ClassRule], default_class: str,
                 lookback_months: int, min_months_in_class: int, anomaly_change_pct: float,
                 anomaly_min_volume: float) -> ClassifyResult:
    """The body of ``customers.classify`` (see :func:`pdcaflow.tasks.retail.customers.classify`)."""
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
    return f"{display_source(source)} table {table!r}" if is_url(source) else source


def run_profitability(context: StepContext, *, source: str, segment_by: str, sales: str | None, products: str | None,
                      lookback_months: int, lifetime_months: int, discount_rate_pct: float, retention_pct: float,
                      visits_per_month: dict[str, float] | None, visit_cost: float, orders_per_month: float,
                      order_cost: float, levels: tuple[str, ...],
                      level_min_ratio: tuple[float, ...]) -> ProfitabilityResult:
    """The body of ``customers.profitability`` (see :func:`pdcaflow.tasks.retail.customers.profitability`)."""
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
