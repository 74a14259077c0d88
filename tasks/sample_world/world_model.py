"""The numbers of the sample world: how big customers are, and how they respond to the service they get.

Every constant of the simulation is a field of :class:`WorldModel`, written into
``world.json`` when a world is generated and read back by every simulated month,
so a world keeps behaving as it was generated and anyone can see (and change)
what it assumes. docs/sample-world.md explains each response in words and
formulas. These are demonstration values, chosen so that the flagship
definition's first cycles miss some targets and its policies can recover them;
they are not estimates from real data.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BUSINESS_TYPES = ("convenience", "grocery", "supermarket", "chain_store", "tobacco_shop", "restaurant")
AREAS = ("urban", "town", "rural")
SIZES = ("small", "medium", "large")
CHANNELS = ("visit", "phone", "online")
INSPECTION_LEVELS = ("self", "department", "company")
COMPLAINT_CATEGORIES = ("stockout", "delivery", "after_sales", "price", "service", "other")


def _dict(**values: Any) -> Any:
    return field(default_factory=lambda: dict(values))


@dataclass(frozen=True)
class WorldModel:
    """Every parameter of the world's population and response model (see docs/sample-world.md)."""

    # --- the population -------------------------------------------------------------------------
    type_shares: dict[str, float] = _dict(convenience=0.32, grocery=0.27, supermarket=0.07, chain_store=0.06,
                                          tobacco_shop=0.16, restaurant=0.12)
    area_shares: dict[str, float] = _dict(urban=0.5, town=0.3, rural=0.2)
    # P(small), P(medium), P(large) by business type
    size_shares: dict[str, list[float]] = _dict(convenience=[0.45, 0.42, 0.13], grocery=[0.6, 0.33, 0.07],
                                                supermarket=[0.2, 0.45, 0.35], chain_store=[0.15, 0.5, 0.35],
                                                tobacco_shop=[0.3, 0.45, 0.25], restaurant=[0.75, 0.22, 0.03])
    base_volume: float = 105.0         # cartons a month of a medium convenience store
    type_volume: dict[str, float] = _dict(convenience=1.0, grocery=0.8, supermarket=1.7, chain_store=1.5,
                                          tobacco_shop=2.0, restaurant=0.35)
    size_volume: dict[str, float] = _dict(small=0.45, medium=1.0, large=1.9)
    volume_spread: float = 0.3         # sd of log volume between customers of one type and size
    trend_sd: float = 0.008            # sd of a customer's own monthly growth rate
    market_trend: float = -0.001       # monthly growth of the whole market
    month_noise: float = 0.1           # sd of a customer's log volume from month to month
    shock_pct: float = 0.8             # % of customers a month whose sales jump or collapse for 1-3 months
    invalid_pct: float = 2.5           # % of customer records with a missing or invalid field
    records_fixed_pct: float = 25.0    # % of those corrected each month (the data steward at work)
    records_spoiled_pct: float = 0.3   # % of the good records spoiled each month (changes mistyped)
    joins_pct: float = 0.4             # % of customers a month: new shops
    leaves_pct: float = 0.25           # % a month leave regardless of service ...
    leaves_per_point: float = 1.5      # ... plus this % per satisfaction point below leave_below
    leave_below: float = 3.5
    changes_pct: float = 0.5           # % a month change business type, size or address
    history_leavers_pct: float = 6.0   # leavers already in the list when the world is generated
    history_joiners_pct: float = 12.0  # active customers who joined during the history
    # --- supply ---------------------------------------------------------------------------------
    scarce_supply: list[float] = field(default_factory=lambda: [0.95, 0.97, 0.98])  # supply / expected demand
    plentiful_supply: list[float] = field(default_factory=lambda: [1.15, 1.35])   # range, other products
    history_supply: list[float] = field(default_factory=lambda: [1.03, 1.12])      # range, history months
    # --- visits ---------------------------------------------------------------------------------
    visits_per_rep: float = 400.0      # visits a field rep makes in a month
    field_reps: float = 28.0           # reps per staffing_basis customers (default of simulate_month)
    staffing_basis: float = 5000.0     # field reps and complaint handlers are stated per this many customers
    capacity_sharpness: float = 12.0   # n of the soft limit (1 + load^n)^(-1/n)
    visit_reliability: dict[str, float] = _dict(urban=0.995, town=0.985, rural=0.965)
    history_visits: list[list[float]] = field(default_factory=lambda: [[300, 4], [120, 2], [0, 1]])
    label_propensity: float = 0.84     # mean P(price labels in order) without visits
    label_visit_lift: float = 0.10     # ... rising by up to this with visits: lift * (1 - exp(-0.5 visits))
    # --- orders and delivery --------------------------------------------------------------------
    weekly_order_volume: float = 100.0  # customers selling this many cartons a month order weekly, others fortnightly
    channel_weights: dict[str, float] = _dict(visit=0.45, phone=0.35, online=0.2)
    supplementary_uptake: float = 0.92  # P(a customer short of allocation places a supplementary order)
    supplementary_share: float = 1.0    # supplementary orders are taken up to this share of the allocation ...
    supplementary_min: float = 2.0      # ... or this many cartons a month, whichever is more
    release_from: float = 0.8           # unused allocations return to the reserve after this share of the month
    picking_error_pct: float = 0.15     # % of order lines delivered one carton short (damaged, mis-picked)
    delivery_median_hours: dict[str, float] = _dict(urban=10.0, town=12.0, rural=14.0)
    delivery_sigma: float = 0.25
    delay_pct: float = 1.0              # % of orders held up (vehicle, weather, address)
    delay_mean_hours: float = 20.0
    # --- complaints -----------------------------------------------------------------------------
    complaint_base: float = 0.024       # complaints per customer and 30.4 days with nothing wrong
    complaint_per_stockout: float = 0.02
    complaint_per_late: float = 0.05
    complaint_per_point: float = 0.03   # ... plus this per satisfaction point below leave_below
    complaint_handlers: float = 2.0     # handlers per staffing_basis customers (default of simulate_month)
    handling_hours: float = 7.2         # mean handler time a case needs (gamma, shape 2)
    max_load: float = 0.98              # the queue's load is capped here (see respond.queue_state)
    external_hours: float = 8.0         # median wait on the customer or the field (lognormal, sigma 0.6)
    # --- satisfaction ---------------------------------------------------------------------------
    satisfaction_base: float = 3.02
    satisfaction_spread: float = 0.3    # sd of the customers' own level
    volume_expectation: float = 0.85    # bigger customers expect more: minus this per unit of ln(volume / 100)
    visit_weight: float = 2.4           # w_v in s_c * w_v * (1 - exp(-k_v * visits))
    visit_rate: float = 0.3             # k_v
    visit_sensitivity: float = 0.6      # s_c = (volume / 100) ^ this (clipped to 0.3-3): big shops value visits more
    stockout_weight: float = 0.5        # w_s in w_s * (1 - exp(-stock-out lines))
    late_weight: float = 0.3            # w_l in w_l * (1 - exp(-late orders))
    complaint_weight: float = 1.0       # w_c in w_c * (1 - exp(-hours / complaint_hours_scale))
    complaint_hours_scale: float = 72.0
    settled_penalty: float = 0.1        # average stock-out, delivery and complaint penalty before the world began
    relaxation: float = 0.45            # share of the gap to the target level closed each month
    survey_noise: float = 0.55          # sd of an answer around the latent satisfaction
    survey_pct: float = 5.0             # % of active customers called back (at least survey_min)
    survey_min: int = 60
    # --- inspections ----------------------------------------------------------------------------
    inspection_pct: dict[str, float] = _dict(self=10.0, department=3.0, company=1.0)
    inspection_offset: dict[str, float] = _dict(self=3.0, department=0.0, company=-2.0)
    inspection_base: float = 60.0
    inspection_visits: float = 25.0     # points for a completed visit plan
    inspection_labels: float = 8.0      # points for price labels in order
    inspection_noise: float = 5.0

    def to_json(self) -> dict[str, Any]:
        """The model as plain data for ``world.json``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "world.json") -> WorldModel:
        """The model from ``world.json``; keys it does not list keep their defaults.

        Raises:
            ValueError: a key that is not a parameter of the model.
        """
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: model: unknown parameter(s) {', '.join(unknown)}")
        return cls(**dict(data))

    def visit_effect(self, visits: Any, sensitivity: Any = 1.0) -> Any:
        """Satisfaction points from ``visits`` visits done in the month: s_c * w_v * (1 - exp(-k_v * visits))."""
        gain = 1.0 - np.exp(-self.visit_rate * np.asarray(visits, dtype=float))
        return np.asarray(sensitivity, dtype=float) * self.visit_weight * gain

    def sensitivity(self, volume: Any) -> Any:
        """How much a customer of this monthly volume values visits (1 at 100 cartons a month)."""
        ratio = np.maximum(np.asarray(volume, dtype=float), 1.0) / 100.0
        return np.clip(ratio ** self.visit_sensitivity, 0.3, 3.0)

    def capacity_factor(self, load: float) -> float:
        """Share of planned visits the field can make at ``load`` = planned / capacity (a soft minimum)."""
        if load <= 0:
            return 1.0
        n = self.capacity_sharpness
        return float((1.0 + load ** n) ** (-1.0 / n)) if math.isfinite(load) else 0.0
