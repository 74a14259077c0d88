"""Service tasks: carrying the plan out (落实服务).

Customer visits at the frequency set for each class, orders taken by visit, phone
or online, delivery within the promised window, supplementary orders, after-sales
service, and the price labels and materials at the customer's shop. The task reads
what was done from the operational records and measures it against the plan.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from tasks.registry import StepContext, task

Channel = Literal["visit", "phone", "online"]


class DeliverResult(TypedDict):
    visits_planned: int
    visits_done: int
    visit_plan_completion: float
    orders: int
    supplementary_orders: int
    on_time_delivery_rate: float
    stockout_rate: float
    price_label_compliance: float
    after_sales_cases: int


@task("service.deliver")
def deliver(
    context: StepContext,
    *,
    plan: str,
    source: str,
    visits_per_month: dict[str, int],
    channels: tuple[Channel, ...] = ("visit", "phone"),
    delivery_window_hours: float = 24.0,
    accept_supplementary_orders: bool = True,
    check_price_labels: bool = True,
) -> DeliverResult:
    """Carry the period's service plan out and measure visits, orders and delivery against it.

    Schedules the visits each customer's class is due (``visits_per_month``), then,
    at the end of the period, reads the visit log, orders, deliveries and stock
    checks from ``source`` and compares them with the plan. An order is on time when
    delivered within ``delivery_window_hours``; a stock-out is a customer visit or
    stock check that found an allocated product out of stock.

    Args:
        context: the cycle this step runs in (passed by the engine).
        plan: the plan to carry out (``steps.<strategy or design step>.plan``).
        source: a CSV directory or a SQLAlchemy URL holding visits, orders, deliveries and stock checks.
        visits_per_month: visits per customer per month, by customer class or segment.
        channels: the order channels offered this period.
        delivery_window_hours: promised time from order to delivery.
        accept_supplementary_orders: accept orders outside the regular order day from the reserve.
        check_price_labels: check price labels and point-of-sale materials on each visit.

    Returns:
        ``visits_planned``, ``visits_done``, ``visit_plan_completion`` (%), ``orders``,
        ``supplementary_orders``, ``on_time_delivery_rate`` (%), ``stockout_rate`` (% of
        checks), ``price_label_compliance`` (% of shops) and ``after_sales_cases``.
    """
    raise NotImplementedError("service.deliver is registered for validation; its body arrives with the seven-step model issue")
