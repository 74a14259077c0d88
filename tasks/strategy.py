"""Strategy tasks: supply strategy and the allocation of scarce products (制订策略).

A product is scarce when the supply available for the period covers less of its
forecast demand than ``scarce_below``. Scarce products are allocated to customers
by the published *reasonable quota standard* of their class; plentiful ones are
supplied to demand. A share of supply can be held back for supplementary orders.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from tasks.registry import StepContext, task


class AllocateResult(TypedDict):
    plan: str
    allocated: dict[str, float]
    scarce_products: list[str]
    demand_coverage: float
    customers_with_quota: int
    reserve: dict[str, float]


@task("strategy.allocate")
def allocate(
    context: StepContext,
    *,
    forecast: dict[str, list[float]],
    classification: str,
    supply: str,
    quotas: dict[str, float],
    method: Literal["quota", "proportional", "priority"] = "quota",
    scarce_below: float = 1.0,
    reserve_pct: float = 5.0,
    class_counts: dict[str, int] | None = None,
    focus_brands: tuple[str, ...] = (),
) -> AllocateResult:
    """Decide the period's supply strategy and allocate scarce products to customers by class quota.

    With ``quota`` each customer of a class may order up to its class quota of a
    scarce product; ``proportional`` shares supply in proportion to forecast demand;
    ``priority`` serves classes in the order of ``quotas`` until supply runs out.
    ``focus_brands`` are the brands the period's brand strategy promotes; they are
    carried into the plan for the service step.

    Args:
        context: the cycle this step runs in (passed by the engine).
        forecast: next period's forecast (``steps.<forecast step>.forecast``).
        classification: the customer classification (``steps.<classify step>.classification``).
        supply: a CSV file path or a SQLAlchemy URL of the supply available per product.
        quotas: the reasonable quota standard: units per customer per period, by class.
        method: how scarce products are shared: ``quota``, ``proportional`` or ``priority``.
        scarce_below: supply / forecast demand below which a product counts as scarce.
        reserve_pct: % of each scarce product's supply held back for supplementary orders.
        class_counts: customers per class (``steps.<classify step>.class_counts``), to size quotas.
        focus_brands: brands the brand strategy promotes this period.

    Returns:
        ``plan`` (a reference the service step carries out), ``allocated`` (product ->
        units), ``scarce_products``, ``demand_coverage`` (% of forecast demand that
        supply and quotas cover), ``customers_with_quota`` and ``reserve`` (product -> units).
    """
    raise NotImplementedError("strategy.allocate is registered for validation; its body arrives with the seven-step model issue")
