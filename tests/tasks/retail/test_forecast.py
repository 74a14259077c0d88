"""demand.forecast and pdcaflow.tasks.retail.smoothing: statsmodels agreement, known answers, the task on tiny tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.holtwinters import Holt, SimpleExpSmoothing

from pdcaflow.tasks.retail.demand import Adjustment, forecast
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.retail.smoothing import holt, ses
from pdcaflow.tasks.sdk.sources import SourceError

RNG = np.random.default_rng(20240501)
MONTHS = 24
T = np.arange(MONTHS)
SERIES = np.vstack([
    RNG.normal(100, 20, MONTHS),                                  # random around a level
    50 + 3 * T + RNG.normal(0, 5, MONTHS),                        # trended
    80 + 30 * np.sin(2 * np.pi * T / 12) + RNG.normal(0, 3, MONTHS),  # seasonal-ish
    RNG.poisson(2, MONTHS).astype(float),                         # sparse, with zeros
    np.r_[RNG.normal(400, 50, 12), RNG.normal(250, 50, 12)],      # a level shift
])
ALPHAS = np.array([0.2, 0.4, 0.5, 0.8, 0.3])
BETAS = np.array([0.1, 0.2, 0.05, 0.5, 0.3])
# statsmodels' initialization_method -> ours, and the lengths each accepts
INITIALIZATIONS = [("legacy-heuristic", "simple", MONTHS), ("legacy-heuristic", "simple", 6),
                   ("heuristic", "heuristic", MONTHS), ("estimated", "heuristic", MONTHS),
                   ("estimated", "heuristic", 7)]
TOLERANCE = {"rtol": 1e-12, "atol": 1e-9}


def _statsmodels(kind: str, y: np.ndarray, alpha: float, beta: float, init: str, phi: float | None = None,
                 known: tuple[float, float] | None = None):  # type: ignore[no-untyped-def]
    extra = {"initialization_method": "known", "initial_level": known[0]} if known else {"initialization_method": init}
    if kind == "ses":
        return SimpleExpSmoothing(y, **extra).fit(smoothing_level=alpha, optimized=False)
    if known:
        extra["initial_trend"] = known[1]
    if phi is None:
        return Holt(y, **extra).fit(smoothing_level=alpha, smoothing_trend=beta, optimized=False)
    return Holt(y, damped_trend=True, **extra).fit(smoothing_level=alpha, smoothing_trend=beta,
                                                    damping_trend=phi, optimized=False)


# ---- (a) the same numbers as statsmodels --------------------------------------------------------

@pytest.mark.parametrize(("kind", "phi"), [("ses", None), ("holt", None), ("holt", 0.9)])
@pytest.mark.parametrize(("theirs", "ours", "length"), INITIALIZATIONS)
def test_matches_statsmodels(kind: str, phi: float | None, theirs: str, ours: str, length: int) -> None:
    y = SERIES[:, :length]
    if kind == "ses":
        result = ses(y, ALPHAS, horizon=3, initialization=ours)  # type: ignore[arg-type]
    else:
        result = holt(y, ALPHAS, BETAS, horizon=3, phi=phi, initialization=ours)  # type: ignore[arg-type]
    for row in range(len(y)):
        fitted = _statsmodels(kind, y[row], ALPHAS[row], BETAS[row], theirs, phi)
        np.testing.assert_allclose(result.fitted[row], fitted.fittedvalues, **TOLERANCE)
        np.testing.assert_allclose(result.forecast[row], fitted.forecast(3), **TOLERANCE)
        np.testing.assert_allclose(result.level[row], fitted.level[-1], **TOLERANCE)


@pytest.mark.parametrize("kind", ["ses", "holt"])
def test_matches_statsmodels_known_initial_values(kind: str) -> None:
    level0, trend0 = SERIES[:, 0] * 0.9, np.linspace(-2, 2, len(SERIES))
    if kind == "ses":
        result = ses(SERIES, 0.3, horizon=2, initial_level=level0)
    else:
        result = holt(SERIES, 0.3, 0.1, horizon=2, initial_level=level0, initial_trend=trend0)
    for row in range(len(SERIES)):
        fitted = _statsmodels(kind, SERIES[row], 0.3, 0.1, "known", known=(level0[row], trend0[row]))
        np.testing.assert_allclose(result.fitted[row], fitted.fittedvalues, **TOLERANCE)
        np.testing.assert_allclose(result.forecast[row], fitted.forecast(2), **TOLERANCE)


@pytest.mark.parametrize(("theirs", "ours"), [("legacy-heuristic", "simple"), ("estimated", "heuristic")])
def test_a_series_starting_later_is_statsmodels_on_the_months_it_has(theirs: str, ours: str) -> None:
    y = SERIES[1].copy()
    y[:5] = np.nan
    result = holt(np.vstack([y, SERIES[0]]), 0.4, 0.2, horizon=2, initialization=ours)  # type: ignore[arg-type]
    fitted = _statsmodels("holt", y[5:], 0.4, 0.2, theirs)
    assert np.isnan(result.fitted[0, :5]).all()
    np.testing.assert_allclose(result.fitted[0, 5:], fitted.fittedvalues, **TOLERANCE)
    np.testing.assert_allclose(result.forecast[0], fitted.forecast(2), **TOLERANCE)


# ---- (b) answers known by hand ------------------------------------------------------------------

@pytest.mark.parametrize("initialization", ["simple", "heuristic"])
def test_a_constant_series_forecasts_the_constant(initialization: str) -> None:
    y = np.full((2, 12), 7.5)
    for result in (ses(y, 0.3, horizon=3, initialization=initialization),  # type: ignore[arg-type]
                   holt(y, 0.3, 0.1, horizon=3, initialization=initialization)):  # type: ignore[arg-type]
        np.testing.assert_allclose(result.forecast, 7.5, rtol=1e-12)
        np.testing.assert_allclose(result.fitted, 7.5, rtol=1e-12)


def test_a_line_under_holt_forecasts_the_line() -> None:
    line = 20.0 + 3.0 * np.arange(12)  # y[t] = 20 + 3 t
    ahead = 20.0 + 3.0 * np.arange(12, 15)
    heuristic = holt(line, 0.5, 0.3, horizon=3, initialization="heuristic")  # the line through x = 1..10
    known = holt(line, 0.5, 0.3, horizon=3, initial_level=17.0, initial_trend=3.0)  # the line one step before
    for result in (heuristic, known):
        np.testing.assert_allclose(result.fitted[0], line, rtol=1e-12)
        np.testing.assert_allclose(result.forecast[0], ahead, rtol=1e-12)
        assert result.trend[0] == pytest.approx(3.0)


def test_zeros_gaps_and_short_series_do_not_crash() -> None:
    nan = np.nan
    y = np.array([[0, 0, 0, 0, 0, 0],            # zeros forecast zero
                  [nan, nan, nan, nan, nan, 4],  # one observation: flat at it
                  [nan] * 6,                     # nothing: NaN
                  [5, 5, nan, 5, nan, 5]])       # missing months inside: the forecast stands in
    result = holt(y, 0.5, 0.5, horizon=2)
    np.testing.assert_array_equal(result.forecast[0], [0, 0])
    np.testing.assert_array_equal(result.forecast[1], [4, 4])
    assert np.isnan(result.forecast[2]).all() and np.isnan(result.fitted[2]).all()
    np.testing.assert_allclose(result.forecast[3], [5, 5])
    np.testing.assert_array_equal(ses(y, 0.5).forecast[:, 0], [0, 4, nan, 5])


def test_simple_trend_across_a_gap_is_per_period() -> None:
    result = holt([[10, np.nan, 14, 16]], 1.0, 1.0, horizon=1)
    assert result.initial_trend[0] == 2.0
    assert result.forecast[0, 0] == 18.0


def test_out_of_sample_from_skips_the_months_the_initial_values_used() -> None:
    y = np.vstack([np.arange(12.0), np.r_[[np.nan] * 3, np.arange(9.0)]])
    assert list(ses(y, 0.5).out_of_sample_from) == [1, 4]
    assert list(holt(y, 0.5, 0.5).out_of_sample_from) == [2, 5]
    assert list(holt(y, 0.5, 0.5, initialization="heuristic").out_of_sample_from) == [10, 5]  # 9 months: simple


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ses([[1.0, 2.0]], 1.5), r"alpha must be between 0 and 1, got 1\.5"),
    (lambda: holt([[1.0, 2.0]], 0.5, [0.1, 0.2]), r"beta must be a number or one value per series \(1\)"),
    (lambda: holt([[1.0, 2.0]], 0.5, 0.1, initial_level=1.0), "give both initial_level and initial_trend"),
    (lambda: holt([[1.0, 2.0]], 0.5, 0.1, phi=0.0), r"phi must be in \(0, 1\]"),
    (lambda: ses(np.zeros((1, 2, 3)), 0.5), "got 3 dimensions"),
    (lambda: ses([[1.0, np.inf]], 0.5), "infinite values"),
    (lambda: ses([[1.0]], 0.5, horizon=0), "horizon must be a whole number of periods >= 1"),
])
def test_bad_arguments_say_what(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        call()


# ---- (c) the task on tiny tables ----------------------------------------------------------------

CONSTANT = [10] * 12
RISING = [2 * m + 2 for m in range(12)]  # 2, 4, ..., 24
SLOWER = [m + 1 for m in range(12)]      # 1, 2, ..., 12
# P01: three customers at 10 a month (30); P02: C1 and C2 rising (3 m + 3: 3 .. 36)
BASE = {("C1", "P01"): CONSTANT, ("C2", "P01"): CONSTANT, ("C3", "P01"): CONSTANT,
        ("C1", "P02"): RISING, ("C2", "P02"): SLOWER}


def _sales(path: Path, quantities: dict[tuple[str, str], list[float]], first: int = 2024 * 12) -> str:
    """A sales table from month ``first`` on (zero rows left out, as in the data contract)."""
    rows = [(customer, product, f"{(first + m) // 12}-{(first + m) % 12 + 1:02d}", quantity)
            for (customer, product), monthly in quantities.items() for m, quantity in enumerate(monthly) if quantity]
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "month", "quantity"])
    frame.to_parquet(path)
    return str(path)


def _classes(path: Path) -> str:
    pd.DataFrame({"customer_id": ["C1", "C2"], "class": ["A", "B"]}).to_csv(path, index=False)  # C3 unlisted
    return str(path)


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def _rows(path: str) -> list[tuple[str, str, str, float]]:
    frame = pd.read_parquet(path)
    assert list(frame.columns) == ["product_id", "class", "month", "forecast"]
    return [(p, c, m, round(f, 9)) for p, c, m, f in frame.itertuples(index=False)]


def test_forecast_per_product(tmp_path: Path) -> None:
    history = _sales(tmp_path / "sales.parquet", BASE)
    result = forecast(StepContext("retail", 1), history=history, method="holt", alpha=0.4, beta=0.2, horizon=2)
    assert result["forecast"] == str(tmp_path / "work" / "retail" / "cycle-0001" / "forecast.parquet")
    assert _rows(result["forecast"]) == [("P01", "*", "2025-01", 30.0), ("P01", "*", "2025-02", 30.0),
                                         ("P02", "*", "2025-01", 39.0), ("P02", "*", "2025-02", 42.0)]
    # exact lines: the one-step backtest of the last 3 months has no error
    assert result == {"forecast": result["forecast"], "month": "2025-01", "products": 2, "series": 2,
                      "total_forecast": 69.0, "wape": 0.0, "mape": 0.0, "bias": 0.0, "accuracy_basis": "backtest"}


def test_forecast_per_product_and_class(tmp_path: Path) -> None:
    history = _sales(tmp_path / "sales.parquet", BASE)
    result = forecast(StepContext("retail", 1), history=history, by="product_and_class",
                      classification=_classes(tmp_path / "classes.csv"), alpha=0.4, beta=0.2)
    assert _rows(result["forecast"]) == [("P01", "A", "2025-01", 10.0), ("P01", "B", "2025-01", 10.0),
                                         ("P01", "D", "2025-01", 10.0), ("P02", "A", "2025-01", 26.0),
                                         ("P02", "B", "2025-01", 13.0)]
    assert (result["products"], result["series"], result["total_forecast"]) == (2, 5, 69.0)


def test_bias_correction_and_adjustments(tmp_path: Path) -> None:
    history = _sales(tmp_path / "sales.parquet", {("C1", "P01"): [30] * 12, ("C1", "P02"): [20] * 12})
    adjustments = (Adjustment(product="P01", factor=1.2, reason="holiday"),
                   Adjustment(product="*", factor=0.5, reason="half term"))
    result = forecast(StepContext("retail", 1), history=history, method="ses", alpha=0.5,
                      adjustments=adjustments, bias_correction_pct=25.0)  # last forecast 25 % too high: / 1.25
    assert _rows(result["forecast"]) == [("P01", "*", "2025-01", 14.4), ("P02", "*", "2025-01", 8.0)]
    with pytest.raises(ValueError, match=r"adjustments: product 'P99' \(typo\) has no sales in .*sales\.parquet"):
        forecast(StepContext("retail", 1), history=history,
                 adjustments=(Adjustment(product="P99", factor=2.0, reason="typo"),))


def test_backtest_in_cycle_1(tmp_path: Path) -> None:
    jump = {**BASE, ("C1", "P01"): [*CONSTANT[:11], 16]}  # P01: 30 a month, then 36 in the last month
    result = forecast(StepContext("retail", 1), history=_sales(tmp_path / "sales.parquet", jump), holdout=1,
                      alpha=0.4, beta=0.2)
    # last month: P01 forecast 30 vs 36, P02 36 vs 36 -> WAPE 6/72, MAPE (6/36 + 0)/2, bias -6/72
    assert (result["wape"], result["mape"], result["bias"]) == (8.33, 8.33, -8.33)
    assert result["accuracy_basis"] == "backtest"


def test_accuracy_of_the_previous_cycles_forecast(tmp_path: Path) -> None:
    base = {**BASE, ("C1", "P05"): [5] * 12}
    classes = _classes(tmp_path / "classes.csv")
    first = forecast(StepContext("retail", 1), history=_sales(tmp_path / "sales.parquet", base),
                     by="product_and_class", classification=classes, alpha=0.4, beta=0.2)
    assert first["month"] == "2025-01" and first["total_forecast"] == 74.0  # P01 30, P02 39, P05 5

    cycle_2 = StepContext("retail", 2, previous={"cycle": 1})
    # January's sales have not arrived: nothing to score the previous forecast against yet
    early = forecast(cycle_2, history=str(tmp_path / "sales.parquet"), by="product_and_class",
                     classification=classes)
    assert early["accuracy_basis"] == "backtest"

    # January: P01 24, P02 52, P05 nothing, P03 (new, not forecast) 4
    january = {**{key: [*monthly, 0] for key, monthly in base.items()},
               ("C1", "P01"): [*CONSTANT, 24], ("C1", "P02"): [*RISING, 52], ("C3", "P03"): [0] * 12 + [4]}
    result = forecast(cycle_2, history=_sales(tmp_path / "sales-2.parquet", january), by="product_and_class",
                      classification=classes)
    # per product: |30-24| + |39-52| + |5-0| + |0-4| = 28 over 80 sold; MAPE skips P05 (sold 0): (25+25+100)/3
    assert (result["wape"], result["mape"], result["bias"]) == (35.0, 50.0, -7.5)
    assert result["accuracy_basis"] == "previous_cycle"
    assert result["month"] == "2025-02"

    # the previous cycle's work directory is gone (cleaned up, another machine): back to the backtest
    gone = forecast(StepContext("retail", 9, previous={"cycle": 8}), history=str(tmp_path / "sales-2.parquet"))
    assert gone["accuracy_basis"] == "backtest"


# ---- (d) bad input -------------------------------------------------------------------------------

def test_a_missing_history_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no-such-sales\.parquet: no such file"):
        forecast(StepContext("retail", 1), history=str(tmp_path / "no-such-sales.parquet"))


def test_a_history_without_quantity_names_the_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,product_id,month,qty\nC1,P01,2024-01,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"sales\.csv: missing column\(s\) quantity"):
        forecast(StepContext("retail", 1), history=str(path))


def test_a_bad_month_names_the_file_and_value(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("customer_id,product_id,month,quantity\nC1,P01,2024-01,3\nC1,P01,Jan 24,3\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"sales\.csv: column month: 1 value\(s\) are not months YYYY-MM "
                                          r"\(first: 'Jan 24'\)"):
        forecast(StepContext("retail", 1), history=str(path))


def test_by_class_needs_a_readable_classification(tmp_path: Path) -> None:
    history = _sales(tmp_path / "sales.parquet", BASE)
    with pytest.raises(ValueError, match="by: product_and_class needs `classification`"):
        forecast(StepContext("retail", 1), history=history, by="product_and_class")
    with pytest.raises(SourceError, match=r"gone\.parquet: no such file"):
        forecast(StepContext("retail", 1), history=history, by="product_and_class",
                 classification=str(tmp_path / "gone.parquet"))


@pytest.mark.parametrize(("settings", "message"), [
    ({"alpha": 0.0}, r"alpha must be in \(0, 1\], got 0\.0"),
    ({"beta": 1.5}, r"beta must be in \(0, 1\], got 1\.5"),
    ({"horizon": 0}, "horizon must be at least 1 month"),
    ({"bias_correction_pct": -100.0}, "bias_correction_pct must be above -100"),
])
def test_bad_settings_say_which(tmp_path: Path, settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        forecast(StepContext("retail", 1), history=str(tmp_path / "unread.parquet"), **settings)  # type: ignore[arg-type]
