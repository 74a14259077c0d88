"""How fast the vectorised SES / Holt forecast is, against statsmodels fitting the same series one by one.

Run: .venv/bin/python bench/forecast.py [--series N] [--months M] [--sample K] [--repeat R]

Both sides fit with the same fixed parameters (alpha 0.4, beta 0.2) and initial
values (statsmodels' ``initialization_method="estimated"`` with ``optimized=False``,
ours ``initialization="heuristic"``), then forecast one month ahead:

  ours         pdcaflow.tasks.retail.smoothing.holt / ses on all N series at once (median of R runs)
  statsmodels  Holt / SimpleExpSmoothing(...).fit(...).forecast(1) on the first K of the
               same series, one by one; the time for all N is extrapolated linearly from K

and checks on those K series that both give the same forecasts. The last line is
``ratio_vs_statsmodels=<statsmodels seconds per series / ours, for Holt>``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cli_latency import median_seconds  # noqa: E402  (bench/ is not a package)
from statsmodels.tsa.holtwinters import Holt, SimpleExpSmoothing  # noqa: E402

from pdcaflow.tasks.retail.smoothing import holt, ses  # noqa: E402

ALPHA, BETA = 0.4, 0.2


def monthly_sales(series: int, months: int, seed: int = 5) -> np.ndarray:
    """Synthetic monthly sales: a level, a trend, a yearly season and noise, never below 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    level = rng.gamma(2.0, 50.0, (series, 1))
    trend = rng.normal(0.0, 0.01, (series, 1)) * level
    season = 1 + rng.uniform(0, 0.3, (series, 1)) * np.sin(2 * np.pi * (t + rng.integers(0, 12, (series, 1))) / 12)
    noise = rng.normal(1.0, 0.15, (series, months))
    return np.maximum((level + trend * t) * season * noise, 0.0).round()


def statsmodels_one_by_one(y: np.ndarray, kind: str) -> tuple[float, np.ndarray]:
    """Seconds to fit and forecast every row of ``y`` with statsmodels, and the forecasts."""
    forecasts = np.empty(len(y))
    started = time.perf_counter()
    for row, values in enumerate(y):
        if kind == "holt":
            model = Holt(values, initialization_method="estimated")
            fitted = model.fit(smoothing_level=ALPHA, smoothing_trend=BETA, optimized=False)
        else:
            fitted = SimpleExpSmoothing(values, initialization_method="estimated").fit(smoothing_level=ALPHA,
                                                                                       optimized=False)
        forecasts[row] = fitted.forecast(1)[0]
    return time.perf_counter() - started, forecasts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--sample", type=int, default=1_000, help="series statsmodels fits one by one")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    y = monthly_sales(options.series, options.months)
    sample = y[: options.sample]
    print(f"{options.series:,} series x {options.months} months; statsmodels on the first {len(sample):,}, "
          f"extrapolated linearly to {options.series:,}")
    ratios = {}
    for kind in ("holt", "ses"):
        def ours() -> np.ndarray:
            if kind == "holt":
                return holt(y, ALPHA, BETA, horizon=1, initialization="heuristic").forecast
            return ses(y, ALPHA, horizon=1, initialization="heuristic").forecast

        seconds = median_seconds(ours, options.repeat)
        their_seconds, their_forecasts = statsmodels_one_by_one(sample, kind)
        difference = float(np.max(np.abs(ours()[: len(sample), 0] - their_forecasts)))
        per_series_ours, per_series_theirs = seconds / len(y), their_seconds / len(sample)
        ratios[kind] = per_series_theirs / per_series_ours
        print(f"{kind:<5} ours        {seconds:8.3f} s for {len(y):,} series   {len(y) / seconds:14,.0f} series/s")
        print(f"{kind:<5} statsmodels {their_seconds:8.3f} s for {len(sample):,} series   "
              f"{1 / per_series_theirs:14,.0f} series/s   ~{per_series_theirs * len(y):,.0f} s for {len(y):,} "
              f"(extrapolated)")
        print(f"{kind:<5} same forecasts on the sample: max |difference| {difference:.1e}; "
              f"x{ratios[kind]:,.0f} faster per series")
    print(f"ratio_vs_statsmodels_ses={ratios['ses']:.0f}")
    print(f"ratio_vs_statsmodels={ratios['holt']:.0f}")


if __name__ == "__main__":
    main()
