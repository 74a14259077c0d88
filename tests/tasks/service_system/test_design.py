"""service.design on hand-made needs, levels and economics, with the answers worked out below.

Researched quarter 2026-Q2, so the plan is for 2026-Q3. Segments (per customer):
office silver (3 customers, lifetime value 1000, cost to serve 800), household bronze
(2, 300, 250), retail bronze (4, 500, 100). 36 months, limit 100 % of lifetime value.

- keep: scheduled_delivery (current, office;household, named in the research).
- retire: deposit_app (current, every segment): deposit_refund was named by nobody;
  it saves 1.0 a customer a month in each of the three segments.
- retail then has nothing in force: one plan row with no offering.
- unmet, by rank: household weekend_delivery (rank 1), office faster_hotline (2),
  office clean_buckets (3), office clear_billing (4):
  - weekend_slots (3.0) for household: 250 + (3.0 - 1.0) x 36 = 322 > 300 -> rejected for cost;
  - faster_hotline for office: hotline_vip (0.8) is gold only, office is silver -> the
    dearer hotline_callback (1.5): 800 + (1.5 - 1.0) x 36 = 818 <= 1000 -> new;
  - bucket_swap (0.5) for office: 800 + (1.5 + 0.5 - 1.0) x 36 = 836 <= 1000 -> new;
  - clear_billing: paper_bills is retired, nothing available -> stays unmet, listed in
    needs_without_offering ("office: clear_billing": people must design one).
- covered 2 of the 3 unmet needs a catalogue offering could meet -> 66.67 %; in force scheduled_delivery, hotline_callback,
  bucket_swap -> 3; cost added 3 office customers x (1.5 + 0.5) = 6.0 a month; saved
  (3 + 2 + 4) customers x 1.0 = 9.0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.service_system.design import SegmentEconomics, design

CONTEXT = StepContext(process_id="service-quality-system", cycle=2)
NEEDS = pd.DataFrame({
    "period": "2026-Q2",
    "segment": ["household", "household", "office", "office", "office", "office"],
    "need": ["weekend_delivery", "scheduled_delivery", "scheduled_delivery", "faster_hotline", "clean_buckets",
             "clear_billing"],
    "rank": [1, 2, 1, 2, 3, 4],
    "respondents": [2, 2, 8, 8, 8, 8], "mentions": [2, 0, 4, 2, 1, 0],
    "share_pct": [100.0, 0.0, 50.0, 25.0, 12.5, 0.0],
    "ci_low": [34.24, 0.0, 21.52, 7.15, 2.24, 0.0], "ci_high": [100.0, 65.76, 78.48, 59.07, 47.09, 32.44],
    "complaints": [0, 0, 2, 0, 0, 1], "reports": [0, 1, 0, 3, 0, 0],
    "met_by": ["", "scheduled_delivery", "scheduled_delivery", "", "", ""],
    "unmet": [True, False, False, True, True, True],
})
CATALOGUE = pd.DataFrame({
    "offering_id": ["scheduled_delivery", "deposit_app", "hotline_vip", "hotline_callback", "bucket_swap",
                    "weekend_slots", "paper_bills"],
    "name": "an offering",
    "meets": ["scheduled_delivery", "deposit_refund", "faster_hotline", "faster_hotline", "clean_buckets",
              "weekend_delivery", "clear_billing"],
    "segments": ["office;household", "*", "*", "office;key_account", "*", "household", "*"],
    "min_level": ["bronze", "bronze", "gold", "silver", "bronze", "bronze", "bronze"],
    "cost_per_customer_month": [2.0, 1.0, 0.8, 1.5, 0.5, 3.0, 0.0],
    "status": ["current", "current", "available", "available", "available", "available", "retired"],
})
LEVELS = {"office": "silver", "household": "bronze", "retail": "bronze"}
SEGMENTS: dict[str, SegmentEconomics] = {
    "office": {"customers": 3, "lifetime_value": 1000.0, "cost_to_serve": 800.0, "return_ratio": 1.25,
               "service_level": "silver"},
    "household": {"customers": 2, "lifetime_value": 300.0, "cost_to_serve": 250.0, "return_ratio": 1.2,
                  "service_level": "bronze"},
    "retail": {"customers": 4, "lifetime_value": 500.0, "cost_to_serve": 100.0, "return_ratio": 5.0,
               "service_level": "bronze"},
}
EXPECTED_PLAN = pd.DataFrame({
    "period": "2026-Q3",
    "segment": ["household", "household", "office", "office", "office", "office", "retail", "retail"],
    "service_level": ["bronze", "bronze", "silver", "silver", "silver", "silver", "bronze", "bronze"],
    "offering_id": ["scheduled_delivery", "deposit_app", "scheduled_delivery", "hotline_callback", "bucket_swap",
                    "deposit_app", "deposit_app", None],
    "meets": ["scheduled_delivery", "deposit_refund", "scheduled_delivery", "faster_hotline", "clean_buckets",
              "deposit_refund", "deposit_refund", None],
    "change": ["keep", "retire", "keep", "new", "new", "retire", "retire", "keep"],
    "cost_per_customer_month": [2.0, 1.0, 2.0, 1.5, 0.5, 1.0, 1.0, 0.0],
})


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


@pytest.fixture()
def files(tmp_path: Path) -> tuple[str, str]:
    return (str(write_table(NEEDS, tmp_path / "needs.parquet")),
            str(write_table(CATALOGUE, tmp_path / "offerings.csv")))


def test_plan_keeps_retires_adds_by_rank_within_cost_and_level(files: tuple[str, str], tmp_path: Path) -> None:
    needs, offerings = files
    mechanism = tmp_path / "mechanism.json"
    mechanism.write_text(json.dumps({"standards": [{"id": "hotline_answer"}, {"id": "door_delivery"}]}))
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     mechanism=str(mechanism))
    plan = outputs.pop("plan")  # type: ignore[misc]
    assert outputs == {
        "period": "2026-Q3", "offerings": 3, "new_offerings": 2, "retired_offerings": 1,
        "new": ["bucket_swap", "hotline_callback"], "retired": ["deposit_app"],
        "rejected_for_cost": {"weekend_slots": "household: cost to serve 322.00 over 36 months would pass "
                                               "100 % of lifetime value 300.00"},
        "retired_for_loss": {}, "needs_covered_pct": 66.67, "needs_without_offering": ["office: clear_billing"],
        "needs_without_offering_count": 1, "held_back_by_limit": 0,
        "needs_refused_for_cost": ["household: weekend_delivery"], "needs_refused_for_cost_count": 1,
        "cost_added_per_month": 6.0, "cost_saved_per_month": 9.0, "standards_in_force": 2,
    }
    written = pd.read_parquet(plan)
    pd.testing.assert_frame_equal(written, EXPECTED_PLAN, check_dtype=False)


def test_at_most_max_new_offerings_highest_rank_first(files: tuple[str, str]) -> None:
    """One new offering: household's rank-1 need is refused for cost, so office's rank-2
    faster_hotline takes the one place; clean_buckets (rank 3) is held back by the limit -> 1 of
    the 3 unmet needs an offering could meet = 33.33 %."""
    needs, offerings = files
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     max_new_offerings=1)
    assert (outputs["new"], outputs["needs_covered_pct"], outputs["held_back_by_limit"],
            outputs["cost_added_per_month"]) == (["hotline_callback"], 33.33, 1, 4.5)  # 3 customers x 1.5


def test_a_higher_cost_limit_admits_the_weekend_slots(files: tuple[str, str]) -> None:
    """At 110 %: household 322 <= 300 x 1.10 = 330 -> weekend_slots new as well; 3 of 3 covered = 100 %.
    Cost added: office 3 x 2.0 + household 2 x 3.0 = 12.0."""
    needs, offerings = files
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     max_cost_ratio_pct=110)
    assert (outputs["new"], outputs["rejected_for_cost"], outputs["needs_covered_pct"],
            outputs["cost_added_per_month"]) == (["bucket_swap", "hotline_callback", "weekend_slots"], {}, 100.0, 12.0)


def test_gold_office_gets_the_cheaper_gold_offering(files: tuple[str, str]) -> None:
    """At gold, hotline_vip (0.8) is allowed and cheaper than hotline_callback (1.5)."""
    needs, offerings = files
    outputs = design(CONTEXT, needs=needs, service_levels={**LEVELS, "office": "gold"}, segments=SEGMENTS,
                     offerings=offerings)
    assert outputs["new"] == ["bucket_swap", "hotline_vip"]


def test_unknown_level_and_mixed_quarters_are_refused(files: tuple[str, str], tmp_path: Path) -> None:
    needs, offerings = files
    with pytest.raises(ValueError, match="unknown service level"):
        design(CONTEXT, needs=needs, service_levels={"office": "platinum"}, segments=SEGMENTS, offerings=offerings)
    mixed = write_table(NEEDS.assign(period=["2026-Q1"] + ["2026-Q2"] * 5), tmp_path / "mixed.parquet")
    with pytest.raises(SourceError, match="one researched quarter"):
        design(CONTEXT, needs=str(mixed), service_levels=LEVELS, segments=SEGMENTS, offerings=offerings)


def test_keep_unnamed_offerings_but_retire_below_their_level(tmp_path: Path, files: tuple[str, str]) -> None:
    """retire_unnamed off: deposit_app stays everywhere. scheduled_delivery now needs silver, so
    bronze household loses it (saves 2.0): weekend_slots then costs 250 + (3.0 - 2.0) x 36 = 286
    <= 300 -> new. Office: 800 + 1.5 x 36 = 854 and 800 + 2.0 x 36 = 872 <= 1000 -> both new.
    household scheduled_delivery is now unmet, and nothing available meets it (nor office
    clear_billing): covered 3 of 3 = 100 %; added 3 x 2.0 + 2 x 3.0 = 12.0; saved 2 x 2.0 = 4.0."""
    needs, _ = files
    silver = CATALOGUE.assign(min_level=["silver", *CATALOGUE["min_level"][1:]])
    offerings = str(write_table(silver, tmp_path / "silver.csv"))
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     retire_unnamed=False)
    assert (outputs["new"], outputs["retired"], outputs["needs_covered_pct"], outputs["cost_added_per_month"],
            outputs["cost_saved_per_month"]) == (["bucket_swap", "hotline_callback", "weekend_slots"],
                                                 ["scheduled_delivery"], 100.0, 12.0, 4.0)
    assert outputs["needs_without_offering"] == ["household: scheduled_delivery", "office: clear_billing"]
    plan = pd.read_parquet(outputs["plan"])
    assert list(plan.loc[plan["segment"] == "retail", "offering_id"]) == ["deposit_app"]
    assert list(plan.loc[plan["segment"] == "household", "change"]) == ["keep", "new", "retire"]
