"""Demand tasks: forecasting next period's demand (搞准需求).

The quantitative forecast is exponential smoothing: simple (``ses``, level only)
or Holt's linear method (``holt``, level and trend), fitted to every series at
once (:mod:`pdcaflow.tasks.retail.smoothing`). Planners' qualitative judgement enters as
explicit, reasoned adjustments, so that it is recorded beside the numbers
instead of overwriting them. The error of the previous cycle's forecast is
measured against the sales that have since arrived (:mod:`pdcaflow.tasks.retail.forecast_accuracy`)
so that CHECK can judge it.

This module holds the task's signature and the docstring users read; its work is
in ``pdcaflow.tasks.retail.demand_steps``, imported when the task runs, so that reading the
signature (``pdca validate``) never imports pandas or numpy.
"""

from __future__ import annotations

from typing import Literal

from pdcaflow.tasks.retail.demand_types import Adjustment, ForecastResult
from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task


@task("demand.forecast")
def forecast(
    context: StepContext,
    *,
    history: ProjectSource,
    method: Literal["ses", "holt"] = "holt",
    alpha: float = 0.4,
    beta: float | None = None,
    horizon: int = 1,
    holdout: int = 3,
    by: Literal["product", "product_and_class"] = "product",
    classification: ProjectFile | None = None,
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
            Parquet file, a directory holding ``sales.parquet``, or ``connection:NAME`` (table ``sales``).
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
    # The work is imported here, not at the top: `pdca validate` imports this module and stays off pandas.
    from pdcaflow.tasks.retail.demand_steps import run_forecast  # start-up speed: only when the task runs

    return run_forecast(context, history=history, method=method, alpha=alpha, beta=beta, horizon=horizon,
                        holdout=holdout, by=by, classification=classification, adjustments=adjustments,
                        bias_correction_pct=bias_correction_pct)
