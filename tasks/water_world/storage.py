"""Where a water world keeps its files, and reading and writing them.

A world folder (``data/water``) holds the tables of docs/service-system-data.md,
``world.json`` (the seed, the size, the quarters simulated and every model
parameter) and ``world_state/``: for each quarter end the customers with their
latent values (``customers-<YYYY-Qn>.parquet``) and the plan and levers the
quarter ran under (``plan-<YYYY-Qn>.csv``, ``levers-<YYYY-Qn>.json``), so
simulating a quarter again starts from exactly the state it started from the
first time. Every table is written whole under a temporary name and renamed
into place (``write_table``): a reader never sees half a table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, is_url, write_table
from pdcaflow.tasks.service_system.standard_spec import OPERATIONS
from pdcaflow.tasks.water_world.periods import quarter_index, quarter_text
from pdcaflow.tasks.water_world.world_model import WaterModel

INFO_FILE = "world.json"
STATE_DIR = "world_state"
QUARTERS_DIR = "quarters"
COMPLAINTS_DIR = "complaints"
NOTE = ("A simulation for demonstration and testing, not an empirical model: see docs/water-world.md. "
        "Its responses to the plan are assumed, not estimated.")
# The columns of every table, exactly as docs/service-system-data.md gives them.
COLUMNS = {
    "customers": ("customer_id", "name", "segment", "region", "joined", "left", "monthly_margin",
                  "monthly_service_cost"),
    "offerings": ("offering_id", "name", "meets", "segments", "min_level", "cost_per_customer_month", "status"),
    **OPERATIONS,  # one quarter's tables, as the nine-element library reads them
    "complaints": ("contact_id", "customer_id", "received_at", "channel", "region", "type", "summary",
                   "claim_amount"),
    "complaint_events": ("contact_id", "event", "at", "amount", "score"),
}
QUARTER_TABLES = ("deliveries", "bucket_returns", "hotline_calls", "visits", "surveys", "front_line_reports",
                  "inspections")
PLAN_COLUMNS = ("period", "segment", "service_level", "offering_id", "meets", "change", "cost_per_customer_month")


@dataclass(frozen=True)
class WaterWorldInfo:
    """What ``world.json`` says about a generated water world.

    Attributes:
        directory: the world's folder.
        seed: the seed everything is drawn from.
        customers: active customers when it was generated.
        history: the quarters generated as history (two).
        quarters: every quarter with records under ``quarters/``, in order.
        complaints_handled_through: the last quarter whose cases a ``complaints.handle`` step
            (or the generation) has worked; a standalone complaint cycle advances past it.
        model: every parameter of the population and response model.
    """

    directory: Path
    seed: int
    customers: int
    history: tuple[str, ...]
    quarters: tuple[str, ...]
    complaints_handled_through: str
    model: WaterModel

    @property
    def last_quarter(self) -> str:
        """The last quarter with records (before any: the quarter before the history, whose state exists)."""
        return self.quarters[-1] if self.quarters else quarter_text(quarter_index(self.history[0]) - 1)

    def to_json(self) -> dict[str, Any]:
        return {"world": "pdcaflow water world", "note": NOTE, "seed": self.seed, "customers": self.customers,
                "history": list(self.history), "quarters": list(self.quarters),
                "complaints_handled_through": self.complaints_handled_through,
                "files": {"customers": "customers.csv", "offerings": "offerings.csv",
                          "quarters": f"{QUARTERS_DIR}/<YYYY-Qn>/<table>.csv",
                          "complaints": f"{COMPLAINTS_DIR}/complaints.csv",
                          "complaint_events": f"{COMPLAINTS_DIR}/complaint_events.csv", "state": f"{STATE_DIR}/"},
                "model": self.model.to_json()}

    def with_quarter(self, quarter: str) -> WaterWorldInfo:
        quarters = sorted(set(self.quarters) | {quarter}, key=quarter_index)
        return replace(self, quarters=tuple(quarters))


def is_world(path: str | Path) -> bool:
    """Whether ``path`` is a generated water world (a folder with a ``world.json``)."""
    return (Path(path) / INFO_FILE).is_file()


def world_root(source: str | Path) -> Path | None:
    """The water world ``source`` lies in: the world's folder, its ``complaints/`` or ``quarters/``
    folder (or a file or quarter folder in them); ``None`` for anything else (a URL included)."""
    if not str(source) or is_url(str(source)) or str(source).startswith("connection:"):
        return None
    path = Path(source)
    for candidate in (path, path.parent, path.parent.parent):
        if is_world(candidate) and (candidate == path or _inside(path, candidate)):
            return candidate
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        first = path.relative_to(root).parts[0]
    except (ValueError, IndexError):
        return False
    return first in (QUARTERS_DIR, COMPLAINTS_DIR)


def save_info(info: WaterWorldInfo) -> None:
    path = info.directory / INFO_FILE
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def load_info(directory: str | Path) -> WaterWorldInfo:
    """Read ``world.json``.

    Raises:
        SourceError: the file is missing, is not JSON, or lacks a key.
    """
    path = Path(directory) / INFO_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return WaterWorldInfo(directory=Path(directory), seed=int(data["seed"]), customers=int(data["customers"]),
                              history=tuple(data["history"]), quarters=tuple(data["quarters"]),
                              complaints_handled_through=str(data["complaints_handled_through"]),
                              model=WaterModel.from_json(data.get("model", {}), str(path)))
    except FileNotFoundError as exc:
        raise SourceError(f"{path}: no such file: {Path(directory)} is not a generated water world") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: not valid JSON: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{path}: missing or invalid key {exc}") from exc


def write_csv(frame: pd.DataFrame, table: str, path: Path) -> Path:
    """Write one contract table: exactly its columns, booleans as ``true``/``false``."""
    out = frame.loc[:, list(COLUMNS[table])].copy()
    for column in out.columns:
        if out[column].dtype == bool:
            out[column] = out[column].map({True: "true", False: "false"})
    return write_table(out, path)


# The types the complaint tables are kept in while rows are replaced (so that concatenating never guesses).
_TYPES = {"complaints": {"received_at": "datetime64[ns]", "claim_amount": "float64"},
          "complaint_events": {"at": "datetime64[ns]", "amount": "float64", "score": "Int64"}}


def stack(table: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` in one table of ``table``'s columns, each column of one type."""
    typed = []
    for frame in frames:
        out = frame.loc[:, list(COLUMNS[table])].copy()
        for column in COLUMNS[table]:
            kind = _TYPES[table].get(column, "object")
            if kind == "datetime64[ns]":
                out[column] = pd.to_datetime(out[column]).astype(kind)
            elif kind == "object":
                out[column] = out[column].astype(object)
            elif kind == "Int64":
                out[column] = pd.to_numeric(out[column]).round().astype(kind)
            else:
                out[column] = pd.to_numeric(out[column]).astype(kind)
        typed.append(out)
    kept = [frame for frame in typed if len(frame)]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else (kept or typed)[0].reset_index(drop=True)


