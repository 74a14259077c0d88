"""Hand-built StepContexts and KPI results for the CHECK and ACT task tests."""

from __future__ import annotations

from typing import Any

from pdcaflow.tasks.sdk.registry import StepContext

STARTED_AT = "2025-03-01T06:00:00+08:00"


def result(actual: float | None, target: dict[str, float], status: str | None = None,
           signals: list[str] | None = None) -> dict[str, Any]:
    """A KPI result as ``kpi.check`` produces it; the status follows from actual vs target unless given."""
    low, high = target.get("min"), target.get("max")
    if status is None:
        if actual is None:
            status = "no_data"
        else:
            status = "met" if (low is None or actual >= low) and (high is None or actual <= high) else "missed"
    return {"actual": actual, "target": {"min": low, "max": high}, "status": status,
            "met": None if status == "no_data" else status == "met",
            "missed": None if status == "no_data" else status == "missed",
            "signals": signals or []}


def act_context(policies: list[dict[str, Any]], *, kpis: dict[str, dict[str, Any]] | None = None,
                history: dict[str, list[dict[str, Any]]] | None = None,
                targets: dict[str, dict[str, Any]] | None = None, params: dict[str, Any] | None = None,
                **extra: Any) -> StepContext:
    """An ACT step's context for cycle 5 of process ``retail``; targets default to this cycle's results'."""
    kpis = kpis or {}
    if targets is None:
        targets = {kpi_id: dict(kpi_result["target"]) for kpi_id, kpi_result in kpis.items()}
    return StepContext(process_id="retail", cycle=5, kpis=kpis, history=history or {}, policies=policies,
                       targets=targets, params=params or {}, started_at=extra.pop("started_at", STARTED_AT),
                       **extra)


def decision(outcome: dict[str, Any], policy: str) -> dict[str, Any]:
    """The decision ``apply_policies`` made for one policy."""
    [found] = [entry for entry in outcome["decisions"] if entry["policy"] == policy]
    return dict(found)
