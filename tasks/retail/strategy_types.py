"""What ``strategy.allocate``'s signature names: the allocation methods and the result's shape.

Kept apart from the work (:mod:`pdcaflow.tasks.retail.strategy_steps`) so that reading the task's
signature, as ``pdca validate`` does, imports typing only, never pandas or numpy.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Method = Literal["quota", "proportional", "priority"]


class AllocateResult(TypedDict):
    plan: str
    month: str
    scarce_products: list[str]
    fill_rate: float | None
    demand_coverage: float | None
    reserve: int
    allocated_total: int
