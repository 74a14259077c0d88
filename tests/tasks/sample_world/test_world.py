"""The sample world: deterministic generation, the data contract, idempotent months, and how it responds.

Every test works on a copy of one small world (300 customers) generated once for
the module, so the file runs in seconds. The response tests simulate the same
first month twice from the same state, once per setting of a lever, and check
the direction of the response (docs/sample-world.md gives the sizes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.sample_world import generate_world, load_info, next_month, reference_plan, simulate_month
from pdcaflow.tasks.sample_world.periods import add_months, month_range, season_factor

CUSTOMERS = 300
INITIAL_VISITS = {"A": 4, "B": 2, "C": 1, "D": 1}
FIRST = "2026-01"
CONTRACT = {
    "customers.csv": ["customer_id", "name", "licence_no", "business_type", "address", "area", "district", "size",
                      "joined", "left"],
    "sales.parquet": ["customer_id", "product_id", "month", "quantity", "requested"],
    "products.csv": ["product_id", "name", "brand", "price", "margin_pct"],
    "supply.csv": ["product_id", "month", "supply"],
}
OPERATIONS = {
    "visits": ["customer_id", "class", "planned", "done", "price_labels_ok"],
    "orders": ["order_id", "customer_id", "product_id", "channel", "requested", "allocated", "delivered",
               "supplementary", "ordered_at", "delivered_at", "on_time"],
    "complaints": ["complaint_id", "customer_id", "category", "opened_at", "closed_at", "contacts"],
    "surveys": ["customer_id", "class", "score", "surveyed_at"],
    "inspections": ["record_id", "customer_id", "level", "score"],
}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("world") / "retail"
    generate_world(directory, customers=CUSTOMERS, seed=11)
    return directory


@pytest.fixture()
def world(original: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "retail"
    shutil.copytree(original, copy)
    return copy


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def simulate(world: Path, period: str = FIRST, **levers: Any) -> Path:
    plan = levers.pop("plan", None)
    if plan is None:
        plan = reference_plan(world, period, reserve_pct=levers.pop("reserve_pct", 5.0))
    levers.setdefault("visits_per_month", INITIAL_VISITS)
    return simulate_month(world, period, plan=plan, **levers)


def latent(world: Path, period: str = FIRST) -> pd.Series:
    state = pd.read_parquet(world / "world_state" / f"customers-{period}.parquet")
    return state.loc[state["left"] == "", "satisfaction"]


def stockout_rate(folder: Path) -> float:
    orders = pd.read_parquet(folder / "orders.parquet")
    return float((orders["delivered"] < orders["requested"]).mean())


# --- generation -------------------------------------------------------------------------------------------


def test_the_same_seed_gives_identical_files(original: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_world(again, customers=CUSTOMERS, seed=11)
    for name in [*CONTRACT, "world.json", f"world_state/customers-{add_months(FIRST, -1)}.parquet"]:
        assert (again / name).read_bytes() == (original / name).read_bytes(), name


def test_another_seed_gives_another_world(original: Path, tmp_path: Path) -> None:
    generate_world(tmp_path / "other", customers=CUSTOMERS, seed=12)
    assert not read(tmp_path / "other" / "sales.parquet").equals(read(original / "sales.parquet"))


def test_the_input_tables_follow_the_data_contract(original: Path) -> None:
    for name, columns in CONTRACT.items():
        assert list(read(original / name).columns) == columns, name
    customers = read(original / "customers.csv")
    active = customers.loc[customers["left"] == ""]
    assert len(active) == CUSTOMERS and customers["customer_id"].is_unique
    assert len(customers) > CUSTOMERS                                     # leavers stay in the list
    licence = customers["licence_no"]
    assert (licence.str.fullmatch(r"\d{12}")).mean() > 0.9
    assert (licence.eq("") | licence.str.len().eq(11)).any()          # a few records are spoiled on purpose
    sales = read(original / "sales.parquet")
    assert sorted(sales["month"].unique()) == month_range("2024-01", 24)
    assert (sales["quantity"] > 0).all() and sales["quantity"].eq(sales["requested"]).all()
    assert set(sales["customer_id"]) <= set(customers["customer_id"])
    info = json.loads((original / "world.json").read_text())
    assert (info["seed"], info["customers"], info["history_end"], info["supply_until"]) == (11, 300, "2025-12",
                                                                                           "2026-12")
    assert len(info["scarce_products"]) == 3 and "simulation" in info["note"]
    supply = read(original / "supply.csv").astype({"supply": int})
    assert sorted(supply["month"].unique()) == month_range("2024-01", 36)


def test_scarce_products_get_less_supply_than_expected_demand(original: Path) -> None:
    info = load_info(original)
    supply = read(original / "supply.csv").astype({"supply": float}).set_index(["month", "product_id"])["supply"]
    for index, product in enumerate(info.products):
        recent = np.mean([season_factor(month) for month in ("2025-10", "2025-11", "2025-12")])
        expected = info.supply_base[index] * np.exp(info.supply_growth[index]) * recent
        assert (supply[(FIRST, product)] < expected) == (product in info.scarce_products), product


def test_sales_peak_before_the_spring_festival(original: Path) -> None:
    totals = read(original / "sales.parquet").groupby("month")["quantity"].sum()
    assert totals["2025-01"] > totals[["2025-03", "2025-04", "2025-05"]].max()   # festival 29 Jan 2025


def test_next_month_follows_the_sales_history(original: Path) -> None:
    assert next_month(original / "sales.parquet") == next_month(str(original)) == FIRST


def test_a_larger_world_has_the_rows_its_size_implies(tmp_path: Path) -> None:
    info = generate_world(tmp_path / "big", customers=5000, history_months=6, horizon_months=2, seed=3)
    customers = read(tmp_path / "big" / "customers.csv")
    sales = read(tmp_path / "big" / "sales.parquet")
    assert (customers["left"] == "").sum() == 5000 and info.supply_until == "2024-08"
    assert 5000 * 6 * 4 < len(sales) < 5500 * 6 * len(info.products)


def test_sizes_out_of_range_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers is 5: a world has 10"):
        generate_world(tmp_path, customers=5)
    with pytest.raises(ValueError, match="not a month written YYYY-MM"):
        generate_world(tmp_path, start="2024-13")


# --- one month ---------------------------------------------------------------------------------------------


def test_a_month_writes_its_records_appends_its_sales_and_moves_the_list_on(world: Path, original: Path) -> None:
    folder = simulate(world)
    assert folder == world / "operations" / FIRST
    for name, columns in OPERATIONS.items():
        assert list(read(folder / f"{name}.parquet").columns) == columns, name
    visits = read(folder / "visits.parquet")
    assert len(visits) == CUSTOMERS and visits["planned"].ge(1).all()
    assert set(read(folder / "inspections.parquet")["level"]) == {"self", "department", "company"}
    assert read(folder / "surveys.parquet")["score"].between(1, 5).all()
    sales = read(world / "sales.parquet")
    assert sales["month"].max() == FIRST and (sales["quantity"] <= sales["requested"]).all()
    assert next_month(world / "sales.parquet") == "2026-02"
    before, after = read(original / "customers.csv"), read(world / "customers.csv")
    assert len(after) >= len(before) and not after.equals(before)


def test_simulating_a_month_again_gives_the_same_records_and_no_duplicate_sales(world: Path, tmp_path: Path) -> None:
    plan = reference_plan(world, FIRST)
    simulate(world, plan=plan)
    first = {name: read(world / "operations" / FIRST / f"{name}.parquet") for name in OPERATIONS}
    sales_once = read(world / "sales.parquet")
    customers_once = read(world / "customers.csv")
    simulate(world, plan=plan)
    for name, frame in first.items():
        pd.testing.assert_frame_equal(read(world / "operations" / FIRST / f"{name}.parquet"), frame, obj=name)
    pd.testing.assert_frame_equal(read(world / "sales.parquet"), sales_once)
    pd.testing.assert_frame_equal(read(world / "customers.csv"), customers_once)


def test_months_run_on_with_the_list_changing_and_open_complaints_carried(world: Path) -> None:
    for period in month_range(FIRST, 3):
        simulate(world, period)
    customers = read(world / "customers.csv")
    assert (customers["joined"] >= "2026-01-01").any()                # new shops joined
    assert (customers["left"] >= "2026-01-01").any()                  # and some left
    february = read(world / "operations" / "2026-02" / "complaints.parquet")
    march = read(world / "operations" / "2026-03" / "complaints.parquet")
    still_open = set(february.loc[february["closed_at"].isna(), "complaint_id"])
    assert still_open and still_open <= set(march["complaint_id"])     # no case is lost between months
    assert (march["opened_at"] >= pd.Timestamp("2026-03-01")).sum() == march["complaint_id"].str.startswith(
        "K202603").sum()


def test_months_must_be_simulated_in_order(world: Path) -> None:
    with pytest.raises(SourceError, match="no world state at the end of 2026-02"):
        simulate_month(world, "2026-03", plan=reference_plan(world, FIRST).assign(month="2026-03"),
                       visits_per_month=INITIAL_VISITS)
    with pytest.raises(ValueError, match="within the generated history"):
        simulate_month(world, "2025-12", plan=reference_plan(world, FIRST), visits_per_month=INITIAL_VISITS)


def test_a_plan_for_another_month_or_bad_levers_are_refused(world: Path) -> None:
    plan = reference_plan(world, FIRST)
    with pytest.raises(SourceError, match="plans 2026-01, not 2026-02"):
        simulate_month(world, "2026-02", plan=plan, visits_per_month=INITIAL_VISITS)
    with pytest.raises(ValueError, match="channels \\['fax'\\]: choose from visit, phone, online"):
        simulate_month(world, FIRST, plan=plan, visits_per_month=INITIAL_VISITS, channels=["fax"])
    with pytest.raises(ValueError, match="complaint_handlers is 0"):
        simulate_month(world, FIRST, plan=plan, visits_per_month=INITIAL_VISITS, complaint_handlers=0)
    with pytest.raises(SourceError, match="missing column\\(s\\) allocated"):
        simulate_month(world, FIRST, plan=plan.drop(columns="allocated"), visits_per_month=INITIAL_VISITS)


# --- responses ---------------------------------------------------------------------------------------------


def test_more_visits_raise_satisfaction(world: Path, original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(original, other)
    simulate(world, visits_per_month=INITIAL_VISITS)
    simulate(other, visits_per_month={"A": 5, "B": 3, "C": 2, "D": 2})
    assert latent(other).mean() > latent(world).mean() + 0.05


def test_visits_beyond_field_capacity_are_not_all_done(world: Path, original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(original, other)
    normal = read(simulate(world) / "visits.parquet")
    overloaded = read(simulate(other, visits_per_month={"A": 8, "B": 6, "C": 4, "D": 4}) / "visits.parquet")
    assert overloaded["done"].sum() / overloaded["planned"].sum() < normal["done"].sum() / normal["planned"].sum()


def test_fewer_complaint_handlers_make_complaints_wait_longer(world: Path, original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(original, other)

    def hours(folder: Path) -> float:
        complaints = read(folder / "complaints.parquet")
        end = pd.Timestamp("2026-02-01")
        return float(((complaints["closed_at"].fillna(end) - complaints["opened_at"]) / pd.Timedelta(hours=1)).mean())

    assert hours(simulate(world, complaint_handlers=1.0)) > hours(simulate(other, complaint_handlers=4.0))


def test_allocating_below_demand_causes_stockouts(world: Path, original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(original, other)
    plan = reference_plan(world, FIRST)
    assert plan["quota"].notna().any()                                   # some product is rationed
    short = plan.assign(allocated=np.where(plan["quota"].notna(), np.floor(plan["allocated"] * 0.5),
                                           plan["allocated"]))
    assert stockout_rate(simulate(other, plan=short)) > stockout_rate(simulate(world, plan=plan))


def test_stockouts_lower_satisfaction(world: Path, original: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(original, other)
    plan = reference_plan(world, FIRST)
    nothing = plan.assign(allocated=np.where(plan["quota"].notna(), 0.0, plan["allocated"]))
    simulate(world, plan=plan, accept_supplementary_orders=False)
    simulate(other, plan=nothing, accept_supplementary_orders=False)
    assert latent(other).mean() < latent(world).mean()
