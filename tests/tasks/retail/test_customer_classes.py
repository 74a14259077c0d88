"""customers.classify and customers.profitability on small hand-made tables with hand-computed answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pdcaflow.tasks.retail import classification
from pdcaflow.tasks.retail.customers import ClassRule, classify, profitability
from pdcaflow.tasks.retail.profitability import lifetime_factor
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table

MONTHS = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
RULES = [ClassRule(name="A", min_monthly_volume=300), ClassRule(name="B", min_monthly_volume=120),
         ClassRule(name="C", min_monthly_volume=40), ClassRule(name="C", business_types=("supermarket",))]
# customer: (business type, cartons in each of MONTHS). Rolling 3-month volumes and classes worked out by hand:
HISTORY = {
    "K1": ("convenience", [400] * 6),                         # A throughout
    "K2": ("grocery", [100, 100, 100, 100, 200, 400]),       # volume .. 133.3 (B), 233.3 (B): B held 2 months -> B
    "K3": ("supermarket", [10] * 6),                          # volume 10: C by business type
    "K4": ("convenience", [0, 0, 0, 0, 0, 150]),             # volume 50 (C) for 1 month only: stays D; no base: no anomaly
    "K5": ("grocery", [200] * 5 + [50]),                      # volume 150: B; 50 vs base 200 is -75 %: anomaly
    "K6": ("convenience", [10] * 5 + [2]),                   # -80 % but at most 10 cartons: too small to flag
    "K7": ("grocery", [300] * 5 + [0]),                       # volume 200 (B) for 1 month: stays A; -100 %: anomaly
}


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def _snapshot_and_sales(tmp_path: Path) -> tuple[str, str]:
    snapshot = pd.DataFrame({"customer_id": list(HISTORY), "business_type": [kind for kind, _ in HISTORY.values()],
                             "area": "urban", "district": "d1"})
    rows = [(customer, f"P{index % 2}", month, quantity)
            for index, (customer, (_, quantities)) in enumerate(HISTORY.items())
            for month, quantity in zip(MONTHS, quantities, strict=True) if quantity]
    rows.append(("X9", "P0", "2026-03", 999))  # not in the snapshot: ignored
    write_table(snapshot, tmp_path / "register_snapshot.parquet")
    write_table(pd.DataFrame(rows, columns=["customer_id", "product_id", "month", "quantity"]), tmp_path / "sales.csv")
    return str(tmp_path / "register_snapshot.parquet"), str(tmp_path / "sales.csv")


def test_classes_follow_the_rules_with_hysteresis_and_anomalies_are_flagged(tmp_path: Path) -> None:
    customers, sales = _snapshot_and_sales(tmp_path)
    result = classify(StepContext("retail", 4), customers=customers, sales=sales, rules=RULES)
    assert result["class_counts"] == {"A": 2, "B": 2, "C": 1, "D": 2}
    assert (result["reclassified"], result["anomalies"], result["anomaly_rate"]) == (1, 3, 42.86)
    assert result["anomaly_customers"] == ["K2", "K5", "K7"]
    assert Path(result["classification"]).name == "classification.parquet"
    table = pd.read_parquet(result["classification"]).set_index("customer_id")
    assert list(table.columns) == ["class", "previous_class", "avg_volume", "last_volume", "anomaly"]
    assert table["class"].to_dict() == {"K1": "A", "K2": "B", "K3": "C", "K4": "D", "K5": "B", "K6": "D", "K7": "A"}
    assert table["previous_class"].to_dict() == {"K1": "A", "K2": "C", "K3": "C", "K4": "D", "K5": "B", "K6": "D",
                                                 "K7": "A"}
    assert table.loc["K2", "avg_volume"] == pytest.approx(700 / 3)
    assert (table.loc["K2", "last_volume"], table.loc["K4", "avg_volume"]) == (400, 50)


def test_without_hysteresis_classes_move_at_once(tmp_path: Path) -> None:
    customers, sales = _snapshot_and_sales(tmp_path)
    result = classify(StepContext("retail", 4), customers=customers, sales=sales, rules=RULES, min_months_in_class=1,
                      anomaly_change_pct=80, anomaly_min_volume=0)
    table = pd.read_parquet(result["classification"]).set_index("customer_id")
    assert table["class"].to_dict() == {"K1": "A", "K2": "B", "K3": "C", "K4": "C", "K5": "B", "K6": "D", "K7": "B"}
    assert result["reclassified"] == 2  # K4 D -> C, K7 A -> B (K2 was already B last month without hysteresis)
    assert result["anomaly_customers"] == ["K2", "K7"]  # > 80 %: +200 % and -100 %; K6's -80 % is not above


def test_rules_match_in_order_by_range_type_area_or_district() -> None:
    rules = [classification.Rule("X", 0, 5, (), ("island",)), classification.Rule("Y", 10, None, ("grocery",), ()),
             classification.Rule("Z", 10, 20, (), ())]
    volume = np.array([[3.0], [3.0], [15.0], [15.0], [25.0]])
    codes = classification.rule_classes(
        volume, np.array(["shop", "shop", "grocery", "shop", "shop"], dtype=object),
        np.array(["island", "urban", "urban", "urban", "urban"], dtype=object),
        np.array(["d1", "d1", "d1", "island", "d1"], dtype=object), rules, ["X", "Y", "Z", "D"], "D")
    assert codes[:, 0].tolist() == [0, 3, 1, 2, 3]  # area; no match; type before range; range; above every max


def test_hysteresis_keeps_the_class_until_the_new_one_holds() -> None:
    rule_codes = np.array([[0, 1, 0, 1, 1, 1, 2, 1]])
    assert classification.with_hysteresis(rule_codes, 2).tolist() == [[0, 0, 0, 0, 1, 1, 1, 1]]
    assert classification.with_hysteresis(rule_codes, 3).tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]


def test_malformed_sales_are_named(tmp_path: Path) -> None:
    customers, _ = _snapshot_and_sales(tmp_path)
    bad = tmp_path / "bad_sales.csv"
    write_table(pd.DataFrame({"customer_id": ["K1"], "month": ["March 2026"], "quantity": [3]}), bad)
    with pytest.raises(SourceError, match=r"bad_sales\.csv: month must be written YYYY-MM, found 'March 2026'"):
        classify(StepContext("retail", 1), customers=customers, sales=str(bad), rules=RULES)
    write_table(pd.DataFrame(columns=["customer_id", "month", "quantity"]), bad)
    with pytest.raises(SourceError, match=r"bad_sales\.csv: no sales rows to classify by"):
        classify(StepContext("retail", 1), customers=customers, sales=str(bad), rules=RULES)
    with pytest.raises(ValueError, match=r"min_months_in_class \(0\) must be at least 1"):
        classify(StepContext("retail", 1), customers=customers, sales=str(bad), rules=RULES, min_months_in_class=0)


def _economics(tmp_path: Path) -> dict[str, str]:
    customers = pd.DataFrame({"customer_id": ["P1", "P2", "P3", "P4"], "class": ["A", "A", "B", "C"]})
    products = pd.DataFrame({"product_id": ["X", "Y"], "price": [100.0, 30.0], "margin_pct": [10.0, 20.0]})
    sales = pd.DataFrame([("P1", "X", month, 50) for month in ("2026-01", "2026-02", "2026-03")]
                         + [("P2", "Y", "2026-03", 50), ("P2", "X", "2026-01", 100),
                            ("P3", "X", "2026-02", 10), ("P3", "X", "2026-03", 10)],
                         columns=["customer_id", "product_id", "month", "quantity"])
    paths = {"source": tmp_path / "classification.parquet", "sales": tmp_path / "sales.parquet",
             "products": tmp_path / "products.csv"}
    for frame, path in ((customers, paths["source"]), (sales, paths["sales"]), (products, paths["products"])):
        write_table(frame, path)
    return {name: str(path) for name, path in paths.items()}


def test_profitability_by_class_with_hand_computed_values(tmp_path: Path) -> None:
    # Monthly margin (last 2 months; X earns 10 a carton, Y 6): P1 500, P2 300/2 = 150, P3 100, P4 0.
    # Monthly cost: visits x 20 + 2 orders x 5 -> A 90, B 50, C 30. Lifetime factor 12 (no discount, no churn).
    result = profitability(StepContext("retail", 1), **_economics(tmp_path), segment_by="class", lookback_months=2,
                           lifetime_months=12, discount_rate_pct=0, visits_per_month={"A": 4, "B": 2, "C": 1},
                           visit_cost=20, orders_per_month=2, order_cost=5)
    assert result["segments"] == {
        "A": {"customers": 2, "lifetime_value": 3900.0, "cost_to_serve": 1080.0, "return_ratio": 3.61,
              "service_level": "gold"},
        "B": {"customers": 1, "lifetime_value": 1200.0, "cost_to_serve": 600.0, "return_ratio": 2.0,
              "service_level": "silver"},
        "C": {"customers": 1, "lifetime_value": 0.0, "cost_to_serve": 360.0, "return_ratio": 0.0,
              "service_level": "bronze"},
    }
    assert result["service_levels"] == {"A": "gold", "B": "silver", "C": "bronze"}
    assert result["headroom"] == {"A": 11, "B": 2, "C": 0}  # (650 - 180) / (2 x 20) = 11.75; 50 / 20 = 2.5; < 0
    assert (result["cost_to_serve_ratio"], result["unprofitable_share"]) == (34.67, 25.0)  # 260 / 750; P4 of 4


def test_profitability_from_a_margin_column_by_channel(tmp_path: Path) -> None:
    economics = tmp_path / "customer_economics.csv"
    write_table(pd.DataFrame({"customer_id": ["W1", "W2", "W3"], "channel": ["office", "office", "household"],
                              "monthly_margin": [100.0, 60.0, 8.0], "monthly_service_cost": [0.0, 0.0, 4.0]}),
                economics)
    result = profitability(StepContext("water", 1), source=str(economics), segment_by="channel", lifetime_months=1,
                           discount_rate_pct=0, visits_per_month={"office": 1}, visit_cost=10, orders_per_month=1,
                           order_cost=5, levels=("gold", "basic"), level_min_ratio=(4.0,))
    # office: margin 160, cost 2 x (10 + 5) = 30, ratio 5.33; household: margin 8, cost 5 + 4 = 9, ratio 0.89.
    assert result["service_levels"] == {"household": "basic", "office": "gold"}
    assert result["headroom"] == {"household": 0, "office": 6}  # (160 - 30) / (2 x 10) = 6.5
    assert (result["segments"]["office"]["return_ratio"], result["unprofitable_share"]) == (5.33, 33.33)


def test_lifetime_factor_discounts_and_retains() -> None:
    assert lifetime_factor(12, 0, 100) == pytest.approx(12)
    half = 0.5 ** (1 / 12)  # half the customers gone after a year: a geometric series
    assert lifetime_factor(12, 0, 50) == pytest.approx((1 - half ** 12) / (1 - half))
    assert lifetime_factor(1, 10, 100) == pytest.approx(1.1 ** (-1 / 12))


def test_profitability_refuses_what_it_cannot_compute(tmp_path: Path) -> None:
    paths = _economics(tmp_path)
    write_table(pd.DataFrame({"product_id": ["X"], "price": [100.0], "margin_pct": [10.0]}), paths["products"])
    with pytest.raises(SourceError, match=r"products\.csv: no price and margin_pct for product\(s\) Y"):
        profitability(StepContext("retail", 1), **paths)
    with pytest.raises(ValueError, match=r"`level_min_ratio` needs 2 value\(s\), one per level but the last"):
        profitability(StepContext("retail", 1), **paths, level_min_ratio=(2.0,))
    with pytest.raises(SourceError, match=r"classification\.parquet: no monthly_margin column; name `sales`"):
        profitability(StepContext("retail", 1), source=paths["source"])
