"""Where a world keeps its files, and reading and writing them.

A world directory (``data/retail``) holds the input tables of docs/retail-data.md,
``world.json`` (the seed, the sizes and every model parameter), the operations
records of each simulated month under ``operations/<YYYY-MM>/`` and the latent
state under ``world_state/``: one file per month end (``customers-<YYYY-MM>.parquet``:
every customer's attributes and latent values; ``complaints-<YYYY-MM>.parquet``:
the complaint cases still open), so simulating a month again starts from exactly
the state it started from the first time.

Every file is written whole to a temporary name and renamed into place: a reader
never sees half a table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.sample_world.world_model import WorldModel
from pdcaflow.tasks.sample_world.population import ATTRIBUTES

INFO_FILE = "world.json"
TEXT_COLUMNS = ("customer_id", "product_id", "month")  # the sales table's text columns
STATE_DIR = "world_state"
OPERATIONS_DIR = "operations"
FILES = {"customers": "customers.csv", "sales": "sales.parquet", "products": "products.csv",
         "supply": "supply.csv", "operations": f"{OPERATIONS_DIR}/<YYYY-MM>/", "state": f"{STATE_DIR}/"}
NOTE = ("A simulation for demonstration and testing, not an empirical model: see docs/sample-world.md. "
        "Its responses to the plan are assumed, not estimated.")


@dataclass(frozen=True)
class WorldInfo:
    """What ``world.json`` says about a generated world.

    Attributes:
        directory: the world's directory.
        seed: the seed everything was drawn from.
        customers: active customers when it was generated.
        products: the product ids.
        scarce_products: the products whose supply falls short of expected demand.
        history_start: the first month of sales history.
        history_end: the last month of the generated history (the first cycle plans the month after).
        supply_until: the last month supply.csv covers (it is extended as months are simulated).
        horizon_months: how far supply.csv reaches beyond the last month simulated.
        model: every parameter of the population and response model.
        popularity: each product's share of the market (new customers' mix is drawn around it).
        supply_base: expected cartons per product in the month after the history, before the season.
        supply_growth: each product's expected monthly growth after that (future supply follows it).
        shocks: shifts of the model from a given month on (:mod:`pdcaflow.tasks.sample_world.shocks`).
        base_model: the model as generated, when ``model`` is a month's shocked one (what ``world.json`` keeps).
    """

    directory: Path
    seed: int
    customers: int
    products: tuple[str, ...]
    scarce_products: tuple[str, ...]
    history_start: str
    history_end: str
    supply_until: str
    horizon_months: int
    model: WorldModel
    popularity: tuple[float, ...]
    supply_base: tuple[float, ...]
    supply_growth: tuple[float, ...]
    shocks: tuple[Any, ...] = ()
    base_model: WorldModel | None = None

    def to_json(self) -> dict[str, Any]:
        return {"world": "pdcaflow sample world", "note": NOTE, "seed": self.seed, "customers": self.customers,
                "products": list(self.products), "scarce_products": list(self.scarce_products),
                "history_start": self.history_start, "history_end": self.history_end,
                "supply_until": self.supply_until, "horizon_months": self.horizon_months,
                "files": FILES, "state_file": f"{STATE_DIR}/customers-<YYYY-MM>.parquet",
                "popularity": list(self.popularity), "supply_base": list(self.supply_base),
                "supply_growth": list(self.supply_growth), "model": (self.base_model or self.model).to_json(),
                **({"shocks": list(self.shocks)} if self.shocks else {})}


def is_world(directory: str | Path) -> bool:
    """Whether ``directory`` holds a generated world (a ``world.json``)."""
    return (Path(directory) / INFO_FILE).is_file()


def save_info(info: WorldInfo) -> None:
    path = info.directory / INFO_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def load_info(directory: str | Path) -> WorldInfo:
    """Read ``world.json``.

    Raises:
        SourceError: the file is missing, is not JSON, or lacks a key.
    """
    path = Path(directory) / INFO_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return WorldInfo(directory=Path(directory), seed=int(data["seed"]), customers=int(data["customers"]),
                         products=tuple(data["products"]), scarce_products=tuple(data["scarce_products"]),
                         history_start=str(data["history_start"]), history_end=str(data["history_end"]),
                         supply_until=str(data["supply_until"]), horizon_months=int(data["horizon_months"]),
                         model=WorldModel.from_json(data.get("model", {}), str(path)),
                         popularity=tuple(map(float, data["popularity"])),
                         supply_base=tuple(map(float, data["supply_base"])),
                         supply_growth=tuple(map(float, data["supply_growth"])),
                         shocks=tuple(data.get("shocks") or ()))
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file: {Path(directory)} is not a generated world") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{path}: missing or invalid key {exc}") from exc


def state_path(directory: Path, month: str, kind: str = "customers") -> Path:
    """The latent state at the end of ``month`` (``kind``: ``customers`` or ``complaints``)."""
    return directory / STATE_DIR / f"{kind}-{month}.parquet"


def read_state(directory: Path, month: str, kind: str = "customers") -> pd.DataFrame:
    """The state at the end of ``month``.

    Raises:
        SourceError: there is none (that month was not generated or simulated).
    """
    path = state_path(directory, month, kind)
    if not path.is_file():
        simulated = sorted(p.stem.split("-", 1)[1] for p in (directory / STATE_DIR).glob("customers-*.parquet"))
        raise SourceError(f"{path}: no world state at the end of {month}; the world has states for "
                          f"{', '.join(simulated[-3:]) or 'no month'} (simulate the months in order)")
    return pd.read_parquet(path)


def write_state(directory: Path, month: str, frame: pd.DataFrame, kind: str = "customers") -> Path:
    return write_table(frame.reset_index(drop=True), state_path(directory, month, kind))


def write_customers(directory: Path, state: pd.DataFrame) -> Path:
    """``customers.csv``: the register's view of the state (attributes only, leavers included)."""
    return write_table(state.loc[:, list(ATTRIBUTES)], directory / FILES["customers"])


