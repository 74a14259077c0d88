"""The numbers of the water world: segments, needs, the catalogue and every response parameter.

Every number here is assumed, not estimated (docs/water-world.md lists them all).
:class:`WaterModel` holds the parameters ``world.json`` keeps under ``model``;
the tuples and mappings above it are the world's fixed vocabulary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

SEGMENTS = ("key_account", "office", "retail", "household")
REGIONS = ("north", "south", "east", "west")
LEVELS = ("gold", "silver", "bronze")  # best first
NEEDS = ("scheduled_delivery", "faster_hotline", "clean_buckets", "water_quality_report", "weekend_delivery",
         "deposit_refund", "online_ordering", "clear_billing")
COMPLAINT_TYPES = ("delivery", "water_quality", "bucket", "billing", "service", "other")
CHANNELS = ("hotline", "wechat", "field", "email", "web")
# The complaint type a customer with an unmet need complains about.
NEED_COMPLAINT = {"scheduled_delivery": "delivery", "weekend_delivery": "delivery", "faster_hotline": "service",
                  "online_ordering": "service", "clean_buckets": "bucket", "water_quality_report": "water_quality",
                  "deposit_refund": "billing", "clear_billing": "billing"}
# The service level each segment is served at when a plan does not say (and at generation).
DEFAULT_LEVELS = {"key_account": "gold", "office": "silver", "retail": "silver", "household": "bronze"}
DEFAULT_VISITS = {"key_account": 4.0, "office": 2.0, "retail": 2.0, "household": 0.0}

# Share of customers, and each segment's primary-need weights (in NEEDS order).
SEGMENT_SHARES = {"key_account": 0.02, "office": 0.20, "retail": 0.15, "household": 0.63}
NEED_WEIGHTS = {
    "key_account": (0.25, 0.20, 0.10, 0.20, 0.00, 0.00, 0.10, 0.15),
    "office":      (0.25, 0.15, 0.15, 0.10, 0.05, 0.05, 0.15, 0.10),
    "retail":      (0.20, 0.05, 0.10, 0.00, 0.25, 0.10, 0.15, 0.15),
    "household":   (0.20, 0.05, 0.15, 0.10, 0.20, 0.15, 0.15, 0.00),
}

# The offerings catalogue: id, name, meets, segments, min_level, cost a customer-month, status at generation.
CATALOGUE = (
    ("account_manager_slot", "A fixed weekly delivery slot agreed with an account manager", "scheduled_delivery",
     "key_account", "gold", 25.0, "current"),
    ("bucket_exchange", "A clean sealed bucket exchanged at every delivery", "clean_buckets",
     "key_account;office", "silver", 4.0, "current"),
    ("monthly_statement", "An itemised monthly statement of water, buckets and deposit", "clear_billing",
     "key_account;office;retail", "silver", 1.5, "current"),
    ("scheduled_delivery", "Delivery on a fixed day and two-hour slot the customer chooses", "scheduled_delivery",
     "office;retail;household", "bronze", 2.5, "available"),
    ("priority_hotline", "A hotline queue answered within 10 seconds", "faster_hotline",
     "*", "silver", 3.0, "available"),
    ("quality_report", "A quarterly water-quality test report sent to the customer", "water_quality_report",
     "*", "bronze", 0.8, "available"),
    ("weekend_delivery", "Deliveries on Saturdays and Sundays", "weekend_delivery",
     "office;retail;household", "bronze", 2.0, "available"),
    ("deposit_refund_app", "The bucket deposit refunded in the app within three days", "deposit_refund",
     "retail;household", "bronze", 0.6, "available"),
    ("online_ordering", "Order and pay on WeChat or the web, with delivery tracking", "online_ordering",
     "*", "bronze", 1.2, "available"),
    ("sealed_buckets", "Every bucket sealed with a dated hygiene label", "clean_buckets",
     "retail;household", "bronze", 1.0, "available"),
    ("clear_invoice", "A one-page bill showing the deposit and bucket balance", "clear_billing",
     "retail;household", "bronze", 0.5, "available"),
)


@dataclass(frozen=True)
class WaterModel:
    """Every parameter of the population and response model (units in the names or docs/water-world.md)."""

    # population: monthly margin and base cost to serve (median, lognormal sd), by segment
    margin_median: tuple[float, ...] = (2400.0, 260.0, 420.0, 48.0)
    margin_sd: float = 0.35
    cost_median: tuple[float, ...] = (700.0, 95.0, 150.0, 28.0)
    cost_sd: float = 0.25
    # satisfaction: own level by segment (mean, sd), visit gain, unmet-need penalties, settling speed
    level_mean: tuple[float, ...] = (4.45, 4.55, 4.55, 4.75)
    level_sd: float = 0.30
    visit_gain: tuple[float, ...] = (0.60, 0.60, 0.50, 0.50)
    visit_rate: float = 0.35
    visit_cost: float = 8.0  # a visit a month costs this much a month, above the reference visits
    unmet_primary: float = 0.40
    unmet_secondary: float = 0.15
    out_of_water_penalty: float = 0.30
    late_penalty: float = 0.15
    complaint_penalty: float = 0.15
    relaxation: float = 0.45
    survey_noise: float = 0.4
    # deliveries: a quarter's deliveries and buckets a delivery, by segment; lead time; out of water
    deliveries_per_quarter: tuple[float, ...] = (13.0, 6.0, 12.0, 3.0)
    buckets_per_delivery: tuple[float, ...] = (20.0, 4.0, 8.0, 2.0)
    lead_median_hours: tuple[float, ...] = (2.0, 2.3, 2.2, 2.6)  # by region
    lead_sd: float = 0.30
    undelivered_pct: float = 0.3
    out_of_water_base: tuple[float, ...] = (0.04, 0.03, 0.03, 0.015)
    out_of_water_visit_rate: float = 0.35
    # hotline, buckets, visits
    calls_per_quarter: tuple[float, ...] = (3.0, 1.0, 1.2, 0.6)
    wait_mean_seconds: float = 9.0
    wait_mean_priority: float = 5.0
    patience_seconds: float = 90.0
    hygiene_fail_pct: float = 1.0
    hygiene_fail_pct_clean: float = 0.3
    visit_reliability: float = 0.96
    # surveys and front-line reports
    survey_pct: float = 20.0
    survey_min: int = 100
    response_rate: tuple[float, ...] = (0.60, 0.40, 0.35, 0.30)
    report_per_visit: float = 0.08
    report_per_delivery: float = 0.005
    # complaints: first contacts a customer-quarter, by segment; what adds to them; repeats and claims
    complaint_base: tuple[float, ...] = (0.12, 0.03, 0.035, 0.02)
    complaint_unmet: float = 0.025
    complaint_out_of_water: float = 0.20
    complaint_late: float = 0.04
    complaint_hygiene: float = 0.20
    complaint_unanswered: float = 0.05
    repeat_mean: float = 0.3
    claim_pct: float = 8.0
    claim_median: float = 120.0
    # handling: hours to resolve, workload, escalation, confirmation
    resolve_median_hours: float = 14.0
    resolve_sd: float = 0.8
    owner_capacity: float = 60.0
    escalation_speedup: float = 0.5
    first_answer_median_hours: float = 0.8
    confirm_pct: float = 70.0
    confirm_pct_unasked: float = 20.0
    reopen_pct: float = 5.0
    reopen_pct_slow: float = 12.0
    leave_pct: float = 1.0
    leave_per_point: float = 4.0

    def to_json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> WaterModel:
        """The model from ``world.json``'s ``model`` (missing keys take their defaults).

        Raises:
            ValueError: an unknown key, or a value of the wrong kind.
        """
        known = {field.name: field for field in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown model parameter(s) {', '.join(unknown)}")
        values: dict[str, Any] = {key: tuple(float(v) for v in value) if isinstance(value, list) else value
                                  for key, value in data.items()}
        return replace(cls(), **values)
