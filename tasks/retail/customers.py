"""Customer tasks: the register with history (摸清客户), classification (识别客户), profitability.

The register is versioned: a join, a leave or a change of business adds a new
version of the customer's record and closes the old one; nothing is overwritten,
so the history the studies warn about losing is always there (``pdcaflow.tasks.retail.register``).
Classification applies the published rules to each customer's monthly volumes,
with hysteresis, and flags sudden sales changes (``pdcaflow.tasks.retail.classification``).
Profitability weighs each segment's lifetime value against its cost to serve
(``pdcaflow.tasks.retail.profitability``).

This module holds the tasks' signatures and the docstrings users read; their
work is in ``pdcaflow.tasks.retail.customer_steps``, imported when a task runs, so that reading
the signatures (``pdca validate``) never imports pandas or numpy.
"""

from __future__ import annotations

from pdcaflow.tasks.retail.customer_types import ClassifyResult, ClassRule, ProfitabilityResult, RegisterResult
from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task

# The allowed values of the data contract (docs/retail-data.md).
BUSINESS_TYPES = ("convenience", "grocery", "supermarket", "chain_store", "tobacco_shop", "restaurant")
AREAS = ("urban", "town", "rural")
SIZES = ("small", "medium", "large")


@task("customers.register")
def register(
    context: StepContext,
    *,
    source: ProjectSource,
    table: str = "customers",
    register: ProjectSource = ".pdca/register.db",
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
        source: the customer list: a CSV or Parquet file, a directory, or ``connection:NAME``.
        table: the table to read when ``source`` is a directory or a database (``connection:NAME``).
        register: the register's database: a SQLite file in the project, or ``connection:NAME``.
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
    # The work is imported here, not at the top: `pdca validate` imports this module and stays off pandas.
    from pdcaflow.tasks.retail.customer_steps import run_register  # start-up speed: only when the task runs

    return run_register(context, source=source, table=table, register=register, register_table=register_table,
                        required_fields=required_fields, business_types=business_types, areas=areas, sizes=sizes,
                        as_of=as_of)


@task("customers.classify")
def classify(
    context: StepContext,
    *,
    customers: ProjectSource,
    sales: ProjectSource,
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
            or a directory or ``connection:NAME`` holding the table ``sales``.
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
    from pdcaflow.tasks.retail.customer_steps import run_classify  # see register(): pandas only when a task runs

    return run_classify(context, customers=customers, sales=sales, rules=rules, default_class=default_class,
                        lookback_months=lookback_months, min_months_in_class=min_months_in_class,
                        anomaly_change_pct=anomaly_change_pct, anomaly_min_volume=anomaly_min_volume)


@task("customers.profitability")
def profitability(
    context: StepContext,
    *,
    source: ProjectSource,
    segment_by: str = "class",
    sales: ProjectSource | None = None,
    products: ProjectSource | None = None,
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
            directory or ``connection:NAME`` holding the table ``customers``.
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
    from pdcaflow.tasks.retail.customer_steps import run_profitability  # see register(): pandas only when a task runs

    return run_profitability(context, source=source, segment_by=segment_by, sales=sales, products=products,
                             lookback_months=lookback_months, lifetime_months=lifetime_months,
                             discount_rate_pct=discount_rate_pct, retention_pct=retention_pct,
                             visits_per_month=visits_per_month, visit_cost=visit_cost,
                             orders_per_month=orders_per_month, order_cost=order_cost, levels=levels,
                             level_min_ratio=level_min_ratio)
