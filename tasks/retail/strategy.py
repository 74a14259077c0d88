"""Strategy tasks: supply strategy and the allocation of scarce products (制订策略).

A product is scarce when the supply of the period covers less of its forecast
demand than ``scarce_below``. Scarce products are allocated to customers by the
published *reasonable quota standard* of their class, after a share of supply is
held back for supplementary orders; plentiful ones are supplied to demand. The
arithmetic lives in :mod:`pdcaflow.tasks.retail.allocation`; :mod:`pdcaflow.tasks.retail.strategy_steps` reads
the inputs, checks them, writes the plan and reports its totals. This module
holds the task's signature and the docstring users read, and imports that work
only when the task runs, so that reading the signature (``pdca validate``) never
imports pandas or numpy.
"""

from __future__ import annotations

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task
from pdcaflow.tasks.retail.strategy_types import AllocateResult, Method


@task("strategy.allocate")
def allocate(
    context: StepContext,
    *,
    forecast: ProjectFile,
    classification: ProjectFile,
    supply: ProjectSource,
    quotas: dict[str, float],
    method: Method = "quota",
    scarce_below: float = 1.0,
    reserve_pct: float = 5.0,
    supply_table: str = "supply",
) -> AllocateResult:
    """Allocate next month's supply to customers, scarce products by the quota standard of each class.

    Each product's forecast for the month (per class, or for all customers when its
    class is ``*``) is split across the customers it covers in proportion to their
    recent volume (``avg_volume``), in whole cartons: that is each customer's demand.
    A product is scarce when its supply is less than ``scarce_below`` times its total
    demand. Of a scarce product, ``reserve_pct`` % of supply is held back for
    supplementary orders and the rest shared by ``method``:

    - ``quota``: each class is first entitled to its customers' demand up to the class
      quota each; when supply is short of all entitlements, classes get shares in
      proportion to their entitlements. Supply left once every entitlement is met goes
      to the demand above the quotas, in proportion to it.
    - ``priority``: the same entitlements, but served class by class in the order
      ``quotas`` lists them until supply runs out.
    - ``proportional``: no quotas; supply is shared in proportion to demand.

    Within a class, customers get shares in proportion to their demand, none above
    the quota. A product that is not scarce is allocated its demand in full, or, if
    its supply is still short of demand (``scarce_below`` below 1), its supply shared
    in proportion to demand. Allocations are whole cartons by the largest-remainder
    method: a product's allocations never add up to more than its supply, and two
    customers of one class with equal demand differ by at most one carton. The month
    allocated is the earliest in ``forecast``. Negative forecasts count as zero.

    Args:
        context: the cycle this step runs in (passed by the engine).
        forecast: the forecast table (``steps.<forecast step>.forecast``): ``product_id,
            class, month, forecast``, ``class`` = ``*`` for a forecast by product.
        classification: the classification table (``steps.<classify step>.classification``):
            ``customer_id, class, avg_volume``, one row per customer.
        supply: a CSV or Parquet file, a directory, or ``connection:NAME`` with the supply
            per product and month: ``product_id, month, supply`` (cartons).
        quotas: the reasonable quota standard: cartons per customer per month of a scarce
            product, by class (every class in the classification needs one unless
            ``method`` is ``proportional``; a fraction of a carton is dropped).
        method: how a scarce product is shared: ``quota``, ``priority`` or ``proportional``.
        scarce_below: supply / demand below which a product is scarce.
        reserve_pct: % of a scarce product's supply held back for supplementary orders.
        supply_table: the table to read when ``supply`` is a directory or a database (``connection:NAME``).

    Returns:
        ``plan`` (path of ``plan.parquet``: ``customer_id, class, product_id, month, demand,
        quota, allocated``, one row per customer and product with demand; ``quota`` empty
        where no quota applied), ``month``, ``scarce_products`` (ids), ``fill_rate`` (% of
        the customers' demand allocated, all products), ``demand_coverage`` (% of the
        forecast allocated: also counts forecast for classes without customers and
        rounding), ``reserve`` (cartons held back) and ``allocated_total`` (cartons).
        The rates are ``None`` when there is no demand.
    """
    # The work is imported here, not at the top: `pdca validate` imports this module and stays off pandas.
    from pdcaflow.tasks.retail.strategy_steps import run_allocate  # start-up speed: only when the task runs

    return run_allocate(context, forecast=forecast, classification=classification, supply=supply, quotas=quotas,
                        method=method, scarce_below=scarce_below, reserve_pct=reserve_pct, supply_table=supply_table)
