"""The service plan as the world reads it: which offerings are in force for which segment.

A plan is ``service_plan.parquet`` of docs/service-system-data.md (``period, segment,
service_level, offering_id, meets, change, cost_per_customer_month``). An offering is in
force for a segment when its row's ``change`` is ``keep`` or ``new``. :func:`reference_plan`
is the stand-in when no cycle designed one (the complaint process run on its own, and the
history): the plan of the quarter before, kept as it was.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, read_table
from pdcaflow.tasks.water_world.storage import PLAN_COLUMNS, read_plan_state, state_path
from pdcaflow.tasks.water_world.world_model import DEFAULT_LEVELS, LEVELS, SEGMENTS

IN_FORCE = ("keep", "new")


def read_plan(plan: str | Path | pd.DataFrame, quarter: str | None) -> pd.DataFrame:
    """The plan's rows for ``quarter`` (every row when ``quarter`` is None or the plan has no ``period``).

    Raises:
        SourceError: the plan cannot be read or lacks a column of the contract.
    """
    frame = plan.copy() if isinstance(plan, pd.DataFrame) else read_table(str(plan))
    missing = [column for column in PLAN_COLUMNS if column not in frame.columns]
    if missing:
        raise SourceError(f"{plan if not isinstance(plan, pd.DataFrame) else 'the plan'}: missing column(s) "
                          f"{', '.join(missing)} of the service plan (docs/service-system-data.md)")
    frame = frame.loc[:, list(PLAN_COLUMNS)].copy()
    for column in ("period", "segment", "service_level", "offering_id", "meets", "change"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["cost_per_customer_month"] = pd.to_numeric(frame["cost_per_customer_month"], errors="coerce").fillna(0.0)
    if quarter is not None and (frame["period"] != "").any():
        planned = sorted(set(frame["period"]) - {""})
        frame = frame.loc[frame["period"] == quarter]
        if frame.empty:
            raise ValueError(f"{plan if not isinstance(plan, pd.DataFrame) else 'the plan'} plans "
                             f"{', '.join(planned)}, not {quarter}: simulate the quarter it was made for")
    return frame.reset_index(drop=True)


def plan_period(plan: str | Path | pd.DataFrame) -> str | None:
    """The quarter a plan was made for (its first non-empty ``period``), or None."""
    periods = [p for p in read_plan(plan, None)["period"] if p]
    return periods[0] if periods else None


def in_force(plan: pd.DataFrame) -> dict[str, set[str]]:
    """Segment -> the needs met by an offering in force for it."""
    rows = plan.loc[plan["change"].isin(IN_FORCE) & (plan["offering_id"] != "")]
    met: dict[str, set[str]] = {segment: set() for segment in SEGMENTS}
    for segment, need in zip(rows["segment"], rows["meets"]):
        met.setdefault(str(segment), set()).add(str(need))
    return met


def segment_cost(plan: pd.DataFrame) -> dict[str, float]:
    """Segment -> what the offerings in force add to a customer's monthly cost to serve."""
    rows = plan.loc[plan["change"].isin(IN_FORCE) & (plan["offering_id"] != "")]
    costs = rows.groupby("segment")["cost_per_customer_month"].sum()
    return {segment: float(costs.get(segment, 0.0)) for segment in SEGMENTS}


def initial_plan(offerings: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """The offerings ``current`` in the catalogue, for every segment they may go to at its default level."""
    rows = []
    for segment in SEGMENTS:
        level = DEFAULT_LEVELS[segment]
        chosen = [o for o in offerings.itertuples() if o.status == "current" and _offered(o.segments, o.min_level,
                                                                                           segment, level)]
        for offering in chosen:
            rows.append((quarter, segment, level, offering.offering_id, offering.meets, "keep",
                         float(offering.cost_per_customer_month)))
        if not chosen:
            rows.append((quarter, segment, level, "", "", "keep", 0.0))
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def _offered(segments: str, min_level: str, segment: str, level: str) -> bool:
    allowed = segments == "*" or segment in str(segments).split(";")
    return allowed and LEVELS.index(level) <= LEVELS.index(min_level)


def reference_plan(directory: str | Path, quarter: str, previous: str) -> pd.DataFrame:
    """The plan of ``previous`` kept for ``quarter``: its offerings in force stay, retired rows go."""
    root = Path(directory)
    if not state_path(root, previous, "plan").is_file():
        raise SourceError(f"{state_path(root, previous, 'plan')}: no plan recorded for {previous}")
    plan = read_plan_state(root, previous)
    kept = plan.loc[plan["change"].isin(IN_FORCE)].copy()
    kept["period"], kept["change"] = quarter, "keep"
    empty = [segment for segment in SEGMENTS if segment not in set(kept["segment"])]
    levels = plan.groupby("segment")["service_level"].first()
    filler = pd.DataFrame([(quarter, s, levels.get(s, DEFAULT_LEVELS[s]), "", "", "keep", 0.0) for s in empty],
                          columns=list(PLAN_COLUMNS))
    return pd.concat([kept, filler], ignore_index=True) if empty else kept.reset_index(drop=True)


def offering_status(offerings: pd.DataFrame, plans: list[pd.DataFrame]) -> pd.DataFrame:
    """The catalogue with each offering's status after the last of ``plans`` (plans in quarter order):
    ``current`` when in force for some segment, ``retired`` when it was in force once and no longer is,
    ``available`` otherwise."""
    ever = set(offerings.loc[offerings["status"].isin(("current", "retired")), "offering_id"])
    for plan in plans:
        ever |= set(plan.loc[plan["change"].isin(IN_FORCE), "offering_id"]) - {""}
    now = set(plans[-1].loc[plans[-1]["change"].isin(IN_FORCE), "offering_id"]) - {""} if plans else set()
    out = offerings.copy()
    out["status"] = ["current" if o in now else "retired" if o in ever else "available" for o in out["offering_id"]]
    return out
