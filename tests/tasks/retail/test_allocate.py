"""strategy.allocate: customer demand from the forecast, scarce products shared by class quota.

Small hand-made cases with allocations worked out by hand, then properties over
random inputs: a product never gets more than its supply, nobody more than their
demand, equal demand in a class differs by at most one carton, and no carton that
could be allocated is left over.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdcaflow.tasks.retail.apportion import apportion
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.retail.strategy import allocate

MONTH = "2025-03"
# C1, C2 in class A (volume 60 : 40), C3, C4 in class B (equal volume).
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"], "class": ["A", "A", "B", "B"],
                          "avg_volume": [60.0, 40.0, 10.0, 10.0], "anomaly": [False] * 4})
QUOTAS = {"A": 30.0, "B": 20.0}


def forecast_frame(rows: dict[tuple[str, str], float], month: str = MONTH) -> pd.DataFrame:
    return pd.DataFrame([(product, klass, month, value) for (product, klass), value in rows.items()],
                        columns=["product_id", "class", "month", "forecast"])


def run(folder: Path, forecast: pd.DataFrame | dict[tuple[str, str], float], supply: dict[str, float],
        customers: pd.DataFrame = CUSTOMERS, **with_: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """Write the inputs under ``folder``, allocate, and return the outputs and the plan (indexed by customer)."""
    frame = forecast if isinstance(forecast, pd.DataFrame) else forecast_frame(forecast)
    write_table(frame, folder / "forecast.parquet")
    write_table(customers, folder / "classification.parquet")
    write_table(pd.DataFrame({"product_id": list(supply), "month": MONTH, "supply": list(supply.values())}),
                folder / "supply.csv")
    with_.setdefault("quotas", QUOTAS)
    outputs = allocate(StepContext(process_id="retail", cycle=3), forecast=str(folder / "forecast.parquet"),
                       classification=str(folder / "classification.parquet"), supply=str(folder / "supply.csv"),
                       **with_)
    return dict(outputs), pd.read_parquet(outputs["plan"])


def cartons(plan: pd.DataFrame, product: str = "P1") -> list[int]:
    return plan.loc[plan["product_id"] == product].set_index("customer_id")["allocated"].tolist()


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def test_a_plentiful_product_is_allocated_its_demand_in_full(tmp_path: Path) -> None:
    outputs, plan = run(tmp_path, {("P1", "A"): 30, ("P1", "B"): 20}, {"P1": 80})
    assert outputs == {"plan": str(tmp_path / "work/retail/cycle-0003/plan.parquet"), "month": MONTH,
                       "scarce_products": [], "fill_rate": 100.0, "demand_coverage": 100.0, "reserve": 0,
                       "allocated_total": 50}
    assert list(plan.columns) == ["customer_id", "class", "product_id", "month", "demand", "quota", "allocated"]
    assert plan["demand"].tolist() == [18, 12, 10, 10]          # 30 split 60:40, 20 split evenly
    assert plan["allocated"].tolist() == plan["demand"].tolist()
    assert plan["quota"].isna().all()                              # no quota applies to a plentiful product


def test_a_scarce_product_is_shared_by_class_quota_after_the_reserve(tmp_path: Path) -> None:
    # Demand 150 (A: 60 + 40, B: 25 + 25), supply 100: scarce. 5 % reserve leaves 95. Entitlements:
    # A min(60,30) + min(40,30) = 60, B 20 + 20 = 40; 95 of 100 -> A 57, B 38. Within A 57 by demand
    # 60:40 capped at 30 -> 30, 27; within B 19, 19.
    outputs, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50}, {"P1": 100})
    assert plan["demand"].tolist() == [60, 40, 25, 25]
    assert cartons(plan) == [30, 27, 19, 19]
    assert plan["quota"].tolist() == [30, 30, 20, 20]
    assert outputs["scarce_products"] == ["P1"]
    assert (outputs["reserve"], outputs["allocated_total"]) == (5, 95)
    assert outputs["fill_rate"] == outputs["demand_coverage"] == pytest.approx(63.33)


def test_supply_left_after_the_quotas_goes_to_demand_above_them(tmp_path: Path) -> None:
    # Quotas A 10, B 5: entitlements 20 + 10 = 30 of 100 available; the other 70 follow the demand above
    # the quotas (A 50 + 30 = 80, B 20 + 20 = 40): A 46.67 -> 47, B 23.33 -> 23. A's 47 by 50:30 -> 29, 18;
    # B's 23 -> 12, 11 (equal demand: one carton apart, the tie to the first customer).
    outputs, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50}, {"P1": 100},
                        quotas={"A": 10, "B": 5}, reserve_pct=0)
    assert cartons(plan) == [39, 28, 17, 16]
    assert (outputs["reserve"], outputs["allocated_total"]) == (0, 100)


def test_priority_serves_classes_in_the_order_of_the_quotas(tmp_path: Path) -> None:
    # B listed first: B's entitlement 40 in full, A gets the other 10, by demand 60:40.
    _, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50}, {"P1": 50},
                  quotas={"B": 20, "A": 30}, method="priority", reserve_pct=0)
    assert cartons(plan) == [6, 4, 20, 20]


def test_proportional_shares_by_demand_without_quotas(tmp_path: Path) -> None:
    # 100 of 150: A 66.67 -> 67 (40.2, 26.8 -> 40, 27), B 33.33 -> 33 (16.5, 16.5 -> 17, 16).
    _, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50}, {"P1": 100}, method="proportional",
                  reserve_pct=0, quotas={})
    assert cartons(plan) == [40, 27, 17, 16]
    assert plan["quota"].isna().all()


def test_reserve_is_rounded_in_favour_of_the_reserve(tmp_path: Path) -> None:
    outputs, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50}, {"P1": 101}, reserve_pct=10)
    assert (outputs["reserve"], outputs["allocated_total"]) == (11, 90)    # 101 x 0.9 = 90.9 -> 90
    assert plan["allocated"].sum() == 90


def test_not_scarce_but_short_supply_is_shared_by_demand_never_over_supply(tmp_path: Path) -> None:
    # scarce_below 0.5: 80 of 100 is not scarce, so no reserve and no quota, but only 80 exist.
    outputs, plan = run(tmp_path, {("P1", "A"): 50, ("P1", "B"): 50}, {"P1": 80}, scarce_below=0.5)
    assert outputs["scarce_products"] == [] and outputs["reserve"] == 0
    assert cartons(plan) == [24, 16, 20, 20]
    assert plan["quota"].isna().all()


def test_a_forecast_by_product_splits_across_all_customers_by_volume(tmp_path: Path) -> None:
    _, plan = run(tmp_path, {("P1", "*"): 12}, {"P1": 100})
    assert plan.set_index("customer_id")["demand"].to_dict() == {"C1": 6, "C2": 4, "C3": 1, "C4": 1}
    assert plan["class"].tolist() == ["A", "A", "B", "B"]


def test_a_class_without_volume_splits_evenly_and_zero_demand_leaves_no_row(tmp_path: Path) -> None:
    customers = CUSTOMERS.assign(avg_volume=[0.0, 0.0, 5.0, 0.0])
    _, plan = run(tmp_path, {("P1", "A"): 3, ("P1", "B"): 4}, {"P1": 100}, customers=customers)
    assert plan.set_index("customer_id")["demand"].to_dict() == {"C1": 2, "C2": 1, "C3": 4}


def test_demand_coverage_counts_forecast_no_customer_can_take(tmp_path: Path) -> None:
    outputs, _ = run(tmp_path, {("P1", "A"): 50, ("P1", "Z"): 50}, {"P1": 100})
    assert outputs["fill_rate"] == 100.0 and outputs["demand_coverage"] == 50.0


def test_the_earliest_forecast_month_is_allocated(tmp_path: Path) -> None:
    frame = pd.concat([forecast_frame({("P1", "A"): 10}, "2025-04"), forecast_frame({("P1", "A"): 10})])
    outputs, plan = run(tmp_path, frame, {"P1": 100})
    assert outputs["month"] == MONTH and set(plan["month"]) == {MONTH}


def test_two_products_are_allocated_independently(tmp_path: Path) -> None:
    outputs, plan = run(tmp_path, {("P1", "A"): 100, ("P1", "B"): 50, ("P2", "A"): 10, ("P2", "B"): 10},
                        {"P1": 100, "P2": 50})
    assert outputs["scarce_products"] == ["P1"]
    assert cartons(plan, "P1") == [30, 27, 19, 19] and cartons(plan, "P2") == [6, 4, 5, 5]
    assert outputs["allocated_total"] == 95 + 20


@pytest.mark.parametrize(("change", "message"), [
    ({"supply": {"P2": 10}}, r"supply\.csv: no supply for product P1 in 2025-03"),
    ({"quotas": {"A": 30}}, r"quotas has no quota for class B \(classes in .*classification\.parquet\)"),
    ({"quotas": {"A": 30, "B": -1}}, r"quotas must be 0 or more cartons per customer: \{'B': -1\}"),
    ({"reserve_pct": 120}, r"reserve_pct is 120: a percentage of supply, from 0 to 100"),
    ({"forecast": {("P1", "*"): 5, ("P1", "A"): 5}}, r"forecast\.parquet: product P1 has a forecast for all "
                                                      r"classes \(\*\) and for single classes in 2025-03"),
    ({"customers": pd.concat([CUSTOMERS, CUSTOMERS.head(1)])}, r"classification\.parquet: customer C1 appears "
                                                                r"more than once"),
])
def test_bad_inputs_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"forecast": {("P1", "A"): 10, ("P1", "B"): 10}, "supply": {"P1": 5}, **change}
    with pytest.raises(ValueError, match=message):
        run(tmp_path, **arguments)


def test_a_missing_forecast_file_is_a_source_error(tmp_path: Path) -> None:
    write_table(CUSTOMERS, tmp_path / "classification.parquet")
    with pytest.raises(SourceError, match=r"nope\.parquet: no such file"):
        allocate(StepContext(process_id="retail", cycle=1), forecast=str(tmp_path / "nope.parquet"),
                 classification=str(tmp_path / "classification.parquet"), supply="s.csv", quotas=QUOTAS)


# --- properties -----------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.data())
def test_apportion_sums_to_the_budget_under_caps_and_equal_rows_differ_by_at_most_one(data: st.DataObject) -> None:
    rows = data.draw(st.integers(1, 30))
    groups = data.draw(st.integers(1, 4))
    group = np.array(data.draw(st.lists(st.integers(0, groups - 1), min_size=rows, max_size=rows)))
    weight = np.array(data.draw(st.lists(st.integers(0, 5), min_size=rows, max_size=rows)), dtype=float)
    cap = np.array(data.draw(st.lists(st.integers(0, 8), min_size=rows, max_size=rows)), dtype=float)
    budget = np.array(data.draw(st.lists(st.integers(0, 60), min_size=groups, max_size=groups)), dtype=float)
    given_ = apportion(budget, group, weight, cap)
    assert (given_ >= 0).all() and (given_ <= cap).all() and (given_[weight == 0] == 0).all()
    for code in range(groups):
        mine = group == code
        assert given_[mine].sum() == min(budget[code], cap[mine & (weight > 0)].sum())
        for w, c in {(w, c) for w, c in zip(weight[mine], cap[mine])}:
            same = given_[mine & (weight == w) & (cap == c)]
            assert same.max() - same.min() <= 1


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 12))
    customers = pd.DataFrame({
        "customer_id": [f"C{i:02d}" for i in range(count)],
        "class": draw(st.lists(st.sampled_from("ABC"), min_size=count, max_size=count)),
        "avg_volume": draw(st.lists(st.sampled_from([0.0, 5.0, 10.0, 12.5, 40.0]), min_size=count,
                                    max_size=count)),
    })
    products = ["P1", "P2"]
    by_class = draw(st.booleans())
    keys = [(p, c) for p in products for c in ("ABC" if by_class else "*")]
    forecast = {key: draw(st.floats(0, 150, allow_nan=False)) for key in keys}
    return {"customers": customers, "forecast": forecast,
            "supply": {p: draw(st.integers(0, 200)) for p in products},
            "quotas": {c: draw(st.integers(0, 25)) for c in "ABC"},
            "reserve_pct": draw(st.sampled_from([0, 5, 12.5, 30])),
            "scarce_below": draw(st.sampled_from([0.5, 1.0, 1.3])),
            "method": draw(st.sampled_from(["quota", "priority", "proportional"]))}


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_never_over_supply_never_over_demand_fair_within_a_class_and_nothing_wasted(world: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setenv("PDCA_WORK_DIR", folder)
        outputs, plan = run(Path(folder), **world)
    assert (plan["allocated"] >= 0).all() and (plan["allocated"] <= plan["demand"]).all()
    reserve = 0
    for product, rows in plan.groupby("product_id"):
        supply = world["supply"][product]
        demand = rows["demand"].sum()
        scarce = product in outputs["scarce_products"]
        available = int(np.floor(supply * (1 - world["reserve_pct"] / 100) + 1e-9)) if scarce else supply
        reserve += supply - available
        assert rows["allocated"].sum() <= supply
        assert rows["allocated"].sum() == min(available, demand)            # no carton left that could go
        for _, same in rows.groupby(["class", "demand"]):
            assert same["allocated"].max() - same["allocated"].min() <= 1   # fair within a class
        if scarce and world["method"] != "proportional":
            entitled = np.minimum(rows["demand"], rows["quota"].astype(float)).sum()
            if entitled >= available:
                assert (rows["allocated"] <= rows["quota"]).all()          # quotas hold while supply is short
    assert outputs["reserve"] == reserve
    assert outputs["allocated_total"] == plan["allocated"].sum()
