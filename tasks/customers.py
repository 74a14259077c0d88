"""Customer tasks: the register with history (摸清客户), classification (识别客户), profitability.

The register is versioned: a join, a leave or a change of business adds a new
version of the customer's record and closes the old one; nothing is overwritten,
so the history the studies warn about losing is always there.
"""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from tasks.registry import StepContext, task


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
    data_quality_rate: float
    invalid_records: int


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
    service_level: str


class ProfitabilityResult(TypedDict):
    segments: dict[str, SegmentValue]
    service_levels: dict[str, str]
    cost_to_serve_ratio: float
    unprofitable_share: float


@task("customers.register")
def register(
    context: StepContext,
    *,
    source: str,
    table: str = "customers",
    key: str = "customer_id",
    required_fields: tuple[str, ...] = ("customer_id", "name", "licence_no", "business_type", "address", "area"),
) -> RegisterResult:
    """Bring the customer register up to date from its source, keeping every past version.

    Reads the current list of retail customers, compares it with the register, and
    records joins, leaves and changes of business as new versions (history is never
    overwritten). Records missing a required field or failing a format check are
    counted as invalid and left out of the snapshot.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a CSV file path or a SQLAlchemy URL of the customer list.
        table: the table to read when ``source`` is a database URL.
        key: the column that identifies a customer across versions.
        required_fields: columns every valid record must fill in.

    Returns:
        ``snapshot`` (the register version this cycle wrote), ``customers_active``,
        ``joins``, ``leaves``, ``changes``, ``data_quality_rate`` (% of records valid)
        and ``invalid_records``.
    """
    raise NotImplementedError("customers.register is registered for validation; its body arrives with the seven-step model issue")


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
) -> ClassifyResult:
    """Classify customers by the published criteria and flag sudden changes in their sales.

    Each customer gets the class of the first rule it matches (``default_class`` if
    none). A customer moves class only after meeting the new class's rule for
    ``min_months_in_class`` months, so classes do not flip-flop. A customer whose
    sales moved more than ``anomaly_change_pct`` % against their own lookback
    average is flagged as an anomaly for follow-up.

    Args:
        context: the cycle this step runs in (passed by the engine).
        customers: the register snapshot to classify (``steps.<register step>.snapshot``).
        sales: a CSV file path or a SQLAlchemy URL of sales per customer and month.
        rules: the classification criteria, in order of precedence.
        default_class: the class of a customer no rule matches.
        lookback_months: months of sales the volume criteria average over.
        min_months_in_class: months a new class must hold before a customer moves.
        anomaly_change_pct: percentage change in monthly sales flagged as an anomaly.

    Returns:
        ``classification`` (a reference later steps read), ``class_counts`` per class,
        ``reclassified``, ``anomalies``, ``anomaly_rate`` (% of customers) and
        ``anomaly_customers`` (their ids).
    """
    raise NotImplementedError("customers.classify is registered for validation; its body arrives with the seven-step model issue")


@task("customers.profitability")
def profitability(
    context: StepContext,
    *,
    source: str,
    segment_by: str = "channel",
    lifetime_months: int = 36,
    discount_rate_pct: float = 8.0,
    levels: tuple[str, ...] = ("gold", "silver", "bronze"),
) -> ProfitabilityResult:
    """Weigh each customer segment's lifetime value against its cost to serve and set service levels.

    The most valuable segments (value well above cost to serve) get the first of
    ``levels``, the least the last; a segment whose cost to serve exceeds its value
    counts towards ``unprofitable_share``. Service that does not pay off is not
    stable, and not every customer can be "most favoured".

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a CSV file path or a SQLAlchemy URL of revenue, margin and service cost per customer.
        segment_by: the customer column that defines segments (e.g. ``channel``, ``class``).
        lifetime_months: the horizon of the lifetime value.
        discount_rate_pct: yearly discount rate applied to future margin.
        levels: service levels from best to most basic.

    Returns:
        ``segments`` (customers, lifetime value, cost to serve, level per segment),
        ``service_levels`` (segment -> level), ``cost_to_serve_ratio`` (% of lifetime
        value spent on service) and ``unprofitable_share`` (% of customers).
    """
    raise NotImplementedError("customers.profitability is registered for validation; its body arrives with the seven-step model issue")
