"""Service tasks: carrying the plan out (落实服务).

Customer visits at the frequency set for each class, orders taken by visit, phone
or online, delivery within the promised window, supplementary orders from the
reserve, after-sales service, and the price labels at the customer's shop. The
task reads what was done from the month's operations records and measures it
against the plan; it never makes records. In ``pdca demo`` the sample world is the
field: the demo has it simulate the month under the plan and service levels given
here just before the step runs (``pdcaflow.tasks.sample_world.field``).

This module holds the task's signature and the docstring users read; its work is
in ``pdcaflow.tasks.retail.service_steps``, imported when the task runs, so that reading the
signature (``pdca validate``) does not import pandas.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task

Channel = Literal["visit", "phone", "online"]


class DeliverResult(TypedDict):
    period: str
    operations: str
    visits_planned: int
    visits_done: int
    visit_plan_completion: float | None
    visit_plan_completion_by_class: dict[str, float]
    coverage: float | None
    orders: int
    supplementary_orders: int
    on_time_delivery_rate: float | None
    stockout_rate: float | None
    price_label_compliance: float | None
    complaints_opened: int
    after_sales_cases: int


@task("service.deliver")
def deliver(
    context: StepContext,
    *,
    plan: ProjectFile,
    source: ProjectSource,
    visits_per_month: dict[str, int],
    complaint_handlers: float | None = None,
    field_reps: float | None = None,
    channels: tuple[Channel, ...] = ("visit", "phone", "online"),
    delivery_window_hours: float = 24.0,
    accept_supplementary_orders: bool = True,
    check_price_labels: bool = True,
    survey_size: int | None = None,
    period: str | None = None,
    table_prefix: str = "",
) -> DeliverResult:
    """Carry the month's plan out and measure visits, orders, delivery and stock-outs against it.

    The period is ``period`` if given, else the month of the plan (its ``month``
    column). The month's ``visits``, ``orders`` and ``complaints`` records are read from
    ``source`` and measured (under ``pdca demo`` the sample world has just simulated
    that month under this plan and these service levels: ``visits_per_month``,
    ``complaint_handlers``, ``field_reps``, ``channels``, ``delivery_window_hours`` and
    the other "sample world only" values; running the step again re-simulates it):

    - visit plan completion: per customer min(done, planned), summed, over the visits planned;
    - coverage: customers visited at least once, of the customers in the visits table;
    - on time: an order whose delivered lines are all on time, of the orders with anything delivered;
    - stock-out: an order line delivered short of what it asked for, of the lines;
    - price-label compliance: shops in order, of the shops checked on a visit.

    Args:
        context: the cycle this step runs in (passed by the engine).
        plan: the allocation plan (``steps.<strategy step>.plan``): ``customer_id, class,
            product_id, month, demand, quota, allocated``.
        source: a directory holding the operations folder (``<source>/operations/<YYYY-MM>/``,
            as the sample world's ``data/retail`` does), the operations folder itself
            (``<source>/<YYYY-MM>/``), or ``connection:NAME`` whose ``visits``, ``orders``
            and ``complaints`` tables hold every month (visits need a ``month`` column).
        visits_per_month: visits per customer per month, by customer class.
        complaint_handlers: sample world only: complaint handlers per 5,000 active
            customers (default 2, the world's own).
        field_reps: sample world only: field reps per 5,000 active customers, each making
            400 visits a month (default 25).
        channels: the order channels offered this month.
        delivery_window_hours: promised time from order to delivery.
        accept_supplementary_orders: sample world only: take orders above an allocation on the reserve.
        check_price_labels: sample world only: check price labels on each visit.
        survey_size: sample world only: customers called back after the month (default 5 %, at least 60).
        period: the month carried out, ``YYYY-MM`` (default: the plan's month).
        table_prefix: for a database source, the prefix of the table names (``ops_`` reads ``ops_visits`` ...).

    Returns:
        ``period``, ``operations`` (the folder of month folders, or the URL: the source the
        CHECK step reads), ``visits_planned``, ``visits_done``, ``visit_plan_completion`` (%)
        and ``visit_plan_completion_by_class``, ``coverage`` (%), ``orders``,
        ``supplementary_orders``, ``on_time_delivery_rate`` (%), ``stockout_rate`` (% of
        order lines), ``price_label_compliance`` (%), ``complaints_opened`` and
        ``after_sales_cases`` (complaints of category ``after_sales``). Percentages have 2
        decimals and are ``None`` when there was nothing to measure.
    """
    from pdcaflow.tasks.retail.service_steps import carry_out  # start-up speed: pandas only when the task runs

    done = carry_out(plan=plan, source=source, delivery_window_hours=delivery_window_hours, period=period,
                     table_prefix=table_prefix)
    return DeliverResult(period=done.period, operations=done.operations, **done.measured)  # type: ignore[typeddict-item]
