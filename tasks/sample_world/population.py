"""The world's retail customers: who they are, how big, and how the list changes from month to month.

A customer is one row of the *state* table: the columns of ``customers.csv``
(what the register sees) plus latent columns only the world knows: base monthly
volume, own growth rate, product mix, own satisfaction level, latent
satisfaction, price-label habit and any sales shock under way. Everything is
drawn in arrays, so a city of 100,000 customers is made in a fraction of a second.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pdcaflow.tasks.sample_world.world_model import AREAS, BUSINESS_TYPES, SIZES, WorldModel

ATTRIBUTES = ("customer_id", "name", "licence_no", "business_type", "address", "area", "district", "size",
              "joined", "left")
DISTRICTS = {"urban": ("Dongcheng", "Xicheng", "Nanshan", "Beihu", "Hexi"),
             "town": ("Qingshui", "Baiyang", "Longquan"),
             "rural": ("Shanxia", "Linjiang")}
_SYLLABLES = ("Jin", "Xin", "Hong", "Fu", "Long", "Hua", "Ming", "Tai", "Kang", "Le", "Shun", "Da", "Yi", "An",
              "Feng", "Rui", "Bao", "Xing", "Wan", "Jia")
_TYPE_WORD = {"convenience": "Convenience Store", "grocery": "Grocery", "supermarket": "Supermarket",
              "chain_store": "Mart", "tobacco_shop": "Tobacco & Wine", "restaurant": "Restaurant"}
_STREETS = ("Jiefang", "Renmin", "Zhongshan", "Heping", "Jianshe", "Wenhua", "Xinhua", "Chaoyang", "Binhe",
            "Shengli", "Guangming", "Yingbin")
_DISTRICT_CODE = {name: f"{number:02d}" for number, name in
                  enumerate((name for names in DISTRICTS.values() for name in names), start=1)}


def new_customers(rng: np.random.Generator, count: int, first_number: int, joined: list[date],
                  model: WorldModel, product_popularity: np.ndarray) -> pd.DataFrame:
    """``count`` new customers numbered from ``first_number``, with attributes and latent state.

    Args:
        rng: the random generator of the caller's stream.
        count: how many.
        first_number: the number of the first (``C000123`` is number 123).
        joined: the date each joined (``count`` dates).
        model: the world's parameters.
        product_popularity: the products' market shares (one weight per product).
    """
    number = np.arange(first_number, first_number + count)
    kind = rng.choice(BUSINESS_TYPES, size=count, p=_shares(model.type_shares, BUSINESS_TYPES))
    size = _sizes(rng, kind, model)
    area = rng.choice(AREAS, size=count, p=_shares(model.area_shares, AREAS))
    district = np.empty(count, dtype=object)
    for name, names in DISTRICTS.items():
        chosen = area == name
        district[chosen] = rng.choice(names, size=int(chosen.sum()))
    volume = (model.base_volume * _lookup(model.type_volume, kind) * _lookup(model.size_volume, size)
              * np.exp(rng.normal(-model.volume_spread ** 2 / 2, model.volume_spread, count)))
    frame = pd.DataFrame({
        "customer_id": [f"C{value:06d}" for value in number],
        "name": _names(rng, kind),
        "licence_no": [f"37{_DISTRICT_CODE[d]}{value:08d}" for d, value in
                       zip(district, rng.integers(10_000_000, 99_999_999, count), strict=True)],
        "business_type": kind, "address": _addresses(rng, district), "area": area, "district": district,
        "size": size, "joined": [day.isoformat() for day in joined], "left": "",
        "number": number, "volume": volume, "trend": rng.normal(0.0, model.trend_sd, count),
        "sat_level": _satisfaction_level(rng, volume, model), "visit_sensitivity": model.sensitivity(volume),
        "satisfaction": np.nan,
        "label_habit": np.clip(rng.beta(17, 3, count) * model.label_propensity / 0.85, 0.0, 0.99),
        "shock": 1.0, "shock_left": 0,
    })
    mix = product_mix(rng, size, product_popularity)
    for index in range(mix.shape[1]):
        frame[mix_column(index)] = mix[:, index]
    return corrupt_records(rng, frame, model.invalid_pct)


def mix_column(product_index: int) -> str:
    """The state column holding a customer's share of product number ``product_index`` (0-based)."""
    return f"mix_{product_index:02d}"


