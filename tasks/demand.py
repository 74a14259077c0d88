"""Demand tasks: forecasting next period's demand (搞准需求).

The quantitative forecast is exponential smoothing: simple (``ses``, level only)
or Holt's linear method (``holt``, level and trend). Planners' qualitative
judgement enters as explicit, reasoned adjustments, so that it is recorded
beside the numbers instead of overwriting them. The forecast's error is measured
on held-out periods so that CHECK can judge it.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from tasks.registry import StepContext, task


class Adjustment(BaseModel):
    """A planner's qualitative correction of the quantitative forecast for one product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str = Field(description="product code, or '*' for every product")
    factor: float = Field(gt=0, description="multiply the forecast by this, e.g. 1.15 for a holiday month")
    reason: str = Field(min_length=1, description="why: recorded with the forecast")


class ForecastResult(TypedDict):
    forecast: dict[str, list[float]]
    products: int
    wape: float
    mape: float
    bias: float


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
    """Forecast next period's demand per product by exponential smoothing, with its measured error.

    The model is fitted on the sales history minus the last ``holdout`` periods,
    scored on those (WAPE, MAPE, bias), then refitted on all of it to forecast
    ``horizon`` periods ahead. Planners' ``adjustments`` and a correction for last
    cycle's measured bias are applied after the quantitative forecast.

    Args:
        context: the cycle this step runs in (passed by the engine).
        history: a CSV file path or a SQLAlchemy URL of sales per product (and customer) and period.
        method: ``ses`` (simple exponential smoothing) or ``holt`` (level and trend).
        alpha: level smoothing factor, 0 < alpha <= 1; higher follows recent sales faster.
        beta: trend smoothing factor for ``holt``, 0 < beta <= 1; ``None`` uses ``alpha / 2``.
        horizon: how many periods ahead to forecast.
        holdout: the last periods held out to measure the forecast error.
        by: forecast per product, or per product and customer class.
        classification: the customer classification (``steps.<classify step>.classification``);
            needed when ``by`` is ``product_and_class``.
        adjustments: qualitative corrections by product, each with its reason.
        bias_correction_pct: last cycle's bias in % (positive = over-forecast); the
            forecast is scaled down by it, e.g. from ``previous.kpis.<bias kpi>.actual``.

    Returns:
        ``forecast`` (product or ``product/class`` -> one quantity per period ahead),
        ``products``, and the holdout errors ``wape``, ``mape`` and ``bias``, all in %.
    """
    raise NotImplementedError("demand.forecast is registered for validation; its body arrives with the seven-step model issue")
