"""The first results of KPIs whose control chart has a fixed baseline (``control: {baseline: N}``).

A cycle reads only the last 100 cycles of KPI history; a baseline is the FIRST N
recorded values, which after 100 cycles are no longer in that window. This query
fetches them, so the limits stay fixed for the life of the process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.store.tables import Cycle, KpiResult


def baseline_counts(kpis: Iterable[Any]) -> dict[str, int]:
    """KPI id -> N for every KPI (``pdcaflow.engine.definition.model.Kpi``) with ``control.baseline``."""
    return {kpi.id: kpi.control.baseline for kpi in kpis if kpi.control is not None and kpi.control.baseline}


def kpi_baselines(session: Session, process_id: str, counts: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """KPI id -> its first ``N`` results with a value in completed cycles, oldest first (``cycle``, ``actual``, ``status``)."""
    baselines: dict[str, list[dict[str, Any]]] = {}
    for kpi_id, count in counts.items():
        rows = session.execute(
            select(Cycle.number, KpiResult.actual, KpiResult.status).join(KpiResult, KpiResult.cycle_id == Cycle.id)
            .where(Cycle.process_id == process_id, Cycle.status == "completed", KpiResult.kpi_id == kpi_id,
                   KpiResult.status != "no_data", KpiResult.actual.is_not(None))
            .order_by(Cycle.number).limit(count))
        baselines[kpi_id] = [{"cycle": number, "actual": actual, "status": status} for number, actual, status in rows]
    return baselines
