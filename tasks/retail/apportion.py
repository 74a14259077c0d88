"""Whole-carton apportionment: share a budget among rows in proportion to weights, under caps.

The allocation of scarce products (``strategy.allocate``) shares a number of
cartons among many groups at once (one group per product, or per product and
customer class). Both helpers work on flat numpy arrays where ``group`` holds
each row's group as an integer code ``0 .. len(budget) - 1``, so that 100,000
customers x 8 products are one vectorised pass, not a Python loop.

:func:`capped_shares` is water-filling: every row gets ``weight x lambda`` of its
group's budget, except that no row gets more than its cap; what a capped row
cannot take goes to the others in proportion to their weights. :func:`whole_cartons`
turns those real shares into integers by the largest-remainder method: each row
gets its share rounded down, and the cartons left over go one each to the rows
with the largest fractional parts (ties to the earlier row). So a group's
integers add up exactly to its (whole) budget, no row ever exceeds its cap, and
two rows with the same weight and cap differ by at most one carton.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Shares are computed in floating point; a share within this of a whole number is that number.
_EPSILON = 1e-9


def apportion(budget: npt.ArrayLike, group: npt.ArrayLike, weight: npt.ArrayLike,
              cap: npt.ArrayLike) -> Ints:
    """Whole cartons per row: each group's budget shared by weight, no row above its cap.

    Args:
        budget: cartons to share per group (whole numbers, >= 0), indexed by group code.
        group: each row's group code.
        weight: each row's weight (>= 0); a row of weight 0 gets nothing.
        cap: each row's most cartons (whole numbers, >= 0).

    Returns:
        Whole cartons per row; a group's rows add up to ``min(budget, sum of its caps)``
        (of rows with a positive weight).
    """
    budget_f = np.asarray(budget, dtype=np.float64)
    group_i = np.asarray(group, dtype=np.intp)
    cap_f = np.asarray(cap, dtype=np.float64)
    shares = capped_shares(budget_f, group_i, np.asarray(weight, dtype=np.float64), cap_f)
    return whole_cartons(shares, group_i, cap_f, len(budget_f))


def capped_shares(budget: Floats, group: npt.NDArray[np.intp], weight: Floats, cap: Floats) -> Floats:
    """Real shares ``min(cap, lambda_g x weight)`` with ``lambda_g`` chosen so each group's shares add up
    to its budget, or every row sits at its cap when the caps add up to less."""
    shares = np.zeros(len(weight), dtype=np.float64)
    rows = np.flatnonzero((weight > 0) & (cap > 0))
    if rows.size == 0:
        return shares
    ratio = cap[rows] / weight[rows]                       # the lambda at which a row reaches its cap
    rows = rows[np.lexsort((ratio, group[rows]))]          # by group, then by when the row caps
    codes, row_weight, row_cap = group[rows], weight[rows], cap[rows]
    ratio = row_cap / row_weight
    starts, ends = _group_bounds(codes)
    capped_before = _cumsum_in_group(row_cap, starts) - row_cap       # caps of the rows that cap earlier
    weight_from_here = _suffix_sum_in_group(row_weight, ends)         # weights of this row and the later ones
    # Sum of the group's shares when lambda is this row's ratio: the rows before are capped.
    filled = capped_before + ratio * weight_from_here
    group_budget = np.maximum(budget[codes], 0.0)
    reaches = np.flatnonzero(filled >= group_budget - _EPSILON)
    level = np.full(len(budget), np.inf)                   # no row reaches the budget: all capped
    if reaches.size:
        hit_groups, first = np.unique(codes[reaches], return_index=True)
        at = reaches[first]
        level[hit_groups] = (group_budget[at] - capped_before[at]) / weight_from_here[at]
    shares[rows] = np.minimum(row_cap, level[codes] * row_weight)
    return shares


def whole_cartons(shares: Floats, group: npt.NDArray[np.intp], cap: Floats, groups: int) -> Ints:
    """Round real shares to whole cartons by largest remainder, within each group and under each cap."""
    whole = np.minimum(np.floor(shares + _EPSILON), np.floor(cap + _EPSILON))
    wanted = np.rint(np.bincount(group, weights=shares, minlength=groups))
    left_over = wanted - np.bincount(group, weights=whole, minlength=groups)
    fraction = shares - whole
    candidates = np.flatnonzero((fraction > _EPSILON) & (whole < cap - _EPSILON))
    if candidates.size:
        # Largest fraction first within a group; the earlier row on ties.
        candidates = candidates[np.lexsort((candidates, -fraction[candidates], group[candidates]))]
        codes = group[candidates]
        starts, ends = _group_bounds(codes)
        rank = np.arange(len(candidates)) - np.repeat(starts, ends - starts)
        whole[candidates[rank < left_over[codes]]] += 1
    return whole.astype(np.int64)


def _group_bounds(codes: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end (exclusive) positions of each run of equal codes in a sorted array."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    return starts, ends


def _cumsum_in_group(values: Floats, starts: npt.NDArray[np.intp]) -> Floats:
    """Inclusive running sum that restarts at every group start (rows sorted by group)."""
    total = np.cumsum(values)
    before = np.r_[0.0, total][starts]
    return total - np.repeat(before, np.diff(np.r_[starts, len(values)]))


def _suffix_sum_in_group(values: Floats, ends: npt.NDArray[np.intp]) -> Floats:
    """Sum of each row and the rows after it in its group (rows sorted by group)."""
    total = np.r_[0.0, np.cumsum(values)]
    lengths = np.diff(np.r_[0, ends])
    return np.repeat(total[ends], lengths) - total[:-1]