def quarter_dir(directory: Path, quarter: str) -> Path:
    return directory / QUARTERS_DIR / quarter


def state_path(directory: Path, quarter: str, kind: str) -> Path:
    suffix = {"customers": "parquet", "plan": "csv", "levers": "json"}[kind]
    return directory / STATE_DIR / f"{kind}-{quarter}.{suffix}"


def read_customers_state(directory: Path, quarter: str) -> pd.DataFrame:
    """The customers and their latent values at the end of ``quarter``.

    Raises:
        SourceError: there is none (that quarter was neither generated nor simulated).
    """
    path = state_path(directory, quarter, "customers")
    if not path.is_file():
        raise SourceError(f"{path}: no world state at the end of {quarter}; simulate the quarters in order "
                          f"(the world in {directory} has them through {load_info(directory).last_quarter})")
    return pd.read_parquet(path)


def read_plan_state(directory: Path, quarter: str) -> pd.DataFrame:
    return pd.read_csv(state_path(directory, quarter, "plan"), keep_default_na=False,
                       dtype={"offering_id": str, "meets": str})


def read_levers_state(directory: Path, quarter: str) -> dict[str, Any]:
    levers: dict[str, Any] = json.loads(state_path(directory, quarter, "levers").read_text(encoding="utf-8"))
    return levers


def write_levers_state(directory: Path, quarter: str, levers: dict[str, Any]) -> None:
    path = state_path(directory, quarter, "levers")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(levers, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_complaints(directory: Path, table: str) -> pd.DataFrame:
    """``complaints`` or ``complaint_events`` as written (text ids, empty cells as NaN)."""
    path = directory / COMPLAINTS_DIR / f"{table}.csv"
    if not path.is_file():
        return pd.DataFrame({column: pd.Series(dtype=object) for column in COLUMNS[table]})
    return pd.read_csv(path, dtype={"contact_id": str, "customer_id": str})
