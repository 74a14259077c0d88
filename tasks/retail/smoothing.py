"""Exponential smoothing of many series at once: simple (SES) and Holt's linear trend, in numpy.

The series are the rows of a 2-D array ``(series, periods)``; the code loops over
the periods only, so 100,000 series of 24 months take about as long as a few
hundred numpy operations on vectors of 100,000 numbers.

With fixed smoothing parameters the results are those of ``statsmodels``
(``tsa.holtwinters.SimpleExpSmoothing`` / ``Holt`` fitted with
``optimized=False``), for these initial values:

- given values (``initial_level`` / ``initial_trend``): statsmodels'
  ``initialization_method="known"`` with the same values;
- ``initialization="simple"``: level = the first observation, trend = the second
  minus the first. This is statsmodels' ``"legacy-heuristic"``, and its
  ``"estimated"`` for series of fewer than 10 observations;
- ``initialization="heuristic"``: level and trend = intercept and slope of the
  least-squares line through the first 10 observations (at x = 1..10, so the level
  is the line at x = 0; SES takes the intercept of the same line). This is
  statsmodels' ``"heuristic"``, and its ``"estimated"`` for series of 10 or more
  observations. A series with fewer than 10 observations from its start falls
  back to ``"simple"`` (where statsmodels' ``"heuristic"`` raises).

The recursion is statsmodels' (additive trend, optional damping ``phi``)::

    fitted[t] = level + phi * trend                   # the one-step forecast of y[t]
    level'    = alpha * y[t] + (1 - alpha) * fitted[t]
    trend'    = beta * (level' - level) + (1 - beta) * phi * trend
    forecast[h] = level + (phi + phi**2 + ... + phi**h) * trend   # after the last period

Gaps, short series and zeros, on purpose and without errors:

- NaN before a series' first observation means "not started yet": its state waits
  at the initial values and its fitted values are NaN there, exactly as if the
  series were cut to start at its first observation (so all series stay aligned
  on the same calendar periods and forecast the same periods ahead).
- NaN after the start is a missing observation: the update uses the one-step
  forecast in its place (level' = fitted[t], trend' = phi * trend).
- The simple initial trend with a gap between the first two observations is their
  difference divided by the periods between them. A Holt series with only one
  observation gets trend 0 (a flat forecast at that value).
- A series with no observation at all has NaN initial values, fitted values and
  forecasts.
- Zeros are ordinary observations (additive models have no trouble with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Initialization = Literal["simple", "heuristic"]

HEURISTIC_PERIODS = 10  # statsmodels fits its heuristic line through the first 10 observations
# statsmodels' heuristic: np.linalg.pinv(exog).dot(endog[:10]) with exog = [1, x], x = 1..10
_HEURISTIC_WEIGHTS = np.linalg.pinv(np.c_[np.ones(HEURISTIC_PERIODS), np.arange(HEURISTIC_PERIODS) + 1.0])


@dataclass(frozen=True)
class Smoothed:
    """The outcome of smoothing ``n`` series of ``T`` periods.

    Attributes:
        fitted: ``(n, T)``, the one-step-ahead forecast of every period (statsmodels'
            ``fittedvalues``); NaN before a series starts.
        forecast: ``(n, horizon)``, the forecasts of the periods after the last one.
        level: ``(n,)``, the level after the last period.
        trend: ``(n,)``, the trend after the last period (zeros for SES).
        initial_level: ``(n,)``, the level the recursion started from.
        initial_trend: ``(n,)``, the trend it started from (zeros for SES).
        out_of_sample_from: ``(n,)``, the first period whose fitted value used no
            observation of that period or later (initial values included): from there
            on ``fitted`` is an honest one-step-ahead backtest. ``T`` when none is.
    """

    fitted: FloatArray
    forecast: FloatArray
    level: FloatArray
    trend: FloatArray
    initial_level: FloatArray
    initial_trend: FloatArray
    out_of_sample_from: IntArray


def ses(y: npt.ArrayLike, alpha: npt.ArrayLike, *, horizon: int = 1, initial_level: npt.ArrayLike | None = None,
        initialization: Initialization = "simple") -> Smoothed:
    """Simple exponential smoothing of every row of ``y``.

    Args:
        y: ``(series, periods)`` observations (a 1-D array is one series); NaN as in the module doc.
        alpha: level smoothing, 0 <= alpha <= 1; a number or one per series.
        horizon: periods to forecast after the last one (the forecast is flat for SES).
        initial_level: the starting level (a number or one per series); ``None`` computes it by ``initialization``.
        initialization: ``"simple"`` or ``"heuristic"`` (see the module doc).

    Returns:
        The fitted values, forecasts and final state (:class:`Smoothed`).

    Raises:
        ValueError: ``y`` is not 1-D or 2-D, a parameter is out of range, or a shape does not fit.
    """
    values = _series(y)
    n = values.shape[0]
    alphas = _parameter("alpha", alpha, n)
    if initial_level is None:
        level0, _, warmup = _initial_values(values, initialization, with_trend=False)
    else:
        level0 = _per_series("initial_level", initial_level, n)
        warmup = _first_observed(values)
    return _smooth(values, alphas, None, 1.0, level0, np.zeros(n), warmup, _horizon(horizon))


def holt(y: npt.ArrayLike, alpha: npt.ArrayLike, beta: npt.ArrayLike, *, horizon: int = 1,
         initial_level: npt.ArrayLike | None = None, initial_trend: npt.ArrayLike | None = None,
         phi: float | None = None, initialization: Initialization = "simple") -> Smoothed:
    """Holt's linear trend method (additive, optionally damped) on every row of ``y``.

    Args:
        y: ``(series, periods)`` observations (a 1-D array is one series); NaN as in the module doc.
        alpha: level smoothing, 0 <= alpha <= 1; a number or one per series.
        beta: trend smoothing, 0 <= beta <= 1; a number or one per series.
        horizon: periods to forecast after the last one.
        initial_level: the starting level; give it together with ``initial_trend`` (statsmodels'
            ``"known"``) or neither.
        initial_trend: the starting trend (a number or one per series).
        phi: the damping factor, 0 < phi <= 1 (statsmodels' ``damping_trend`` with
            ``damped_trend=True``); ``None`` for an undamped trend.
        initialization: ``"simple"`` or ``"heuristic"`` when no initial values are given.

    Returns:
        The fitted values, forecasts and final state (:class:`Smoothed`).

    Raises:
        ValueError: ``y`` is not 1-D or 2-D, a parameter is out of range, only one initial value is
            given, or a shape does not fit.
    """
    values = _series(y)
    n = values.shape[0]
    alphas = _parameter("alpha", alpha, n)
    betas = _parameter("beta", beta, n)
    damping = 1.0 if phi is None else float(phi)
    if not 0.0 < damping <= 1.0:
        raise ValueError(f"holt: phi must be in (0, 1], got {phi!r}")
    if (initial_level is None) != (initial_trend is None):
        raise ValueError("holt: give both initial_level and initial_trend (statsmodels' 'known') or neither")
    if initial_level is None:
        level0, trend0, warmup = _initial_values(values, initialization, with_trend=True)
    else:
        level0 = _per_series("initial_level", initial_level, n)
        trend0 = _per_series("initial_trend", initial_trend, n)
        warmup = _first_observed(values)
    return _smooth(values, alphas, betas, damping, level0, trend0, warmup, _horizon(horizon))


def _smooth(y: FloatArray, alpha: FloatArray, beta: FloatArray | None, phi: float, level0: FloatArray,
            trend0: FloatArray, warmup: IntArray, horizon: int) -> Smoothed:
    n, periods = y.shape
    start = _first_observed(y)
    level, trend = level0.copy(), trend0.copy()
    fitted = np.full((n, periods), np.nan)
    for t in range(periods):
        started = start <= t
        predicted = level + phi * trend if beta is not None else level
        fitted[:, t] = np.where(started, predicted, np.nan)
        observation = y[:, t]
        # statsmodels' order of operations: alpha * y + (1 - alpha) * (level + phi * trend)
        updated = np.where(np.isnan(observation), predicted, alpha * observation + (1 - alpha) * predicted)
        if beta is not None:
            trend = np.where(started, beta * (updated - level) + (1 - beta) * (phi * trend), trend)
        level = np.where(started, updated, level)
    steps = np.arange(1, horizon + 1)
    if beta is None:
        forecast = np.repeat(level[:, None], horizon, axis=1)
    else:
        damped_steps = np.cumsum(np.repeat(phi, horizon) ** steps) if phi != 1.0 else steps.astype(float)
        forecast = level[:, None] + damped_steps[None, :] * trend[:, None]
    return Smoothed(fitted, forecast, level, trend, level0, trend0, warmup)


def _initial_values(y: FloatArray, initialization: Initialization,
                    *, with_trend: bool) -> tuple[FloatArray, FloatArray, IntArray]:
    """Initial level, trend and the first out-of-sample period of every series."""
    if initialization not in ("simple", "heuristic"):
        raise ValueError(f"initialization must be 'simple' or 'heuristic', got {initialization!r}")
    n, periods = y.shape
    rows = np.arange(n)
    observed = ~np.isnan(y)
    counts = np.cumsum(observed, axis=1)
    start = _first_index(counts >= 1)
    second = _first_index(counts >= 2)
    level = np.where(start < periods, y[rows, np.minimum(start, periods - 1)], np.nan)
    trend = np.zeros(n)
    warmup = np.minimum(start + 1, periods)
    if with_trend:
        has_second = second < periods
        gap = np.where(has_second, second - start, 1)
        later = y[rows, np.minimum(second, periods - 1)]
        trend = np.where(has_second, (later - level) / gap, np.where(start < periods, 0.0, np.nan))
        warmup = np.where(has_second, second + 1, warmup)
    if initialization == "heuristic":
        window = np.minimum(start[:, None] + np.arange(HEURISTIC_PERIODS), periods - 1)
        values = np.take_along_axis(y, window, axis=1)
        usable = (start + HEURISTIC_PERIODS <= periods) & ~np.isnan(values).any(axis=1)
        line = np.where(usable[:, None], values, 0.0) @ _HEURISTIC_WEIGHTS.T  # (n, 2): intercept, slope
        level = np.where(usable, line[:, 0], level)
        if with_trend:
            trend = np.where(usable, line[:, 1], trend)
        warmup = np.where(usable, start + HEURISTIC_PERIODS, warmup)
    return level, trend, warmup.astype(np.int64)


def _first_observed(y: FloatArray) -> IntArray:
    return _first_index(~np.isnan(y))


def _first_index(mask: npt.NDArray[np.bool_]) -> IntArray:
    """Per row, the first column where ``mask`` holds; the number of columns when it never does."""
    first = np.argmax(mask, axis=1)
    return np.where(mask.any(axis=1), first, mask.shape[1]).astype(np.int64)


def _series(y: npt.ArrayLike) -> FloatArray:
    values = np.asarray(y, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"y must be a 2-D array (series, periods) or one series, got {values.ndim} dimensions")
    if np.isinf(values).any():
        raise ValueError("y holds infinite values; use NaN for a missing observation")
    return values


def _parameter(name: str, value: npt.ArrayLike, n: int) -> FloatArray:
    values = _per_series(name, value, n)
    if not ((values >= 0.0) & (values <= 1.0)).all():
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return values


def _per_series(name: str, value: npt.ArrayLike | None, n: int) -> FloatArray:
    values = np.asarray(value, dtype=np.float64)
    if values.ndim == 0:
        return np.full(n, float(values))
    if values.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per series ({n}), got shape {values.shape}")
    return values.copy()


def _horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a whole number of periods >= 1, got {horizon!r}")
    return int(horizon)
