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


# Each customer's monthly cost to serve and margin, for the per-customer loss limit (9 customers).
CUSTOMERS = pd.DataFrame({
    "customer_id": [f"C{i}" for i in range(1, 10)] + ["C10"],
    "segment": ["office"] * 3 + ["household"] * 2 + ["retail"] * 4 + ["household"],
    "monthly_margin": [100.0, 100.0, 100.0, 40.0, 40.0, 100.0, 100.0, 100.0, 100.0, 1.0],
    "monthly_service_cost": [99.5, 60.0, 50.0, 38.0, 20.0, 10.0, 10.0, 10.0, 10.0, 50.0],
    "left": [""] * 9 + ["2026-05-31"],  # C10 has left: not counted
})


def test_no_offering_takes_more_than_the_limit_of_customers_past_their_margin(
        files: tuple[str, str], tmp_path: Path) -> None:
    """At 100 %, deposit_app retired (-1.0 a month in every segment): nobody past the margin.
    - household weekend_slots: refused by the lifetime-value rule (322 > 300, as above);
    - office hotline_callback: C1 99.5 + 1.5 - 1.0 = 100.0 <= 100 -> nobody past -> new;
    - office bucket_swap: C1 99.5 + 2.0 - 1.0 = 100.5 > 100 -> 1 of 9 customers = 11.1 % > 10 % -> refused.
    Covered 1 of the 3 an offering fits = 33.33 %."""
    needs, offerings = files
    customers = str(write_table(CUSTOMERS, tmp_path / "customers.csv"))
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     customers=customers)
    assert outputs["new"] == ["hotline_callback"]
    assert outputs["rejected_for_cost"]["bucket_swap"] == ("office: 11.1 % of all customers would cost more than "
                                                           "100 % of their margin (at most 10 %)")
    assert (outputs["needs_refused_for_cost"], outputs["needs_covered_pct"], outputs["retired_for_loss"]) == (
        ["household: weekend_delivery", "office: clean_buckets"], 33.33, {})


def test_offerings_retired_while_too_many_customers_cost_more_than_the_limit(
        files: tuple[str, str], tmp_path: Path) -> None:
    """At 90 % of the margin (office and retail 90, household 36), deposit_app retired (-1.0):
    C1 98.5 > 90 and C4 37 > 36 -> 2 of 9 = 22.2 % > 10 %. Household has the larger share (1 of 2)
    -> its scheduled_delivery (2.0) goes: C4 35 <= 36; still 1 of 9 = 11.1 % -> office's goes:
    C1 96.5 > 90 still, nothing more kept anywhere with a customer past it -> stop.
    Then (unmet by rank and voices): office scheduled_delivery and household scheduled_delivery:
    only the offering just retired fits -> not back at once; household weekend_slots: lifetime
    250 + (3.0 - 1.0 - 2.0) x 36 = 250 <= 270, but C4 38 + 0 > 36 -> 2 of 9 = 22.2 % -> refused;
    office hotline_callback and bucket_swap: C1 99.5 - 3.0 + 1.5 = 98 > 90 -> 11.1 % -> refused.
    Covered 0 of 5 an offering fits (office clear_billing has none) -> 0 %."""
    needs, offerings = files
    customers = str(write_table(CUSTOMERS, tmp_path / "customers.csv"))
    outputs = design(CONTEXT, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     customers=customers, max_cost_ratio_pct=90)
    assert outputs["retired_for_loss"] == {"scheduled_delivery": (
        "household: 22.2 % of all customers cost more than 90 % of their margin (at most 10 %); "
        "office: 11.1 % of all customers cost more than 90 % of their margin (at most 10 %)")}
    assert (outputs["new"], outputs["retired"]) == ([], ["deposit_app", "scheduled_delivery"])
    assert outputs["rejected_for_cost"]["weekend_slots"] == ("household: 22.2 % of all customers would cost more "
                                                             "than 90 % of their margin (at most 10 %)")
    assert (outputs["needs_refused_for_cost"], outputs["needs_covered_pct"], outputs["needs_without_offering"]) == (
        ["household: weekend_delivery", "office: faster_hotline", "office: clean_buckets"], 0.0,
        ["office: clear_billing"])


def test_what_was_in_force_comes_from_the_last_cycles_plan(files: tuple[str, str], tmp_path: Path) -> None:
    """Last cycle's plan put scheduled_delivery in force for office only, nothing for household or
    retail: deposit_app was in force nowhere, so nothing is retired and nothing saved. At 110 %:
    household weekend_slots 250 + 3.0 x 36 = 358 > 330 -> refused; office hotline_callback 800 +
    1.5 x 36 = 854 <= 1100 -> new; household's scheduled_delivery (current, not yet its own):
    250 + 2.0 x 36 = 322 <= 330 -> new, extended and not launched, so with max_new_offerings 2
    bucket_swap (800 + 2.0 x 36 = 872) still has a place. Covered 3 of 4 = 75 %; cost added office
    3 x (1.5 + 0.5) + household 2 x 2.0 = 10.0."""
    needs, offerings = files
    last = tmp_path / "work" / "service-quality-system" / "cycle-0001"
    write_table(pd.DataFrame({"period": "2026-Q2", "segment": ["office", "household", "retail"],
                              "service_level": ["silver", "bronze", "bronze"],
                              "offering_id": ["scheduled_delivery", None, None],
                              "meets": ["scheduled_delivery", None, None], "change": "keep",
                              "cost_per_customer_month": [2.0, 0.0, 0.0]}), last / "service_plan.parquet")
    context = StepContext(process_id="service-quality-system", cycle=2, previous={"cycle": 1})
    outputs = design(context, needs=needs, service_levels=LEVELS, segments=SEGMENTS, offerings=offerings,
                     max_cost_ratio_pct=110, max_new_offerings=2)
    assert (outputs["new"], outputs["retired"], outputs["held_back_by_limit"], outputs["needs_covered_pct"],
            outputs["cost_added_per_month"], outputs["cost_saved_per_month"]) == (
        ["bucket_swap", "hotline_callback", "scheduled_delivery"], [], 0, 75.0, 10.0, 0.0)
    assert outputs["needs_refused_for_cost"] == ["household: weekend_delivery"]
