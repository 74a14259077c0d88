"""The allocation plan behind ``strategy.allocate``: customer demand, then supply shared by class quota.

Two stages, both vectorised over every (customer, product) row at once:

1. :func:`customer_demand` splits each forecast row (a product for one class, or
   for every class when its class is ``*``) across the customers it covers, in
   proportion to their recent volume (``avg_volume``), in whole cartons.
2. :func:`allocate` shares each product's available cartons. A class's
   *entitlement* under the quota standard is what its customers demand up to the
   class quota each (``sum of min(demand, quota)``). Classes first get their
   entitlements (in proportion to them when supply is short of the total, or in
   the order of ``quotas`` with ``priority``); supply left after every entitlement
   is met goes to the demand above the quotas, in proportion to it. Within a class
   the entitlement is shared in proportion to demand, no customer above the quota
   (water-filling, :mod:`pdcaflow.tasks.retail.apportion`). Products allocated without quotas
   (plentiful products, and every product under ``proportional``) share their
   cartons in proportion to demand.

Integers come from the largest-remainder method at both levels, so a product's
allocations never add up to more than its available cartons, and two customers
of one class with equal demand get allocations that differ by at most one carton.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pdcaflow.tasks.retail.apportion import Ints, apportion

ANY_CLASS = "*"


def customer_demand(forecast: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Whole cartons of demand per customer and product.

    Args:
        forecast: ``product_id, class, forecast`` for one month; ``class`` may be ``*``.
        customers: ``customer_id, class, avg_volume``, one row per customer.

    Returns:
        ``customer_id, class, product_id, demand`` sorted by product, forecast class and customer;
        a forecast row whose class has no customers contributes no rows. A class (or,
        for ``*``, a customer base) whose volumes are all zero splits evenly.
    """
    customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    customers["position"] = np.arange(len(customers))
    forecast = forecast.sort_values(["product_id", "class"], kind="stable").reset_index(drop=True)
    forecast["group"] = np.arange(len(forecast))
    for_all = forecast["class"] == ANY_CLASS
    rows = pd.concat([
        forecast[~for_all].merge(customers, on="class"),
        forecast[for_all].drop(columns="class").merge(customers, how="cross"),
    ], ignore_index=True)
    rows = rows.sort_values(["group", "position"], kind="stable").reset_index(drop=True)
    group = rows["group"].to_numpy()
    weight = rows["avg_volume"].to_numpy(dtype=np.float64)
    volume = np.bincount(group, weights=weight, minlength=len(forecast))
    weight = np.where(volume[group] > 0, weight, 1.0)
    budget = np.rint(forecast["forecast"].to_numpy(dtype=np.float64))
    rows["demand"] = apportion(budget, group, weight, budget[group])
    return rows[["customer_id", "class", "product_id", "demand"]]


@dataclass(frozen=True)
class ProductSupply:
    """What one product has to give this month and how it is shared."""

    available: int         # cartons that may be allocated (supply less any reserve)
    with_quotas: bool       # share by the quota standard (a scarce product under quota or priority)
    priority: bool = False  # entitlements served class by class in the order of the quotas


def allocate(demand: pd.DataFrame, supply: Mapping[str, ProductSupply], quotas: Mapping[str, float],
             class_order: Sequence[str]) -> tuple[Ints, pd.Series]:
    """Whole cartons per row of ``demand`` (sorted as :func:`customer_demand` returns it).

    Args:
        demand: ``customer_id, class, product_id, demand``.
        supply: product id -> its :class:`ProductSupply` (every product in ``demand``).
        quotas: class -> cartons per customer per month (a fraction of a carton is dropped).
        class_order: classes in the order ``priority`` serves them (the order of ``quotas``).

    Returns:
        The cartons allocated per row, and the quota that applied to each row (``<NA>``
        where the product was shared without quotas).
    """
    products = demand["product_id"].to_numpy()
    wanted = demand["demand"].to_numpy(dtype=np.int64)
    limited = demand["product_id"].map({product: terms.with_quotas for product, terms in supply.items()})
    limited = limited.to_numpy(dtype=bool)
    quota = np.floor(demand["class"].map(quotas).to_numpy(dtype=np.float64))
    entitled = np.where(limited, np.minimum(wanted, np.nan_to_num(quota, nan=0.0)), wanted).astype(np.int64)
    group, pair_products = _pair_groups(products, demand["class"].to_numpy(), class_order)
    first_phase, second_phase = _class_budgets(pair_products, np.bincount(group, weights=entitled),
                                               np.bincount(group, weights=wanted - entitled), supply)
    within_quota = apportion(first_phase, group, wanted, entitled)
    above_quota = wanted - within_quota
    allocated = within_quota + apportion(second_phase, group, above_quota, above_quota)
    applied = pd.Series(np.where(limited, quota, np.nan), index=demand.index).astype("Int64")
    return allocated, applied


def _pair_groups(products: np.ndarray, classes: np.ndarray,
                 class_order: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A code per (product, class) row, numbered by product and then in the order classes are served,
    and the product of each code."""
    product_code, product_names = pd.factorize(products, sort=True)
    order = list(dict.fromkeys([*class_order, *sorted(set(classes) - set(class_order))]))
    class_code = pd.Series(classes).map({name: index for index, name in enumerate(order)}).to_numpy(np.int64)
    keys, group = np.unique(product_code * len(order) + class_code, return_inverse=True)
    return group.astype(np.intp), np.asarray(product_names)[keys // len(order)]


def _class_budgets(pair_products: np.ndarray, entitlement: np.ndarray, above: np.ndarray,
                   supply: Mapping[str, ProductSupply]) -> tuple[np.ndarray, np.ndarray]:
    """Cartons per (product, class): for the entitlements, and for the demand above them."""
    first = np.zeros(len(pair_products))
    second = np.zeros(len(pair_products))
    for product in pd.unique(pair_products):
        at = np.flatnonzero(pair_products == product)
        terms = supply[product]
        if terms.priority:
            first[at] = _in_order(terms.available, entitlement[at])
            second[at] = _in_order(terms.available - first[at].sum(), above[at])
        else:
            zeros = np.zeros(len(at), dtype=np.intp)
            first[at] = apportion([terms.available], zeros, entitlement[at], entitlement[at])
            second[at] = apportion([terms.available - first[at].sum()], zeros, above[at], above[at])
    return first, second


def _in_order(cartons: float, wanted: np.ndarray) -> np.ndarray:
    """Serve ``wanted`` one after the other until ``cartons`` run out."""
    before = np.r_[0.0, np.cumsum(wanted)[:-1]]
    return np.clip(cartons - before, 0.0, wanted)
