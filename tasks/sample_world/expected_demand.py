"""What the world's customers want to buy: expected demand per customer, product and month.

Demand of customer *c* for product *p* in month *m* is

    volume_c(m) * shock_c(m) * mix_cp * season(m) * active_c(m) * exp(noise_cm)

``volume`` grows by the customer's own trend plus the market's each month,
``shock`` is 1 except during a sudden jump or collapse (a renovation, a new
competitor next door, a street market), ``season`` is
:func:`pdcaflow.tasks.sample_world.periods.season_factor`, ``active`` the share of the month the
customer was trading, and the noise is lognormal with mean 1. Quantities are
then Poisson draws around it.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.periods import days_in, first_day, season_factor
from pdcaflow.tasks.sample_world.population import mix_column


def mix(state: pd.DataFrame, products: int) -> np.ndarray:
    """The customers' product shares, ``(customers, products)``."""
    return state[[mix_column(index) for index in range(products)]].to_numpy(dtype=float)


def active_share(state: pd.DataFrame, month: str) -> np.ndarray:
    """The share of ``month`` each customer was trading (joined before, not yet left)."""
    start = first_day(month)
    length = days_in(month)
    end = start + timedelta(days=length)
    joined = _dates(state["joined"], date(1900, 1, 1))
    left = _dates(state["left"], date(2200, 1, 1))
    first = np.maximum(joined, np.datetime64(start, "D"))
    last = np.minimum(left, np.datetime64(end, "D"))
    return np.clip((last - first).astype("timedelta64[D]").astype(float) / length, 0.0, 1.0)


def expected(state: pd.DataFrame, month: str, products: int, noise: np.ndarray | None = None) -> np.ndarray:
    """Expected cartons per customer and product in ``month``, ``(customers, products)``.

    Args:
        state: the customers (the state table).
        month: ``YYYY-MM``.
        products: how many products.
        noise: each customer's month factor (mean 1); none for the plain expectation.
    """
    level = state["volume"].to_numpy(float) * state["shock"].to_numpy(float) * active_share(state, month)
    if noise is not None:
        level = level * noise
    return level[:, None] * mix(state, products) * season_factor(month)


def month_noise(rng: np.random.Generator, count: int, model: WorldModel) -> np.ndarray:
    """Lognormal month-to-month factors with mean 1."""
    sigma = model.month_noise
    return np.exp(rng.normal(-sigma ** 2 / 2, sigma, count))


def advance(rng: np.random.Generator, state: pd.DataFrame, model: WorldModel) -> pd.DataFrame:
    """Move volumes one month on: own and market trend, shocks starting and running out."""
    state = state.copy()
    state["volume"] = state["volume"] * np.exp(state["trend"] + model.market_trend)
    left = state["shock_left"].to_numpy(int) - 1
    shock = np.where(left > 0, state["shock"].to_numpy(float), 1.0)
    starting = (left <= 0) & (rng.random(len(state)) < model.shock_pct / 100.0)
    up = rng.random(len(state)) < 0.4
    shock = np.where(starting, np.where(up, rng.uniform(1.8, 2.6, len(state)), rng.uniform(0.2, 0.45, len(state))),
                     shock)
    state["shock"] = shock
    state["shock_left"] = np.where(starting, rng.integers(1, 4, len(state)), np.maximum(left, 0))
    return state


def _dates(values: pd.Series, missing: date) -> np.ndarray:
    text = values.astype(str)
    parsed = pd.to_datetime(text.mask(text.isin(["", "nan", "None"])), errors="coerce", format="ISO8601")
    return parsed.fillna(pd.Timestamp(missing)).to_numpy().astype("datetime64[D]")
