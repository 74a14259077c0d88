"""The work of ``demand.forecast``, imported by the task only when it runs (pandas, numpy).

:mod:`pdcaflow.tasks.retail.demand` holds the registered task (its signature and the docstring
users read). The smoothing lives in :mod:`pdcaflow.tasks.retail.smoothing`, the sales history in
:mod:`pdcaflow.tasks.retail.sales_history`, the error measures in :mod:`pdcaflow.tasks.retail.forecast_accuracy`;
this module checks the settings, chains them, writes the forecast and reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pdcaflow.tasks.retail.demand_types import Adjustment, ForecastResult
from pdcaflow.tasks.retail.forecast_accuracy import (FORECAST_COLUMNS, FORECAST_FILE, Accuracy, backtest_accuracy,
                                     previous_cycle_accuracy, previous_forecast_file)
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.retail.sales_history import month_name, monthly_series, read_classes, read_sales, source_name
from pdcaflow.tasks.retail.smoothing import Initialization, Smoothed, holt, ses
from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.sdk.workspace import output_path

INITIALIZATION: Initialization = "heuristic"  # the line through a series' first 10 months; the first two for shorter series


def run_forecast(context: StepContext, *, history: str, method: Literal["ses", "holt"], alpha: float,
                 beta: float | None, horizon: int, holdout: int, by: Literal["product", "product_and_class"],
                 classification: str | None, adjustments: Sequence[Adjustment],
                 bias_correction_pct: float) -> ForecastResult:
    """The body of ``demand.forecast`` (see :func:`pdcaflow.tasks.retail.demand.forecast`)."""
    trend = _check_settings(method, alpha, beta, horizon, holdout, by, classification, bias_correction_pct)
    sales = read_sales(history)
    classes = read_classes(classification) if by == "product_and_class" and classification else None
    series = monthly_series(sales, classes)
    smoothed = _smooth(series.values, method, alpha, trend, horizon)
    factors = _adjustment_factors(series.keys["product_id"], adjustments, source_name(history))
    quantities = np.maximum(smoothed.forecast / (1 + bias_correction_pct / 100) * factors[:, None], 0.0)
    months = [month_name(series.last_month + step) for step in range(1, horizon + 1)]
    table = pd.DataFrame({
        "product_id": np.repeat(series.keys["product_id"].to_numpy(), horizon),
        "class": np.repeat(series.keys["class"].to_numpy(), horizon),
        "month": np.tile(months, len(series.keys)),
        "forecast": quantities.ravel(),
    }, columns=list(FORECAST_COLUMNS))
    accuracy = _accuracy(context, sales, method, alpha, trend, holdout)
    path = write_table(table, output_path(context, FORECAST_FILE))
    return {
        "forecast": str(path),
        "month": months[0],
        "products": int(series.keys["product_id"].nunique()),
        "series": len(series.keys),
        "total_forecast": round(float(quantities[:, 0].sum()), 2),
        "wape": accuracy.wape,
        "mape": accuracy.mape,
        "bias": accuracy.bias,
        "accuracy_basis": accuracy.basis,
    }


def _check_settings(method: str, alpha: float, beta: float | None, horizon: int, holdout: int, by: str,
                    classification: str | None, bias_correction_pct: float) -> float:
    """Reject settings the forecast cannot use; return the trend smoothing factor in force."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    trend = alpha / 2 if beta is None else beta
    if method == "holt" and not 0 < trend <= 1:
        raise ValueError(f"beta must be in (0, 1], got {beta}")
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 month, got {horizon}")
    if holdout < 1:
        raise ValueError(f"holdout must be at least 1 month, got {holdout}")
    if by == "product_and_class" and not classification:
        raise ValueError("by: product_and_class needs `classification` "
                         "(the customer classification, e.g. ${{ steps.<classify step>.classification }})")
    if not bias_correction_pct > -100:
        raise ValueError(f"bias_correction_pct must be above -100 (a forecast of nothing), got {bias_correction_pct}")
    return trend


def _smooth(values: npt.NDArray[np.float64], method: str, alpha: float, beta: float, horizon: int) -> Smoothed:
    if method == "ses":
        return ses(values, alpha, horizon=horizon, initialization=INITIALIZATION)
    return holt(values, alpha, beta, horizon=horizon, initialization=INITIALIZATION)


def _adjustment_factors(products: pd.Series, adjustments: Sequence[Adjustment],
                        history: str) -> npt.NDArray[np.float64]:
    """The product of the adjustment factors that apply to each series."""
    factors = np.ones(len(products))
    known = set(products)
    for adjustment in adjustments:
        if adjustment.product != "*" and adjustment.product not in known:
            raise ValueError(f"adjustments: product {adjustment.product!r} ({adjustment.reason}) has no sales "
                             f"in {history}; products: {', '.join(sorted(known)[:20])}")
        applies = (products == adjustment.product).to_numpy() if adjustment.product != "*" else slice(None)
        factors[applies] *= adjustment.factor
    return factors


def _accuracy(context: StepContext, sales: pd.DataFrame, method: str, alpha: float, beta: float,
              holdout: int) -> Accuracy:
    """The previous cycle's forecast scored, or else the model backtested on each product's total."""
    previous = previous_forecast_file(context)
    measured = previous_cycle_accuracy(previous, sales) if previous is not None else None
    if measured is not None:
        return measured
    values = monthly_series(sales).values
    return backtest_accuracy(_smooth(values, method, alpha, beta, 1), values, holdout)
