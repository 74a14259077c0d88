"""How accurate the demand forecast was: WAPE, MAPE and bias against the sales that arrived.

``demand.forecast`` reports the accuracy of the *previous cycle's* forecast
(basis ``previous_cycle``): that cycle's ``forecast.parquet`` for the month it
planned, summed over classes per product, against the sales of that month now in
the history. A product forecast but not sold counts with actual 0; a product sold
but not forecast with forecast 0. Measuring per product keeps a customer who
changed class between the cycles from counting as forecast error.

When there is no previous forecast to score (cycle 1, the previous work directory
is gone, or the history does not reach the month it planned yet), the accuracy is
a one-step-ahead backtest instead (basis ``backtest``): the model's forecast of
each of the last ``holdout`` months of every product's total, made from the months
before it (the fitted values; with fixed parameters nothing later leaks in, and
months whose forecast still depends on the initial values' own observations are
left out), clipped at 0 like the delivered forecast, before adjustments and bias
correction.

All three are percentages rounded to 2 decimals, ``None`` when nothing can be measured:

- WAPE = sum |forecast - actual| / sum actual;
- MAPE = the mean of |forecast - actual| / actual over the products (and months)
  whose actual is above 0: zero actuals are skipped, they have no percentage error;
- bias = (sum forecast - sum actual) / sum actual; positive = over-forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.retail.sales_history import month_index, product_actuals
from pdcaflow.tasks.retail.smoothing import Smoothed
from pdcaflow.tasks.sdk.sources import SourceError, read_table
from pdcaflow.tasks.sdk.workspace import previous_cycle_dir

FORECAST_FILE = "forecast.parquet"
FORECAST_COLUMNS = ("product_id", "class", "month", "forecast")
Basis = Literal["previous_cycle", "backtest"]


@dataclass(frozen=True)
class Accuracy:
    """Forecast error in % (``None`` when not measurable) and what it was measured on."""

    wape: float | None
    mape: float | None
    bias: float | None
    basis: Basis


def scores(forecast: npt.ArrayLike, actual: npt.ArrayLike, basis: Basis) -> Accuracy:
    """WAPE, MAPE and bias of paired forecasts and actuals (see the module doc)."""
    predicted = np.asarray(forecast, dtype=np.float64).ravel()
    observed = np.asarray(actual, dtype=np.float64).ravel()
    total = float(observed.sum())
    if total <= 0:
        wape = bias = None
    else:
        wape = _percent(np.abs(predicted - observed).sum() / total)
        bias = _percent((predicted.sum() - total) / total)
    positive = observed > 0
    mape = _percent(float(np.mean(np.abs(predicted[positive] - observed[positive]) / observed[positive]))) \
        if positive.any() else None
    return Accuracy(wape, mape, bias, basis)


def previous_forecast_file(context: StepContext) -> Path | None:
    """The previous completed cycle's ``forecast.parquet``, if it is still there."""
    directory = previous_cycle_dir(context)
    if directory is None or not (directory / FORECAST_FILE).is_file():
        return None
    return directory / FORECAST_FILE


def previous_cycle_accuracy(path: Path, sales: pd.DataFrame) -> Accuracy | None:
    """Score the first month of the forecast in ``path`` against ``sales`` (month as an index).

    Returns ``None`` when the file holds no forecast or the sales do not reach its month yet.

    Raises:
        SourceError: the file cannot be read, lacks a column, or holds a month that is not ``YYYY-MM``.
    """
    frame = read_table(str(path), columns=FORECAST_COLUMNS)
    if frame.empty:
        return None
    try:
        months = frame["month"].map(month_index)
    except ValueError as exc:
        raise SourceError(f"{path}: column month: {exc}") from exc
    month = int(months.min())
    if month > int(sales["month"].max()):
        return None
    forecast = frame.loc[months == month].groupby(frame["product_id"].astype(str))["forecast"].sum()
    both = pd.concat({"forecast": forecast, "actual": product_actuals(sales, month)}, axis=1).fillna(0.0)
    return scores(both["forecast"], both["actual"], "previous_cycle")


def backtest_accuracy(smoothed: Smoothed, actual: npt.NDArray[np.float64], holdout: int) -> Accuracy:
    """Score the one-step-ahead fitted values of the last ``holdout`` periods against ``actual``.

    Args:
        smoothed: the model fitted to ``actual`` (one row per product).
        actual: ``(series, periods)`` the observations the model was fitted to.
        holdout: how many of the last periods to score (all of them when the history is shorter).
    """
    first = max(actual.shape[1] - holdout, 0)
    periods = np.arange(first, actual.shape[1])
    usable = periods[None, :] >= smoothed.out_of_sample_from[:, None]
    predicted = np.maximum(smoothed.fitted[:, first:], 0.0)[usable]
    return scores(predicted, actual[:, first:][usable], "backtest")


def _percent(ratio: float) -> float:
    return round(float(ratio) * 100.0, 2)
