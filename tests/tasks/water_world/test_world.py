"""The water world: the data contract, deterministic generation, quarters simulated again replace their records."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest

from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.water_world import Levers, generate_world, is_world, load_info, simulate_quarter
from pdcaflow.tasks.water_world.handling import DeskRules, resolution_hours, workload_factor
from pdcaflow.tasks.water_world.periods import add_quarters, quarter_days, quarter_for, quarter_index
from tests.tasks.water_world.helpers import CONTRACT, REFERENCE_VISITS, write_plan

TABLES = ("deliveries", "bucket_returns", "hotline_calls", "visits", "surveys", "front_line_reports", "inspections")


def header(path: Path) -> str:
    return ", ".join(pd.read_csv(path, nrows=0).columns)


def all_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_every_table_has_exactly_the_contracts_columns(world: Path, tmp_path: Path) -> None:
    simulate_quarter(world, "2026-Q3", plan=write_plan(tmp_path / "plan.parquet", "2026-Q3"),
                     levers=Levers(visits_per_month=REFERENCE_VISITS))
    assert header(world / "customers.csv") == CONTRACT["customers.csv"]
    assert header(world / "offerings.csv") == CONTRACT["offerings.csv"]
    for quarter in ("2026-Q1", "2026-Q2", "2026-Q3"):
        for table in TABLES:
            assert header(world / "quarters" / quarter / f"{table}.csv") == CONTRACT[table], (quarter, table)
    for table in ("complaints", "complaint_events"):
        assert header(world / "complaints" / f"{table}.csv") == CONTRACT[table]


def test_the_generated_world_looks_like_the_contract_says(original: Path) -> None:
    info = load_info(original)
    assert is_world(original) and not is_world(original / "quarters")
    assert info.history == info.quarters == ("2026-Q1", "2026-Q2") and info.complaints_handled_through == "2026-Q2"
    customers = pd.read_csv(original / "customers.csv", keep_default_na=False)
    shares = customers["segment"].value_counts(normalize=True)
    assert 0.55 < shares["household"] < 0.70 and 0.01 < shares["key_account"] < 0.04      # 63 % and 2 % drawn
    assert set(customers["region"]) == {"north", "south", "east", "west"}
    households = customers.loc[(customers["segment"] == "household") & (customers["left"] == "")]
    at_a_loss = (households["monthly_service_cost"] > households["monthly_margin"]).mean()
    assert 0.05 < at_a_loss < 0.25                                                         # some, not most
    offerings = pd.read_csv(original / "offerings.csv")
    assert (offerings["status"] == "current").sum() == 3 and (offerings["status"] == "available").sum() == 8
    text = (original / "quarters" / "2026-Q1" / "deliveries.csv").read_text().splitlines()
    assert text[1].endswith(("true", "false"))                                 # booleans as the contract writes them
    deliveries = pd.read_csv(original / "quarters" / "2026-Q1" / "deliveries.csv")
    assert deliveries["ordered_at"].str.fullmatch(r"2026-0[1-3]-\d\d \d\d:\d\d:\d\d").all()
    complaints = pd.read_csv(original / "complaints" / "complaints.csv")
    assert complaints["contact_id"].is_unique and complaints["claim_amount"].notna().any()
    assert set(complaints["channel"]) <= {"hotline", "wechat", "field", "email", "web"}
    # repeat contacts: some customer contacted about one type more than once
    assert complaints.duplicated(["customer_id", "type"]).any()
    events = pd.read_csv(original / "complaints" / "complaint_events.csv")
    assert set(events["event"]) == {"answered", "resolved", "confirmed", "reopened", "settled"}
    assert events.loc[events["event"] == "confirmed", "score"].dropna().between(1, 5).all()
    assert events.loc[events["event"] == "settled", "amount"].gt(0).all()


def test_the_same_seed_gives_the_same_files_and_another_seed_others(tmp_path: Path, original: Path) -> None:
    generate_world(tmp_path / "again", seed=7)
    files = all_files(original)
    assert files == all_files(tmp_path / "again")
    match, mismatch, errors = filecmp.cmpfiles(original, tmp_path / "again", [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []
    generate_world(tmp_path / "other", customers=300, seed=8)
    assert not filecmp.cmp(original / "customers.csv", tmp_path / "other" / "customers.csv", shallow=False)


def test_simulating_a_quarter_again_replaces_its_records(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.parquet", "2026-Q3")
    levers = Levers(visits_per_month=REFERENCE_VISITS)
    simulate_quarter(world, "2026-Q3", plan=plan, levers=levers)
    first = {p: p.read_bytes() for p in (world / "quarters" / "2026-Q3").iterdir()}
    complaints = (world / "complaints" / "complaints.csv").read_bytes()
    customers = (world / "customers.csv").read_bytes()
    simulate_quarter(world, "2026-Q3", plan=plan, levers=levers)
    assert {p: p.read_bytes() for p in (world / "quarters" / "2026-Q3").iterdir()} == first
    assert (world / "complaints" / "complaints.csv").read_bytes() == complaints   # replaced, not appended
    assert (world / "customers.csv").read_bytes() == customers
    assert load_info(world).quarters == ("2026-Q1", "2026-Q2", "2026-Q3")


def test_quarters_are_simulated_in_order_and_levers_checked(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.parquet", "2026-Q4")
    with pytest.raises(ValueError, match=r"2026-Q4: the world in .* is simulated through 2026-Q2; the next "
                                         r"quarter it can simulate is 2026-Q3"):
        simulate_quarter(world, "2026-Q4", plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS))
    with pytest.raises(ValueError, match=r"visits_per_month: unknown segment 'shops'"):
        simulate_quarter(world, "2026-Q3", plan=plan, levers=Levers(visits_per_month={"shops": 1}))
    with pytest.raises(SourceError, match=r"missing column\(s\) change, cost_per_customer_month"):
        simulate_quarter(world, "2026-Q3", plan=pd.DataFrame({"period": ["2026-Q3"], "segment": ["office"],
                                                              "service_level": ["silver"], "offering_id": [""],
                                                              "meets": [""]}),
                         levers=Levers(visits_per_month=REFERENCE_VISITS))
    with pytest.raises(ValueError, match=r"plan.parquet plans 2026-Q4, not 2026-Q3: simulate the quarter it was "
                                         r"made for"):
        simulate_quarter(world, "2026-Q3", plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS))
    with pytest.raises(SourceError, match=r"no such file: .*nowhere is not a generated water world"):
        load_info(tmp_path / "nowhere")


def test_quarter_arithmetic() -> None:
    assert quarter_index("2026-Q3") == 2026 * 4 + 2 and add_quarters("2026-Q4", 1) == "2027-Q1"
    assert quarter_days("2026-Q1") == 31 + 28 + 31 and quarter_days("2028-Q1") == 31 + 29 + 31
    assert quarter_for("2026-08") == "2026-Q3" and quarter_for("2026-12") == "2026-Q4" and quarter_for("2027-Q1") == "2027-Q1"
    with pytest.raises(ValueError, match=r"'2026-07' is not a quarter written YYYY-Qn"):
        quarter_index("2026-07")


def test_escalation_and_workload_by_hand() -> None:
    import numpy as np
    # a case needing 58 h, escalated at 24 h with the rest sped up by half: 24 + (58 - 24) x 0.5 = 41 h
    one_level = DeskRules(escalate_after_hours=24, escalate_to=("lead",))
    assert resolution_hours(np.array([58.0, 20.0]), one_level, 0.5).tolist() == [41.0, 20.0]
    # two levels, every 12 h: 12 + (58 - 12) x 0.5 = 35; at 24 h still open: 24 + (35 - 24) x 0.5 = 29.5 h
    two_levels = DeskRules(escalate_after_hours=12, escalate_to=("lead", "manager"))
    assert resolution_hours(np.array([58.0]), two_levels, 0.5).tolist() == [29.5]
    # an owner with 60 cases at a capacity of 60: 1 + 0.6 x 1^1.5 = 1.6; with 240: 1 + 0.6 x 8 = 5.8 -> capped at 4
    assert workload_factor(np.array([60.0, 240.0]), 60.0).tolist() == [1.6, 4.0]


def test_working_hours_by_hand() -> None:
    import numpy as np
    from pdcaflow.tasks.water_world.work_hours import WorkingHours
    calendar = WorkingHours.from_spec({"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00",
                                       "holidays": ["2026-07-03"]})
    assert calendar is not None and WorkingHours.from_spec(None) is None
    starts = np.array(["2026-07-01T10:00", "2026-07-01T20:00", "2026-07-04T10:00", "2026-07-02T17:00",
                       "2026-09-30T17:00"], dtype="datetime64[s]")
    later = calendar.add(starts, np.array([4.0, 1.0, 9.0, 2.0, 2.0]))
    assert [str(t) for t in later] == [
        "2026-07-01T14:00:00",   # Wednesday 10:00 + 4 h
        "2026-07-02T10:00:00",   # after closing: from Thursday's opening, 09:00 + 1 h
        "2026-07-06T18:00:00",   # Saturday: from Monday 09:00 + 9 h
        "2026-07-06T10:00:00",   # Thursday 17:00-18:00 is 1 h, Friday a holiday, Monday 09:00 + 1 h
        "2026-10-01T10:00:00",   # 13 weeks on, a Wednesday: 1 h that day, Thursday 09:00 + 1 h
    ]
    with pytest.raises(ValueError, match=r"calendar.hours: '9-18' is not a span written HH:MM-HH:MM"):
        WorkingHours.from_spec({"hours": "9-18"})
