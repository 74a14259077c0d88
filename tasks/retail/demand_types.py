"""What ``demand.forecast``'s signature names: the planners' adjustment and the result's shape.

Kept apart from the work (:mod:`pdcaflow.tasks.retail.demand_steps`) so that reading the task's
signature, as ``pdca validate`` does, imports pydantic and typing only, never
pandas or numpy.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field


class Adjustment(BaseModel):
    """A planner's qualitative correction of the quantitative forecast for one product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(description="product code, or '*' for every product")
    factor: float = Field(gt=0, description="multiply the forecast by this, e.g. 1.15 for a holiday month")
    reason: str = Field(min_length=1, description="why: recorded with the forecast")


class ForecastResult(TypedDict):
    forecast: str
    month: str
    products: int
    series: int
    total_forecast: float
    wape: float | None
    mape: float | None
    bias: float | None
    accuracy_basis: Literal["previous_cycle", "backtest"]
