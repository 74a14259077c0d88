"""The offerings catalogue (``data/water/offerings.csv``, docs/service-system-data.md) as typed records.

Imported by the task bodies only (pandas).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, read_table

COLUMNS = ("offering_id", "meets", "segments", "min_level", "cost_per_customer_month", "status")
STATUSES = ("current", "available", "retired")
LEVELS = ("gold", "silver", "bronze")  # best first: an offering with min_level silver goes to gold and silver


@dataclass(frozen=True)
class Offering:
    """One row of the catalogue."""

    offering_id: str
    meets: str
    segments: tuple[str, ...]  # ("*",) for every segment
    min_level: str
    cost_per_customer_month: float
    status: str

    def offered_to(self, segment: str) -> bool:
        """True when the offering may be offered to ``segment``."""
        return "*" in self.segments or segment in self.segments

    def allowed_at(self, level: str) -> bool:
        """True when ``level`` is at least the offering's ``min_level``."""
        return level in LEVELS and LEVELS.index(level) <= LEVELS.index(self.min_level)


def read_catalogue(source: str) -> list[Offering]:
    """The catalogue's offerings, in file order.

    Raises:
        SourceError: it cannot be read, lacks a column, or holds a bad status, level or cost.
    """
    frame = read_table(source, "offerings", columns=COLUMNS, text_columns=("offering_id", "meets", "segments"))
    costs = pd.to_numeric(frame["cost_per_customer_month"], errors="coerce")
    offerings: list[Offering] = []
    for position, row in enumerate(frame.to_dict("records")):
        line = f"{source}: offering {row['offering_id']!r} (line {position + 2})"
        status, level = str(row["status"]).strip(), str(row["min_level"]).strip()
        if status not in STATUSES:
            raise SourceError(f"{line}: status {status!r} is not one of {', '.join(STATUSES)}")
        if level not in LEVELS:
            raise SourceError(f"{line}: min_level {level!r} is not one of {', '.join(LEVELS)}")
        cost = costs.iloc[position]
        if pd.isna(cost) or cost < 0:
            raise SourceError(f"{line}: cost_per_customer_month {row['cost_per_customer_month']!r} "
                              "is not a number of 0 or more")
        segments = tuple(part.strip() for part in str(row["segments"]).split(";") if part.strip())
        offerings.append(Offering(str(row["offering_id"]).strip(), str(row["meets"]).strip(), segments, level,
                                  float(cost), status))
    return offerings
