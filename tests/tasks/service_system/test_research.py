"""demand.research on a hand-made quarter (files, then SQLite), with the answers worked out below.

Quarter 2026-Q2 (an older 2026-Q1 folder shows the latest quarter is the default):

- surveys: office 10 invited, 8 responded: scheduled_delivery x4, faster_hotline x2,
  clean_buckets x1, one named nothing; household 5 invited, 2 responded, both
  weekend_delivery -> invited 15, responses 10, response rate 10/15 = 66.67 %.
- complaints received in Q2, a customer counted once per type: C1 delivery (twice:
  once), C2 delivery, C3 billing (30 June 23:00, still Q2) -> office
  scheduled_delivery 2, clear_billing 1; C4's `other` shows no need; C9 is in no
  visit (no segment); C1's delivery of 31 March is Q1.
- front-line reports: office faster_hotline x3, household scheduled_delivery x1.

Voices (mentions + complaints + reports): office scheduled_delivery 4+2+0 = 6 (rank 1),
faster_hotline 2+0+3 = 5 (2), clean_buckets 1+0+0 = 1 and clear_billing 0+1+0 = 1 tie,
clean_buckets first on its share 1/8 = 12.5 % against 0 % (3, 4); household
weekend_delivery 2 (1), scheduled_delivery 1 (2).

Catalogue: scheduled_delivery is current for every segment; nothing else current
meets a need named -> unmet: clean_buckets, clear_billing, faster_hotline,
weekend_delivery; 5 distinct needs found.

Wilson at 95 % (z = 1.959964, z^2 = 3.841459):
- office scheduled_delivery, k=4, n=8, p=0.5: scale = 1 + 3.841459/8 = 1.480182,
  centre = (0.5 + 3.841459/16)/1.480182 = 0.5, half = 1.959964/1.480182 x
  sqrt(0.25/8 + 3.841459/256) = 1.324137 x 0.215072 = 0.284785 -> 21.52 .. 78.48 %;
- household weekend_delivery, k=2, n=2, p=1: scale = 2.920730, centre =
  (1 + 0.960365)/2.920730 = 0.671191, half = 0.671051 x sqrt(3.841459/16) =
  0.671051 x 0.489991 = 0.328809 -> 34.24 .. 100 %.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.service_system.research import research
from pdcaflow.tasks.service_system.research_steps import wilson

CONTEXT = StepContext(process_id="service-quality-system", cycle=2)
METHODS = ("survey", "complaint_analysis", "front_line_reports")
SURVEYS = pd.DataFrame({
    "customer_id": [f"C{i}" for i in range(1, 16)],
    "segment": ["office"] * 10 + ["household"] * 5,
    "invited_at": "2026-04-02 09:00:00",
    "responded": [True] * 8 + [False] * 2 + [True] * 2 + [False] * 3,
    "satisfaction": [4, 5, 3, 4, 4, 2, 5, 4, None, None, 3, 4, None, None, None],
    "need": (["scheduled_delivery"] * 4 + ["faster_hotline"] * 2 + ["clean_buckets", None, None, None]
             + ["weekend_delivery"] * 2 + [None] * 3),
})
VISITS = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5"],
                       "segment": ["office", "office", "office", "household", "household"],
                       "planned": [6, 6, 6, 0, 0], "done": [6, 5, 6, 0, 0]})
REPORTS = pd.DataFrame({"report_id": ["F1", "F2", "F3", "F4"], "reported_at": "2026-05-05 10:00:00",
                        "reporter": "driver-7", "segment": ["office", "office", "office", "household"],
                        "need": ["faster_hotline"] * 3 + ["scheduled_delivery"]})
COMPLAINTS = pd.DataFrame({
    "contact_id": ["K1", "K2", "K3", "K4", "K5", "K6", "K7"],
    "customer_id": ["C1", "C1", "C2", "C3", "C4", "C9", "C1"],
    "received_at": pd.to_datetime(["2026-04-03 08:00", "2026-04-10 08:00", "2026-05-01 12:00", "2026-06-30 23:00",
                                   "2026-05-02 10:00", "2026-05-03 10:00", "2026-03-31 18:00"]),
    "channel": "hotline", "region": "north",
    "type": ["delivery", "delivery", "delivery", "billing", "other", "delivery", "delivery"],
    "summary": "", "claim_amount": None,
})
CATALOGUE = pd.DataFrame({
    "offering_id": ["scheduled_delivery", "hotline_callback", "bucket_swap", "weekend_slots", "paper_bills"],
    "name": ["Deliveries on a fixed day", "Call back within an hour", "Swap dirty buckets", "Saturday slots",
             "Itemised paper bills"],
    "meets": ["scheduled_delivery", "faster_hotline", "clean_buckets", "weekend_delivery", "clear_billing"],
    "segments": ["*", "office;key_account", "*", "household", "*"],
    "min_level": ["bronze", "silver", "bronze", "bronze", "bronze"],
    "cost_per_customer_month": [2.0, 1.5, 0.5, 3.0, 0.0],
    "status": ["current", "available", "available", "available", "retired"],
})
EXPECTED_NEEDS = pd.DataFrame({
    "segment": ["household", "household", "office", "office", "office", "office"],
    "need": ["weekend_delivery", "scheduled_delivery", "scheduled_delivery", "faster_hotline", "clean_buckets",
             "clear_billing"],
    "rank": [1, 2, 1, 2, 3, 4],
    "respondents": [2, 2, 8, 8, 8, 8],
    "mentions": [2, 0, 4, 2, 1, 0],
    "share_pct": [100.0, 0.0, 50.0, 25.0, 12.5, 0.0],
    "complaints": [0, 0, 2, 0, 0, 1],
    "reports": [0, 1, 0, 3, 0, 0],
    "met_by": ["", "scheduled_delivery", "scheduled_delivery", "", "", ""],
})


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def write_world(root: Path) -> Path:
    quarter = root / "quarters" / "2026-Q2"
    for name, frame in (("surveys", SURVEYS), ("visits", VISITS), ("front_line_reports", REPORTS)):
        write_table(frame, quarter / f"{name}.csv")
    write_table(SURVEYS.head(1), root / "quarters" / "2026-Q1" / "surveys.csv")
    write_table(COMPLAINTS, root / "complaints" / "complaints.csv")
    write_table(CATALOGUE, root / "offerings.csv")
    return root


def check_outputs(outputs: dict[str, object]) -> None:
    assert {key: value for key, value in outputs.items() if key != "needs"} == {
        "period": "2026-Q2", "invited": 15, "responses": 10, "response_rate": 66.67, "needs_found": 5,
        "unmet_needs": ["clean_buckets", "clear_billing", "faster_hotline", "weekend_delivery"],
        "top_unmet_by_segment": {"household": "weekend_delivery", "office": "faster_hotline"},
    }
    needs = pd.read_parquet(str(outputs["needs"]))
    assert set(needs["period"]) == {"2026-Q2"}
    pd.testing.assert_frame_equal(needs[list(EXPECTED_NEEDS.columns)], EXPECTED_NEEDS, check_dtype=False)
    office = needs.set_index(["segment", "need"]).loc[("office", "scheduled_delivery")]
    assert (office["ci_low"], office["ci_high"]) == (21.52, 78.48)
    weekend = needs.set_index(["segment", "need"]).loc[("household", "weekend_delivery")]
    assert (weekend["ci_low"], weekend["ci_high"]) == (34.24, 100.0)
    assert list(needs["unmet"]) == [True, False, False, True, True, True]


def test_needs_ranked_with_intervals_and_unmet_from_files(tmp_path: Path) -> None:
    root = write_world(tmp_path / "water")
    outputs = research(CONTEXT, source=str(root / "quarters"), complaints=str(root / "complaints"),
                       offerings=str(root / "offerings.csv"), methods=METHODS, segments=("office", "household"))
    check_outputs(dict(outputs))


def test_needs_from_a_sqlite_connection(tmp_path: Path) -> None:
    """Every quarter in one table with a period column; the Q1 rows are left out."""
    url = f"sqlite:///{tmp_path / 'water.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        older = SURVEYS.head(3).assign(period="2026-Q1", need="deposit_refund")
        pd.concat([SURVEYS.assign(period="2026-Q2"), older]).to_sql("surveys", connection, index=False)
        VISITS.assign(period="2026-Q2").to_sql("visits", connection, index=False)
        REPORTS.assign(period="2026-Q2").to_sql("front_line_reports", connection, index=False)
        COMPLAINTS.to_sql("complaints", connection, index=False)
        CATALOGUE.to_sql("offerings", connection, index=False)
    engine.dispose()
    outputs = research(CONTEXT, source=url, complaints=url, offerings=url, methods=METHODS,
                       segments=("office", "household"))
    check_outputs(dict(outputs))


def test_survey_only_for_one_quarter_named(tmp_path: Path) -> None:
    """Survey alone: office faster_hotline 2 voices, clean_buckets 1 -> ranks by mentions only; no complaints needed."""
    root = write_world(tmp_path / "water")
    outputs = research(CONTEXT, source=str(root), offerings=str(root / "offerings.csv"), methods=("survey",),
                       period="2026-Q2")
    needs = pd.read_parquet(outputs["needs"])
    office = needs[needs["segment"] == "office"]
    assert list(office["need"]) == ["scheduled_delivery", "faster_hotline", "clean_buckets"]  # 4, 2, 1 mentions
    assert list(office["complaints"]) == [0, 0, 0]
    assert outputs["unmet_needs"] == ["clean_buckets", "faster_hotline", "weekend_delivery"]


def test_wilson_interval_at_90_percent() -> None:
    """k=1, n=10, z=1.644854, z^2=2.705543: scale 1.270554, centre (0.1+0.135277)/1.270554 = 0.185177,
    half 1.294594 x sqrt(0.009 + 0.006764) = 1.294594 x 0.125555 = 0.162543 -> 2.26 .. 34.77 %."""
    assert wilson(1, 10, 90) == (2.26, 34.77)
    assert wilson(0, 0, 95) == (None, None)


def test_complaint_analysis_needs_the_complaints(tmp_path: Path) -> None:
    root = write_world(tmp_path / "water")
    with pytest.raises(ValueError, match="complaint_analysis needs `complaints`"):
        research(CONTEXT, source=str(root), offerings=str(root / "offerings.csv"), methods=METHODS)


def test_a_quarter_without_surveys_is_named(tmp_path: Path) -> None:
    root = write_world(tmp_path / "water")
    with pytest.raises(SourceError, match="no folder 2025-Q4"):
        research(CONTEXT, source=str(root), offerings=str(root / "offerings.csv"), methods=("survey",),
                 period="2025-Q4")


def test_an_offering_above_the_segments_level_does_not_meet_its_needs(tmp_path: Path) -> None:
    """scheduled_delivery now needs silver. With office silver and household bronze it still meets
    office's scheduled_delivery, not household's: household scheduled_delivery becomes unmet (met_by
    empty) and, at rank 2 after weekend_delivery, is not household's top unmet need. Without
    service_levels (the other tests) it is met in both."""
    root = write_world(tmp_path / "water")
    write_table(CATALOGUE.assign(min_level=["silver", "silver", "bronze", "bronze", "bronze"]),
                root / "offerings.csv")
    outputs = research(CONTEXT, source=str(root / "quarters"), complaints=str(root / "complaints"),
                       offerings=str(root / "offerings.csv"), methods=METHODS, segments=("office", "household"),
                       service_levels={"office": "silver", "household": "bronze"})
    needs = pd.read_parquet(outputs["needs"]).set_index(["segment", "need"])
    assert needs.loc[("household", "scheduled_delivery"), "met_by"] == ""
    assert bool(needs.loc[("household", "scheduled_delivery"), "unmet"]) is True
    assert needs.loc[("office", "scheduled_delivery"), "met_by"] == "scheduled_delivery"
    assert outputs["unmet_needs"] == ["clean_buckets", "clear_billing", "faster_hotline", "scheduled_delivery",
                                      "weekend_delivery"]
    assert outputs["top_unmet_by_segment"] == {"household": "weekend_delivery", "office": "faster_hotline"}
    with pytest.raises(ValueError, match="unknown service level"):
        research(CONTEXT, source=str(root / "quarters"), complaints=str(root / "complaints"),
                 offerings=str(root / "offerings.csv"), methods=METHODS, service_levels={"office": "platinum"})
