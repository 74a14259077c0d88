"""Generating a sample world: a city of retail customers with two years of sales behind them.

:func:`generate_world` writes the input tables of docs/retail-data.md, the latent
state at the end of the history and ``world.json``. Everything is drawn from
``numpy.random.default_rng`` streams derived from the seed, in arrays, so the
same seed gives byte-for-byte the same tables and 100,000 customers take seconds.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.sample_world import expected_demand
from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.periods import add_months, first_day, month_index, month_range
from pdcaflow.tasks.sample_world.population import history_visits, new_customers
from pdcaflow.tasks.sample_world.storage import (FILES, INFO_FILE, OPERATIONS_DIR, STATE_DIR, WorldInfo, save_info, write_arrow,
                                 write_customers, write_state)
from pdcaflow.tasks.sample_world.supply import future_supply, history_supply

_BRANDS = ("Hongshan", "Jinye", "Baihe", "Qingcheng", "Longfeng", "Xingguang", "Taishan", "Yunhe", "Huangshan",
           "Lanzhou", "Furong", "Changjiang")
_VARIANTS = ("Classic", "Silver", "Gold", "Slim", "Blue", "Soft")
POPULATION_STREAM, HISTORY_STREAM, PRODUCT_STREAM = 0, 1, 2


def generate_world(directory: str | Path, *, customers: int = 5000, seed: int = 7, history_months: int = 24,
                   start: str = "2024-01", products: int = 8, horizon_months: int = 12,
                   model: WorldModel | None = None) -> WorldInfo:
    """Generate a sample retail world in ``directory`` (created if missing; a world there is replaced).

    Args:
        directory: where the tables go, e.g. ``data/retail``.
        customers: active customers at the end of the history (leavers come on top).
        seed: the seed; the same seed and sizes give identical files.
        history_months: months of sales history, starting with ``start``.
        start: the first month of the history, ``YYYY-MM``.
        products: how many products (``P01`` ...), 3 to 12; 3 of them scarce from 8 up, else 2.
        horizon_months: months of supply beyond the history (extended as months are simulated).
        model: the population and response parameters (defaults: :class:`WorldModel`).

    Returns:
        the :class:`WorldInfo` also written to ``world.json``.

    Raises:
        ValueError: a size out of range or ``start`` not a month.
    """
    model = model or WorldModel()
    _check(customers, history_months, products, horizon_months, start)
    root = Path(directory)
    _clear(root)
    history = month_range(start, history_months)
    product_table, popularity = _products(np.random.default_rng([seed, PRODUCT_STREAM]), products)
    state = _population(np.random.default_rng([seed, POPULATION_STREAM]), customers, history, model, popularity)
    rng = np.random.default_rng([seed, HISTORY_STREAM])
    state, sales, expected_totals = _history(rng, state, history, products, model)
    base, growth = _projection(state, history[-1], products, model)
    scarce_count = 3 if products >= 8 else 2
    scarce = tuple(product_table.sort_values("price", ascending=False)["product_id"].head(scarce_count).sort_values())
    info = WorldInfo(directory=root, seed=seed, customers=customers, products=tuple(product_table["product_id"]),
                     scarce_products=scarce, history_start=start, history_end=history[-1],
                     supply_until=add_months(history[-1], horizon_months), horizon_months=horizon_months,
                     model=model, popularity=tuple(map(float, popularity)), supply_base=tuple(map(float, base)),
                     supply_growth=tuple(map(float, growth)))
    supply = pd.concat([history_supply(rng, info.products, history, expected_totals, model.history_supply),
                        future_supply(info, month_range(add_months(history[-1], 1), horizon_months))],
                       ignore_index=True)
    state["satisfaction"] = _settled_satisfaction(rng, state, model)
    write_table(product_table, root / FILES["products"])
    write_table(supply, root / FILES["supply"])
    write_arrow(sales, root / FILES["sales"])
    write_state(root, history[-1], state)
    write_state(root, history[-1], _no_complaints(), kind="complaints")
    write_customers(root, state)
    save_info(info)
    return info


def _check(customers: int, history_months: int, products: int, horizon_months: int, start: str) -> None:
    month_index(start)
    if not 10 <= customers <= 2_000_000:
        raise ValueError(f"customers is {customers}: a world has 10 to 2,000,000 customers")
    if not 3 <= history_months <= 120:
        raise ValueError(f"history_months is {history_months}: 3 to 120 months of history")
    if not 3 <= products <= len(_BRANDS):
        raise ValueError(f"products is {products}: 3 to {len(_BRANDS)} products")
    if not 1 <= horizon_months <= 60:
        raise ValueError(f"horizon_months is {horizon_months}: 1 to 60 months of supply ahead")


def _clear(root: Path) -> None:
    """Remove an earlier world's months and state, so none of its records survive into the new one."""
    root.mkdir(parents=True, exist_ok=True)
    if (root / INFO_FILE).is_file():
        for name in (OPERATIONS_DIR, STATE_DIR):
            shutil.rmtree(root / name, ignore_errors=True)


