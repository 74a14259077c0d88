"""KPI history across cycles: actual against the target in force that cycle, met or missed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.store.access import ReviewError, require_process
from pdcaflow.engine.store.tables import Cycle, DefinitionVersion, KpiResult


def version_numbers(session: Session, process_id: str) -> dict[int, int]:
    """Definition version row id -> its number for the process (1 = the first YAML it ran)."""
    ids = session.scalars(select(DefinitionVersion.id).where(DefinitionVersion.process_id == process_id)
                          .order_by(DefinitionVersion.id))
    return {version_id: number for number, version_id in enumerate(ids, start=1)}


def kpi_history(session: Session, process_id: str, kpi_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """KPI id -> one entry per cycle that measured it, oldest first.

    Each entry: ``cycle``, ``version`` (definition version number), ``finished_at``,
    ``actual``, ``target`` (``{min, max}`` in force that cycle), ``status``, ``delta``,
    ``unit``, ``signals``, ``control`` (the control-chart record CHECK kept, or ``None``).

    Raises:
        ReviewError: no such process, or it never measured ``kpi_id``.
    """
    require_process(session, process_id)
    versions = version_numbers(session, process_id)
    statement = (select(Cycle.number, Cycle.definition_version_id, Cycle.finished_at, KpiResult)
                 .join(KpiResult, KpiResult.cycle_id == Cycle.id).where(Cycle.process_id == process_id)
                 .order_by(Cycle.number, KpiResult.id))
    history: dict[str, list[dict[str, Any]]] = {}
    for number, version_id, finished_at, result in session.execute(statement):
        history.setdefault(result.kpi_id, []).append({
            "cycle": number, "version": versions.get(version_id), "finished_at": finished_at,
            "actual": result.actual, "target": {"min": result.target_min, "max": result.target_max},
            "status": result.status, "delta": result.delta, "unit": result.unit,
            "signals": result.details.get("signals") or [], "control": result.details.get("control")})
    if kpi_id is not None:
        if kpi_id not in history:
            known = f"; it has: {', '.join(sorted(history))}" if history else "; it has no KPI results yet"
            raise ReviewError(f"process '{process_id}' has no results for KPI '{kpi_id}'{known}")
        return {kpi_id: history[kpi_id]}
    return history


def met_summary(points: list[dict[str, Any]]) -> str:
    """``met 3 of 5 cycles; last 3: missed, met, met``."""
    met = sum(1 for point in points if point["status"] == "met")
    last = ", ".join(point["status"] for point in points[-3:])
    return f"met {met} of {len(points)} cycle(s); last {min(3, len(points))}: {last}"