def product_mix(rng: np.random.Generator, size: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Each customer's share of their volume per product: bigger shops carry more of the range."""
    count, products = len(size), len(popularity)
    carry_chance = np.select([size == "large", size == "medium"], [0.98, 0.92], 0.8)
    carried = rng.random((count, products)) < carry_chance[:, None]
    carried[np.arange(count), rng.choice(products, size=count, p=popularity)] = True  # at least one
    weights = popularity[None, :] * rng.gamma(6.0, 1 / 6.0, (count, products)) * carried
    return weights / weights.sum(axis=1, keepdims=True)


def corrupt_records(rng: np.random.Generator, frame: pd.DataFrame, pct: float) -> pd.DataFrame:
    """Spoil ``pct`` % of the records the way real registers are spoiled (empty or malformed fields)."""
    spoiled = np.flatnonzero(rng.random(len(frame)) < pct / 100.0)
    how = rng.choice(5, size=len(spoiled), p=[0.3, 0.25, 0.2, 0.15, 0.1])
    frame = frame.copy()
    rows = frame.index[spoiled]
    frame.loc[rows[how == 0], "licence_no"] = ""
    shortened = rows[how == 1]
    frame.loc[shortened, "licence_no"] = [str(value)[:11] for value in frame.loc[shortened, "licence_no"]]
    frame.loc[rows[how == 2], "address"] = ""
    frame.loc[rows[how == 3], "business_type"] = ""
    frame.loc[rows[how == 4], "area"] = ""
    return frame


def spoiled(frame: pd.DataFrame) -> np.ndarray:
    """Which records have a missing or malformed field (what :func:`corrupt_records` does)."""
    licence = frame["licence_no"].astype(str)
    return ((licence.str.len() != 12) | (frame["address"] == "") | (frame["business_type"] == "")
            | (frame["area"] == "")).to_numpy()


def correct_records(rng: np.random.Generator, frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The data steward's work: fill in or fix the spoiled fields of ``rows`` (positions)."""
    frame = frame.copy()
    index = frame.index[rows]
    district = frame.loc[index, "district"].to_numpy(object)
    frame.loc[index, "licence_no"] = [f"37{_DISTRICT_CODE[d]}{value:08d}" for d, value in
                                      zip(district, rng.integers(10_000_000, 99_999_999, len(index)), strict=True)]
    empty = index[frame.loc[index, "address"].to_numpy() == ""]
    frame.loc[empty, "address"] = _addresses(rng, frame.loc[empty, "district"].to_numpy(object))
    empty = index[frame.loc[index, "business_type"].to_numpy() == ""]
    frame.loc[empty, "business_type"] = rng.choice(BUSINESS_TYPES, size=len(empty))
    area_of = {name: area for area, names in DISTRICTS.items() for name in names}
    frame.loc[index, "area"] = [area_of[d] for d in district]
    return frame


def history_visits(volume: np.ndarray, model: WorldModel) -> np.ndarray:
    """The visits a month customers got before the world began (by volume, like the flagship's classes)."""
    thresholds = [(float(low), float(visits)) for low, visits in model.history_visits]
    return np.select([volume >= low for low, _ in thresholds], [visits for _, visits in thresholds], 1.0)


def evolve(rng: np.random.Generator, state: pd.DataFrame, month_first: date, days: int, model: WorldModel,
           product_popularity: np.ndarray) -> tuple[pd.DataFrame, dict[str, int]]:
    """The customer list at the end of a month: leaves (more among the dissatisfied), joins, changes.

    Leavers keep their row with ``left`` set; joiners are appended; a change of
    business type, size or address rewrites those fields (the register records it
    as a new version; a bigger or smaller format changes the shop's volume too).
    ``records_fixed_pct`` % of the spoiled records are corrected and
    ``records_spoiled_pct`` % of the others spoiled. Returns the new state and the
    counts of each.
    """
    state = state.copy()
    active = (state["left"] == "").to_numpy()
    bad = spoiled(state)
    fixing = np.flatnonzero(active & bad & (rng.random(len(state)) < model.records_fixed_pct / 100.0))
    state = correct_records(rng, state, fixing)
    fresh = np.flatnonzero(active & ~bad & (rng.random(len(state)) < model.records_spoiled_pct / 100.0))
    mistyped = corrupt_records(rng, state.iloc[fresh], 100.0)
    for column in ("licence_no", "address", "business_type", "area"):
        state.loc[mistyped.index, column] = mistyped[column]
    gap = np.clip(model.leave_below - state["satisfaction"].to_numpy(), 0.0, None)
    leave_chance = (model.leaves_pct + model.leaves_per_point * gap) / 100.0
    leaving = active & (rng.random(len(state)) < leave_chance)
    state.loc[leaving, "left"] = [(month_first + timedelta(days=int(day))).isoformat()
                                  for day in rng.integers(0, days, int(leaving.sum()))]
    changing = np.flatnonzero(active & ~leaving & (rng.random(len(state)) < model.changes_pct / 100.0))
    what = rng.choice(3, size=len(changing))
    for column, chosen in (("business_type", changing[what == 0]), ("size", changing[what == 1])):
        values, factors = ((BUSINESS_TYPES, model.type_volume) if column == "business_type"
                           else (SIZES, model.size_volume))
        rows = state.index[chosen]
        before = np.asarray([factors.get(value, 1.0) for value in state.loc[rows, column]])
        state.loc[rows, column] = rng.choice(values, size=len(chosen))
        after = np.asarray([factors.get(value, 1.0) for value in state.loc[rows, column]])
        state.loc[rows, "volume"] = state.loc[rows, "volume"].to_numpy(float) * after / before
    moved = state.index[changing[what == 2]]
    state.loc[moved, "address"] = _addresses(rng, state.loc[moved, "district"].to_numpy())
    joining = int(rng.poisson(model.joins_pct / 100.0 * active.sum()))
    joined = [month_first + timedelta(days=int(day)) for day in rng.integers(0, days, joining)]
    newcomers = new_customers(rng, joining, int(state["number"].max()) + 1, joined, model, product_popularity)
    newcomers["satisfaction"] = np.clip(newcomers["sat_level"]
                                        + model.visit_effect(1.0, newcomers["visit_sensitivity"]), 1.0, 5.0)
    counts = {"leaves": int(leaving.sum()), "joins": joining, "changes": len(changing), "fixed": len(fixing),
              "spoiled": len(fresh)}
    return pd.concat([state, newcomers], ignore_index=True), counts


def _satisfaction_level(rng: np.random.Generator, volume: np.ndarray, model: WorldModel) -> np.ndarray:
    expectation = model.volume_expectation * np.log(np.maximum(volume, 1.0) / 100.0)
    return model.satisfaction_base - expectation + rng.normal(0.0, model.satisfaction_spread, len(volume))


def _sizes(rng: np.random.Generator, kind: np.ndarray, model: WorldModel) -> np.ndarray:
    size = np.empty(len(kind), dtype=object)
    for name in BUSINESS_TYPES:
        chosen = kind == name
        size[chosen] = rng.choice(SIZES, size=int(chosen.sum()), p=np.asarray(model.size_shares[name]))
    return size


def _names(rng: np.random.Generator, kind: np.ndarray) -> list[str]:
    first = rng.choice(_SYLLABLES, size=len(kind))
    second = rng.choice(_SYLLABLES, size=len(kind))
    return [f"{a}{b.lower()} {_TYPE_WORD[k]}" for a, b, k in zip(first, second, kind, strict=True)]


def _addresses(rng: np.random.Generator, district: np.ndarray) -> list[str]:
    numbers = rng.integers(1, 400, len(district))
    streets = rng.choice(_STREETS, size=len(district))
    return [f"{n} {s} Road, {d}" for n, s, d in zip(numbers, streets, district, strict=True)]


def _shares(shares: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    weights = np.asarray([shares[name] for name in names], dtype=float)
    return weights / weights.sum()


def _lookup(table: dict[str, float], keys: np.ndarray) -> np.ndarray:
    return np.asarray([table[key] for key in keys], dtype=float)
