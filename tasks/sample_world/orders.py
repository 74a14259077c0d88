"""A month of orders: what customers ask for, what the allocation lets them have, what arrives.

Customers selling ``weekly_order_volume`` cartons a month or more order weekly,
the others fortnightly. Each order line asks for a Poisson share of the month's
demand for one product. Then, in order of time:

- a product the plan *rations* (its ``quota`` is set) can be ordered up to the
  customer's ``allocated`` cartons for the month. The part of a line above what
  is left of it becomes a *supplementary order* (with probability
  ``supplementary_uptake``; otherwise the customer just asks for all of it on the
  regular line and gets the allocation). Supplementary orders are served first
  come, first served from the product's stock not allocated to anyone
  (``supply - sum(allocated)``: the reserve), each customer's up to
  ``supplementary_share`` of their allocation of the product (at least
  ``supplementary_min`` cartons) a month: so an allocation far below demand
  leaves the customer short even when the reserve has stock. A request that finds the reserve
  short gets what is there and does not wait. What a customer has not used of
  their allocation by their last order of the month goes back to the reserve an
  hour after that order: until then it is theirs.
- any other product is served first come, first served from its monthly supply.
- ``picking_error_pct`` % of delivered lines arrive one carton short.

A *stock-out* is a line delivered short of what it asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pdcaflow.tasks.sample_world.world_model import CHANNELS, WorldModel


@dataclass(frozen=True)
class Lines:
    """Order lines of the month, in time order (flat arrays, one entry per line)."""

    customer: np.ndarray      # row in the active-customer arrays
    product: np.ndarray       # product number (0-based)
    order: np.ndarray         # order number within the month (one per customer order, supplementary separate)
    at_hours: np.ndarray      # hours after the month's start
    requested: np.ndarray
    delivered: np.ndarray
    supplementary: np.ndarray


def order_lines(rng: np.random.Generator, demand: np.ndarray, hours_in_month: float, model: WorldModel) -> Lines:
    """Regular order lines before any allocation: ``demand`` is ``(customers, products)`` expected cartons."""
    customers, _ = demand.shape
    weekly = demand.sum(axis=1) >= model.weekly_order_volume
    per_month = np.where(weekly, 4, 2)
    pair_customer, pair_product = np.nonzero(demand > 0)
    repeats = per_month[pair_customer]
    customer = np.repeat(pair_customer, repeats)
    product = np.repeat(pair_product, repeats)
    slot = np.arange(len(customer)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    quantity = rng.poisson(demand[customer, product] / per_month[customer])
    keep = quantity > 0
    customer, product, slot, quantity = customer[keep], product[keep], slot[keep], quantity[keep]
    phase = rng.random(int(customers))
    order_base = np.concatenate([[0], np.cumsum(per_month)[:-1]])
    day = (slot + phase[customer]) * hours_in_month / per_month[customer] // 24
    at = day * 24 + rng.uniform(8.0, 18.0, len(customer))  # during the working day
    at = np.minimum(at, hours_in_month - 1.0)
    order = order_base[customer] + slot
    sort = np.lexsort((product, at))
    return Lines(customer[sort], product[sort], order[sort], at[sort], quantity[sort],
                 np.zeros(len(customer), dtype=np.int64), np.zeros(len(customer), dtype=bool))


def fulfil(rng: np.random.Generator, lines: Lines, allocated: np.ndarray, rationed: np.ndarray,
           supply: np.ndarray, hours_in_month: float, model: WorldModel, accept_supplementary: bool) -> Lines:
    """Apply allocations, the reserve and supply to the regular lines; add the supplementary lines.

    Args:
        rng: the month's generator.
        lines: from :func:`order_lines`.
        allocated: ``(customers, products)`` cartons the plan allocates (used where ``rationed``).
        rationed: ``(products,)`` whether the plan rations the product.
        supply: ``(products,)`` cartons available this month.
        hours_in_month: the month's length in hours.
        model: the parameters.
        accept_supplementary: whether supplementary orders are taken at all.
    """
    quantity = lines.requested
    is_rationed = rationed[lines.product]
    pair = lines.customer * len(rationed) + lines.product
    before = _running_before(quantity, pair)
    room = np.clip(allocated[lines.customer, lines.product] - before, 0, None)
    within = np.where(is_rationed, np.minimum(quantity, room), quantity)
    excess = quantity - within
    asks_more = (excess > 0) & accept_supplementary & (rng.random(len(quantity)) < model.supplementary_uptake)
    requested = np.where(asks_more, within, quantity)
    # What the warehouse holds for regular lines: a rationed product's allocations, else its supply.
    stock = np.where(rationed, np.minimum(supply, allocated.sum(axis=0)), supply)
    delivered = _first_come(within, lines.product, stock)
    errors = (delivered > 0) & (rng.random(len(delivered)) < model.picking_error_pct / 100.0)
    delivered = delivered - errors
    regular = requested > 0
    reserve = np.clip(supply - allocated.sum(axis=0), 0, None) * rationed
    extra_at = np.minimum(lines.at_hours[asks_more] + rng.uniform(2.0, 48.0, int(asks_more.sum())),
                          hours_in_month - 0.5)
    extra_order = lines.order.max(initial=-1) + 1 + np.arange(int(asks_more.sum()))
    extra_sort = np.argsort(extra_at, kind="stable")
    extra_product = lines.product[asks_more][extra_sort]
    extra_requested = excess[asks_more][extra_sort]
    extra_customer = lines.customer[asks_more][extra_sort]
    # Supplementary orders are taken up to a share of the customer's allocation (at least a few cartons).
    cap = np.maximum(model.supplementary_min, np.floor(model.supplementary_share
                                                        * allocated[extra_customer, extra_product]))
    pair = extra_customer * len(rationed) + extra_product
    accepted = np.clip(cap - _running_before(extra_requested, pair), 0, extra_requested).astype(np.int64)
    released_at, released_product, released = _released(lines, within, allocated, rationed, hours_in_month,
                                                         model.release_from)
    extra_delivered = _from_reserve(accepted, extra_product, extra_at[extra_sort], reserve,
                                    released_at, released_product, released)
    return Lines(
        customer=np.concatenate([lines.customer[regular], extra_customer]),
        product=np.concatenate([lines.product[regular], extra_product]),
        order=np.concatenate([lines.order[regular], extra_order]),
        at_hours=np.concatenate([lines.at_hours[regular], extra_at[extra_sort]]),
        requested=np.concatenate([requested[regular], extra_requested]),
        delivered=np.concatenate([delivered[regular], extra_delivered]),
        supplementary=np.concatenate([np.zeros(int(regular.sum()), bool), np.ones(len(extra_sort), bool)]),
    )


def channels_for(rng: np.random.Generator, lines: Lines, visited: np.ndarray, offered: tuple[str, ...],
                 model: WorldModel) -> np.ndarray:
    """The channel of each order (the same for every line of it): by visit if visited, phone, online."""
    orders, first = np.unique(lines.order, return_index=True)
    customer = lines.customer[first]
    weights = np.asarray([model.channel_weights.get(name, 0.0) if name in offered else 0.0 for name in CHANNELS])
    if weights.sum() == 0:
        weights = np.ones(len(CHANNELS))
    table = np.tile(weights, (len(orders), 1))
    table[~visited[customer], 0] = 0.0
    table[lines.supplementary[first], 0] = 0.0  # supplementary orders come by phone or online
    empty = table.sum(axis=1) == 0
    table[empty] = weights  # only visits offered: orders are taken on a visit after all
    cumulative = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    choice = (rng.random(len(orders))[:, None] > cumulative).sum(axis=1)
    per_order = np.asarray(CHANNELS)[np.minimum(choice, len(CHANNELS) - 1)]
    return per_order[np.searchsorted(orders, lines.order)]


def _running_before(quantity: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For lines in time order: the sum of earlier lines' quantities in the same group."""
    if len(quantity) == 0:
        return quantity.copy()
    order = np.argsort(group, kind="stable")
    sorted_quantity = quantity[order]
    sorted_group = group[order]
    total = np.cumsum(sorted_quantity)
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    offset = np.repeat(total[starts] - sorted_quantity[starts], np.diff(np.r_[starts, len(order)]))
    result = np.empty_like(quantity)
    result[order] = total - offset - sorted_quantity
    return result


