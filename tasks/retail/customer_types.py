"""What the customer tasks' signatures name: the classification rule and the results' shapes.

Kept apart from the work (:mod:`pdcaflow.tasks.retail.customer_steps`) so that reading a task's
signature, as ``pdca validate`` does for every built-in task, imports pydantic
and typing only, never pandas or numpy.
"""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field


class ClassRule(BaseModel):
    """One published classification criterion; rules are tried in order and the first match wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the class a matching customer gets, e.g. 'A'")
    min_monthly_volume: float = Field(0.0, description="average monthly sales over the lookback, at least this")
    max_monthly_volume: float | None = Field(None, description="average monthly sales, at most this")
    business_types: tuple[str, ...] = Field((), description="e.g. supermarket, convenience; empty means any")
    areas: tuple[str, ...] = Field((), description="e.g. urban, town, rural or district names; empty means any")


class RegisterResult(TypedDict):
    snapshot: str
    customers_active: int
    joins: int
    leaves: int
    changes: int
    rejoins: int
    data_quality_rate: float
    invalid_records: int
    invalid_by_reason: dict[str, int]


class ClassifyResult(TypedDict):
    classification: str
    class_counts: dict[str, int]
    reclassified: int
    anomalies: int
    anomaly_rate: float
    anomaly_customers: list[str]


class SegmentValue(TypedDict):
    customers: int
    lifetime_value: float
    cost_to_serve: float
    return_ratio: float | None
    service_level: str


class ProfitabilityResult(TypedDict):
    segments: dict[str, SegmentValue]
    service_levels: dict[str, str]
    headroom: dict[str, int]
    cost_to_serve_ratio: float | None
    unprofitable_share: float