def operations_dir(directory: Path, month: str) -> Path:
    return directory / OPERATIONS_DIR / month


def write_arrow(table: pa.Table, path: Path) -> Path:
    """Write an Arrow table as Parquet atomically.

    The Arrow schema is not stored, so dictionary-typed text columns (fast to
    write) read back as plain text, not as pandas categories.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial, store_schema=False)
    partial.replace(path)
    return path


def sales_table(customer_ids: np.ndarray, customer: np.ndarray, product_ids: np.ndarray, product: np.ndarray,
                month: str, quantity: np.ndarray, requested: np.ndarray) -> pa.Table:
    """Sales rows as Arrow: ``customer`` and ``product`` index ``customer_ids`` and ``product_ids``."""
    return pa.table({
        "customer_id": pa.DictionaryArray.from_arrays(pa.array(customer.astype(np.int32)),
                                                      pa.array(customer_ids.astype(str))),
        "product_id": pa.DictionaryArray.from_arrays(pa.array(product.astype(np.int32)),
                                                     pa.array(product_ids.astype(str))),
        "month": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(quantity), np.int32)), pa.array([month])),
        "quantity": pa.array(quantity.astype(np.int64)),
        "requested": pa.array(requested.astype(np.int64)),
    })


def replace_sales_month(directory: Path, month: str, rows: pa.Table) -> Path:
    """Put ``month``'s sales into ``sales.parquet``, replacing any rows of that month already there."""
    path = directory / FILES["sales"]
    # Text columns as dictionaries: millions of rows of a large world are read and written in seconds.
    existing = pq.read_table(path, read_dictionary=TEXT_COLUMNS)
    if _may_hold(path, month):
        existing = existing.filter(pc.not_equal(existing["month"], month))
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(partial, existing.schema, store_schema=False) as writer:
        writer.write_table(existing)
        writer.write_table(rows.select(existing.column_names).cast(existing.schema))
    partial.replace(path)
    return path


def _may_hold(path: Path, month: str) -> bool:
    """Whether the file may have rows of ``month`` (by the row groups' statistics, when written)."""
    metadata = pq.ParquetFile(path).metadata
    column = metadata.schema.names.index("month")
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max or str(stats.min) <= month <= str(stats.max):
            return True
    return False