def _released(lines: Lines, within: np.ndarray, allocated: np.ndarray, rationed: np.ndarray,
              hours_in_month: float, release_from: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocation not used by a customer's last order of the month, given back to the reserve an hour after it.

    Returns when, which product and how many cartons, one entry per customer and rationed product.
    """
    customers = allocated.shape[0]
    used = np.zeros(allocated.shape)
    np.add.at(used, (lines.customer, lines.product), within)
    unused = np.clip(allocated - used, 0, None) * rationed[None, :]
    last = np.full(customers, -1.0)
    np.maximum.at(last, lines.customer, lines.at_hours)
    last = np.where(last < 0, hours_in_month / 2, last)  # no order at all: released mid-month
    rows, columns = np.nonzero(unused > 0)
    return np.maximum(last[rows] + 1.0, release_from * hours_in_month), columns, unused[rows, columns]


def _from_reserve(requested: np.ndarray, product: np.ndarray, at: np.ndarray, reserve: np.ndarray,
                  released_at: np.ndarray, released_product: np.ndarray, released: np.ndarray) -> np.ndarray:
    """Serve supplementary lines (in time order) first come, first served from a reserve that unused allocations top up.

    A line gets what is there when it arrives and does not wait. With ``I`` the
    cartons that have come into the reserve by a line's time and ``R`` the cartons
    asked for up to and including it, the cartons handed out so far are
    ``F = R + min(0, running minimum of I - R)``; each line gets the step in ``F``.
    """
    delivered = np.zeros(len(requested), dtype=np.int64)
    for item in np.unique(product):
        mine = np.flatnonzero(product == item)
        asked = np.cumsum(requested[mine])
        inflow = released_product == item
        order = np.argsort(released_at[inflow], kind="stable")
        times = released_at[inflow][order]
        arrived = np.concatenate([[0.0], np.cumsum(released[inflow][order])])
        came_in = reserve[item] + arrived[np.searchsorted(times, at[mine], side="right")]
        handed = asked + np.minimum(0.0, np.minimum.accumulate(came_in - asked))
        delivered[mine] = np.diff(np.floor(handed + 1e-9), prepend=0.0).astype(np.int64)
    return delivered


def _first_come(requested: np.ndarray, product: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Serve lines (in time order) from each product's ``stock`` until it runs out."""
    before = _running_before(requested, product)
    return np.clip(np.minimum(requested, stock[product] - before), 0, None).astype(requested.dtype)
