"""How the water world answers each lever (docs/water-world.md gives the sizes).

Each test simulates the first planned quarter (2026-Q3) from the same state twice,
once per setting of one lever, and checks the direction and rough size of the answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.water_world import Levers, simulate_before_task, simulate_quarter
from tests.tasks.water_world.helpers import REFERENCE_VISITS, write_cases, write_plan

Q3 = "2026-Q3"
SEALED_BUCKETS = ("household", "bronze", "sealed_buckets", "clean_buckets", 1.0)


def twin(world: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "twin"
    shutil.copytree(world, copy)
    return copy


def quarter_table(world: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(world / "quarters" / Q3 / f"{table}.csv")


def latent(world: Path, segment: str) -> float:
    state = pd.read_parquet(world / "world_state" / f"customers-{Q3}.parquet")
    return float(state.loc[(state["segment"] == segment) & (state["left"] == ""), "satisfaction"].mean())


def test_more_visits_raise_a_segments_satisfaction_and_cut_its_out_of_water_deliveries(world: Path,
                                                                                         tmp_path: Path) -> None:
    more = twin(world, tmp_path)
    plan = write_plan(tmp_path / "plan.parquet", Q3)
    simulate_quarter(world, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS, survey_size=2000))
    simulate_quarter(more, Q3, plan=plan, levers=Levers(visits_per_month={**REFERENCE_VISITS, "office": 5},
                                                        survey_size=2000))
    # target gain 0.6 x (e^(-0.35 x 1.92) - e^(-0.35 x 4.8)) = 0.6 x (0.511 - 0.186) = 0.195 (visits done a
    # month 96 % of 2 and of 5), of which 45 % shows in the quarter: 0.088
    assert 0.06 < latent(more, "office") - latent(world, "office") < 0.12
    assert abs(latent(more, "household") - latent(world, "household")) < 0.02      # other segments unmoved
    surveys, surveys_more = quarter_table(world, "surveys"), quarter_table(more, "surveys")
    office = surveys.loc[surveys["segment"] == "office", "satisfaction"].mean()
    assert surveys_more.loc[surveys_more["segment"] == "office", "satisfaction"].mean() > office + 0.05

    def out_of_water(w: Path) -> float:
        deliveries = quarter_table(w, "deliveries")
        return float(deliveries.loc[deliveries["segment"] == "office", "out_of_water"].mean())
    # 3 % x e^(-0.35 x 2) = 1.5 % of office deliveries against 3 % x e^(-0.35 x 5) = 0.52 %
    assert out_of_water(more) < 0.6 * out_of_water(world)


def test_an_offering_meeting_a_need_cuts_its_complaints_and_its_mentions_and_costs_money(world: Path,
                                                                                         tmp_path: Path) -> None:
    offered = twin(world, tmp_path)
    levers = Levers(visits_per_month=REFERENCE_VISITS, survey_size=2000)
    before = pd.read_csv(world / "customers.csv", keep_default_na=False).set_index("customer_id")
    simulate_quarter(world, Q3, plan=write_plan(tmp_path / "plan.parquet", Q3), levers=levers)
    simulate_quarter(offered, Q3, plan=write_plan(tmp_path / "offered.parquet", Q3, [SEALED_BUCKETS]),
                     levers=levers)

    def household_bucket_complaints(w: Path) -> int:
        complaints = pd.read_csv(w / "complaints" / "complaints.csv")
        customers = pd.read_csv(w / "customers.csv").set_index("customer_id")["segment"]
        mine = complaints.loc[pd.to_datetime(complaints["received_at"]) >= pd.Timestamp("2026-07-01")]
        return int(((mine["type"] == "bucket") & (mine["customer_id"].map(customers) == "household")).sum())
    assert household_bucket_complaints(offered) < 0.6 * household_bucket_complaints(world)

    def naming_clean_buckets(w: Path) -> int:
        surveys = quarter_table(w, "surveys")
        return int(((surveys["segment"] == "household") & (surveys["need"] == "clean_buckets")).sum())
    assert naming_clean_buckets(offered) < 0.3 * naming_clean_buckets(world)
    assert latent(offered, "household") > latent(world, "household") + 0.03
    # the offering adds its 1.00 a month to every household's cost to serve, nothing to the others'
    after = pd.read_csv(offered / "customers.csv", keep_default_na=False).set_index("customer_id")
    added = (after["monthly_service_cost"] - before["monthly_service_cost"]).dropna().round(2)
    segment = before["segment"].reindex(added.index)
    assert set(added[segment == "household"]) == {1.0} and set(added[segment != "household"]) == {0.0}


def test_a_shorter_delivery_window_makes_more_deliveries_late(world: Path, tmp_path: Path) -> None:
    short = twin(world, tmp_path)
    plan = write_plan(tmp_path / "plan.parquet", Q3)
    simulate_quarter(world, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS))
    simulate_quarter(short, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS,
                                                         delivery_window_hours=3))

    def late(w: Path) -> float:
        deliveries = quarter_table(w, "deliveries")
        made = deliveries.loc[deliveries["delivered_at"].notna()]
        return float((pd.to_datetime(made["delivered_at"]) > pd.to_datetime(made["promised_by"])).mean())
    # lead time lognormal, median about 2.3 h, sd 0.3: P(> 4 h) = P(z > 1.85) = 3 %, P(> 3 h) = P(z > 0.89) = 19 %
    assert 0.01 < late(world) < 0.06 and 0.12 < late(short) < 0.26


def test_a_larger_survey_brings_more_responses(world: Path, tmp_path: Path) -> None:
    larger = twin(world, tmp_path)
    plan = write_plan(tmp_path / "plan.parquet", Q3)
    simulate_quarter(world, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS, survey_size=300))
    simulate_quarter(larger, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS, survey_size=900))
    responses = quarter_table(world, "surveys")["responded"].sum()
    assert len(quarter_table(world, "surveys")) == 300 and len(quarter_table(larger, "surveys")) == 900
    # about a third reply: ~100 of 300 against ~300 of 900
    assert quarter_table(larger, "surveys")["responded"].sum() > 2 * responses


def handle(world: Path, cases: str, **rules: object) -> pd.DataFrame:
    simulate_before_task(task="complaints.handle", inputs={
        "cases": cases, "source": str(world / "complaints"), "sla_hours": 48.0, "first_response_hours": 4.0,
        "escalate_after_hours": 24.0, "escalate_to": "service-manager", "confirm_with_customer": True,
        "silence_days": 7, "settle_within_days": 14, **rules})
    return pd.read_csv(world / "complaints" / "complaint_events.csv", parse_dates=["at"])


def within_48h(cases: pd.DataFrame, events: pd.DataFrame) -> float:
    resolved = events.loc[events["event"] == "resolved"].groupby("contact_id")["at"].min()
    hours = (resolved.reindex(cases["contact_ids"]).to_numpy() - cases["received_at"].to_numpy()) / pd.Timedelta(hours=1)
    return float((hours <= 48).mean())


def test_sooner_escalation_resolves_more_cases_within_48_hours(world: Path, tmp_path: Path) -> None:
    simulate_quarter(world, Q3, plan=write_plan(tmp_path / "plan.parquet", Q3),
                     levers=Levers(visits_per_month=REFERENCE_VISITS))
    sooner = twin(world, tmp_path)
    cases = write_cases(world, "2026-07-01", tmp_path / "cases.parquet", owners=2)
    late = within_48h(cases, handle(world, str(tmp_path / "cases.parquet"), escalate_after_hours=24.0))
    early = within_48h(cases, handle(sooner, str(tmp_path / "cases.parquet"), escalate_after_hours=8.0,
                                     escalate_to=["team-lead", "service-manager"]))
    assert early > late + 0.03 and late < 0.97


def test_asking_customers_to_confirm_gets_more_confirmations(world: Path, tmp_path: Path) -> None:
    simulate_quarter(world, Q3, plan=write_plan(tmp_path / "plan.parquet", Q3),
                     levers=Levers(visits_per_month=REFERENCE_VISITS))
    silent = twin(world, tmp_path)
    cases = write_cases(world, "2026-07-01", tmp_path / "cases.parquet")
    asked = handle(world, str(tmp_path / "cases.parquet"))
    unasked = handle(silent, str(tmp_path / "cases.parquet"), confirm_with_customer=False)
    mine = set(cases["contact_ids"])
    confirmed = (asked["event"].eq("confirmed") & asked["contact_id"].isin(mine)).sum()
    # 70 % of cases confirm when asked, 20 % unasked
    assert (unasked["event"].eq("confirmed") & unasked["contact_id"].isin(mine)).sum() < 0.45 * confirmed


def test_online_ordering_needs_the_online_channel_open(world: Path, tmp_path: Path) -> None:
    closed = twin(world, tmp_path)
    online = ("household", "bronze", "online_ordering", "online_ordering", 1.2)
    plan = write_plan(tmp_path / "plan.parquet", Q3, [online])
    simulate_quarter(world, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS, survey_size=2000))
    simulate_quarter(closed, Q3, plan=plan, levers=Levers(visits_per_month=REFERENCE_VISITS, survey_size=2000,
                                                          channels=("phone",)))

    def naming_online(w: Path) -> int:
        surveys = quarter_table(w, "surveys")
        return int(((surveys["segment"] == "household") & (surveys["need"] == "online_ordering")).sum())
    assert naming_online(world) < 0.3 * naming_online(closed)


def test_cycles_that_offer_what_the_survey_names_lift_satisfaction_quarter_by_quarter(world: Path,
                                                                                        tmp_path: Path) -> None:
    from pdcaflow.tasks.water_world.calibrate import kept, research_and_design
    improving = twin(world, tmp_path)
    levers = Levers(visits_per_month=REFERENCE_VISITS)
    means, reference = [], []
    for quarter in ("2026-Q3", "2026-Q4", "2027-Q1"):
        simulate_quarter(world, quarter, plan=kept(world, quarter), levers=levers)
        simulate_quarter(improving, quarter, plan=research_and_design(improving, quarter), levers=levers)
        for w, out in ((world, reference), (improving, means)):
            state = pd.read_parquet(w / "world_state" / f"customers-{quarter}.parquet")
            out.append(float(state.loc[state["left"] == "", "satisfaction"].mean()))
    assert means[0] < means[1] < means[2] and means[2] > reference[2] + 0.15
    assert max(reference) - min(reference) < 0.05                  # without a change the world stays put
