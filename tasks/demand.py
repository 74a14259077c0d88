"""Demand tasks: forecasting next period's demand (搞准需求).

The quantitative forecast is exponential smoothing: simple (``ses``, level only)
or Holt's linear method (``holt``, level and trend), fitted to every series at
once (:mod:`tasks.smoothing`). Planners' qualitative judgement enters as
explicit, reasoned adjustments, so that it is recorded beside the numbers
instead of overwriting them. The error of the previous cycle's forecast is
measured against the sales that have since arrived (:mod:`tasks.forecast_accuracy`)
so that CHECK can judge it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from tasks.forecast_accuracy import (FORECAST_COLUMNS, FORECAST_FILE, Accuracy, backtest_accuracy,
                                     previous_cycle_accuracy, previous_forecast_file)
from tasks.registry import StepContext, task
from tasks.sales_history import month_name, monthly_series, read_classes, read_sales, source_name
from tasks.smoothing import Smoothed, holt, ses
from tasks.sources import write_table
from tasks.workspace import output_path

INITIALIZATION = "heuristic"  # the line through a series' first 10 months; the first two for shorter series


class Adjustment(BaseModel):
    """A planner's qualitative correction of the quantitative forecast for one product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(description="product code, or '*' for every product")
    factor: float = Field(gt=0, description="multiply the forecast by this, e.g. 1.15 for a holiday month")
    reason: str = Field(min_length=1, description="why: recorded with the forecast")


class ForecastResult(TypedDict):
    forecast: str
    month: str
    products: int
    series: int
    total_forecast: float
    wape: float | None
    mape: float | None
    bias: float | None
    accuracy_basis: Literal["previous_cycle", "backtest"]


@task("demand.forecast")
def forecast(
    context: StepContext,
    *,
    history: str,
    method: Literal["ses", "holt"] = "holt",
    alpha: float = 0.4,
    beta: float | None = None,
    horizon: int = 1,
    holdout: int = 3,
    by: Literal["product", "product_and_class"] = "product",
    classification: str | None = None,
    adjustments: tuple[Adjustment, ...] = (),
    bias_correction_pct: float = 0.0,
) -> ForecastResult:
    """Forecast next month's demand per product (or product and class) by exponential smoothing.

    The sales history is summed into monthly series (a month without sales counts
    as 0; a series starts at its first sale). Every series is smoothed with fixed
    parameters, starting from the least-squares line through its first 10 months
    (its first two months when it is shorter), and forecast for the ``horizon``
    months after the last month of the history. The forecast is then divided by
    ``1 + bias_correction_pct / 100`` (last cycle's forecast was that much too high
    or low), multiplied by the planners' ``adjustments`` and clipped at 0.

    The accuracy outputs score the previous cycle's forecast against the sales of
    the month it planned, per product (``accuracy_basis: previous_cycle``); when
    there is none (cycle 1), they score a one-step-ahead backtest of the model on
    the last ``holdout`` months of each product's sales (``backtest``).

    Args:
        context: the cycle this step runs in (passed by the engine).
        history: the sales table (``customer_id, product_id, month, quantity``): a CSV or
            Parquet file, a directory holding ``sales.parquet``, or a SQLAlchemy URL (table ``sales``).
        method: ``ses`` (simple exponential smoothing) or ``holt`` (level and trend).
        alpha: level smoothing factor, 0 < alpha <= 1; higher follows recent sales faster.
        beta: trend smoothing factor for ``holt``, 0 < beta <= 1; ``None`` uses ``alpha / 2``.
        horizon: how many months ahead to forecast (the first is the month planned).
        holdout: the last months of history the cycle-1 backtest scores.
        by: forecast per product, or per product and customer class.
        classification: the customer classification (``customer_id, class``, e.g.
            ``steps.<classify step>.classification``); needed when ``by`` is
            ``product_and_class``. Sales of customers it does not list count in class D.
        adjustments: qualitative corrections by product, each with its reason; several
            for one product multiply.
        bias_correction_pct: last cycle's bias in % (positive = over-forecast), e.g.
            ``previous.kpis.<bias kpi>.actual``: +10 divides the forecast by 1.10.

    Returns:
        ``forecast`` (path of ``forecast.parquet``: ``product_id, class, month, forecast``,
        class ``*`` per product), ``month`` (the month planned), ``products``, ``series``,
        ``total_forecast`` (all series, the month planned), ``wape``, ``mape`` and ``bias``
        in % (``None`` when not measurable) and ``accuracy_basis``.

    Raises:
        ValueError: a setting is out of range, ``classification`` is missing, or an
            adjustment names a product without sales.
        SourceError: the history or the classification cannot be read or is malformed.
    """
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