def _products(rng: np.random.Generator, count: int) -> tuple[pd.DataFrame, np.ndarray]:
    popularity = rng.gamma(4.0, 1.0, count)
    popularity /= popularity.sum()
    brands = rng.permutation(_BRANDS)[:count]
    table = pd.DataFrame({
        "product_id": [f"P{number:02d}" for number in range(1, count + 1)],
        "name": [f"{brand} {rng.choice(_VARIANTS)}" for brand in brands],
        "brand": brands,
        "price": np.round(rng.uniform(120, 650, count) / 10) * 10,
        "margin_pct": np.round(rng.uniform(8, 16, count), 1),
    })
    return table, popularity


def _population(rng: np.random.Generator, customers: int, history: list[str], model: WorldModel,
                popularity: np.ndarray) -> pd.DataFrame:
    """The active customers at the end of the history, then the leavers, numbered in order of joining."""
    start = first_day(history[0])
    span = (first_day(add_months(history[-1], 1)) - start).days
    leavers = int(round(customers * model.history_leavers_pct / 100.0))
    total = customers + leavers
    old = (start - date(2008, 1, 1)).days
    during = rng.random(total) < model.history_joiners_pct / 100.0
    during[customers:] = False  # the leavers joined before the history
    offsets = np.where(during, rng.integers(0, span, total), -rng.integers(1, old, total))
    order = np.argsort(offsets, kind="stable")
    joined = [start + timedelta(days=int(offsets[index])) for index in order]
    frame = new_customers(rng, total, 1, joined, model, popularity)
    leaving = np.isin(order, np.arange(customers, total))
    frame.loc[leaving, "left"] = [(start + timedelta(days=int(day))).isoformat()
                                  for day in rng.integers(0, span, int(leaving.sum()))]
    return frame


def _history(rng: np.random.Generator, state: pd.DataFrame, history: list[str], products: int,
             model: WorldModel) -> tuple[pd.DataFrame, pa.Table, np.ndarray]:
    """Draw each history month's sales; returns the state at the end, the sales and expected totals per product."""
    customer_rows, product_cols, month_codes, quantities = [], [], [], []
    totals = np.zeros((len(history), products))
    for number, month in enumerate(history):
        state = expected_demand.advance(rng, state, model)
        mean = expected_demand.expected(state, month, products, expected_demand.month_noise(rng, len(state), model))
        totals[number] = expected_demand.expected(state, month, products).sum(axis=0)
        drawn = rng.poisson(mean)
        rows, cols = np.nonzero(drawn)
        customer_rows.append(rows.astype(np.int32))
        product_cols.append(cols.astype(np.int32))
        month_codes.append(np.full(len(rows), number, dtype=np.int32))
        quantities.append(drawn[rows, cols])
    customer_ids = pa.array(state["customer_id"].to_numpy(str))
    product_ids = pa.array([f"P{number:02d}" for number in range(1, products + 1)])
    quantity = np.concatenate(quantities).astype(np.int64)
    sales = pa.table({  # dictionary columns: written fast, read back as text (see storage.write_arrow)
        "customer_id": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(customer_rows)), customer_ids),
        "product_id": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(product_cols)), product_ids),
        "month": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(month_codes)), pa.array(history)),
        "quantity": pa.array(quantity),
        "requested": pa.array(quantity),
    })
    return state, sales, totals


def _projection(state: pd.DataFrame, last: str, products: int, model: WorldModel) -> tuple[np.ndarray, np.ndarray]:
    """Expected cartons per product in the month after ``last`` (season aside) and their monthly growth."""
    active = (state["left"] == "").to_numpy()
    volume = state["volume"].to_numpy(float) * active
    rate = state["trend"].to_numpy(float) + model.market_trend
    shares = expected_demand.mix(state, products)
    base = (volume * np.exp(rate))[:, None] * shares
    later = (volume * np.exp(13 * rate))[:, None] * shares
    return base.sum(axis=0), np.log(later.sum(axis=0) / base.sum(axis=0)) / 12.0


def _settled_satisfaction(rng: np.random.Generator, state: pd.DataFrame, model: WorldModel) -> np.ndarray:
    """Latent satisfaction after years of the historical service level (visits by volume)."""
    visits = history_visits(state["volume"].to_numpy(float), model) * 0.97
    level = (state["sat_level"].to_numpy(float) + model.visit_effect(visits, state["visit_sensitivity"])
             - model.settled_penalty)
    return np.clip(level + rng.normal(0.0, 0.1, len(state)), 1.0, 5.0)


def _no_complaints() -> pd.DataFrame:
    return pd.DataFrame({"complaint_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str),
                         "category": pd.Series(dtype=str), "opened_at": pd.Series(dtype="datetime64[ns]"),
                         "contacts": pd.Series(dtype="int64"), "closes_at": pd.Series(dtype="datetime64[ns]")})
