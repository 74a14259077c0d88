"""What a finished cycle reports: its KPI table and its decisions, as rows and as text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from pdcaflow.engine.review.kpi_labels import KpiLabel, KpiLabels


def target_text(target: Mapping[str, Any] | None) -> str:
    """``>= 4.2``, ``<= 48`` or ``4 .. 6``: a target's bounds as the numbers they are."""
    return KpiLabel("").target(target)


def kpi_rows(carry_over: Mapping[str, Any], labels: KpiLabels | None = None) -> list[dict[str, str]]:
    """One row per KPI in the definition's order: its title (``name``), actual, target, status, change vs the
    previous cycle (with the KPI's decimals), unit, and its actions still followed up (open, in progress, or
    done and waiting for verification) until they are closed."""
    labels = labels or KpiLabels()
    results: Mapping[str, Any] = carry_over.get("kpis", {})
    rows = []
    for kpi_id in labels.ordered(results):
        result = results[kpi_id]
        label = labels.of(kpi_id, result)
        followed = [action for action in carry_over.get("actions", []) if action.get("kpi") == kpi_id]
        actions = [f"{action.get('id')} ({action.get('status', 'open')}, {action.get('owner')})" for action in followed]
        statuses = Counter(str(action.get("status", "open")) for action in followed)
        rows.append({
            "kpi": kpi_id,
            "name": label.name,
            "actual": label.value(result.get("actual")),
            "target": label.target(result.get("target")),
            "status": str(result.get("status", "-")),
            "change": label.change(result.get("delta")),
            "unit": str(result.get("unit", "")),
            "actions": "; ".join(actions) or "-",
            # the KPI table's narrow column; the actions table beside it names them
            "actions_brief": ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "-",
        })
    return rows


def no_effect_note(hidden: int) -> str:
    """The line under a table that left out decisions with no effect (``""`` when none was left out)."""
    if hidden <= 0:
        return ""
    return f"{hidden} decision(s) that fired without changing the plan not shown; --all shows them"


def decisions_markdown(carry_over: Mapping[str, Any]) -> str:
    decisions = carry_over.get("decisions", [])
    fired = [d for d in decisions if d.get("fired")]
    lines = [f"# Decisions of cycle {carry_over.get('cycle')}", ""]
    if not fired:
        lines.append("No policy fired.")
    for decision in fired:
        effects = "; ".join(decision.get("effects", [])) or "no effect"
        lines.append(f"- **{decision.get('policy')}**: {decision.get('reason')} → {effects}")
    return "\n".join(lines) + "\n"


def cycle_summary(process_id: str, number: int, resumed: bool, carry_over: Mapping[str, Any],
                  labels: KpiLabels | None = None, period: str | None = None) -> dict[str, Any]:
    """The JSON-ready result of a completed cycle (the entry flow's return value); KPIs in the definition's
    order, ``period`` the one its schedule gives it (``None``: no schedule)."""
    labels = labels or KpiLabels()
    results: Mapping[str, Any] = carry_over.get("kpis", {})
    return {
        "process": process_id,
        "cycle": number,
        "period": period,
        "resumed": resumed,
        "kpis": kpi_rows(carry_over, labels),
        "kpi_values": {kpi_id: {"actual": results[kpi_id].get("actual"), "status": results[kpi_id].get("status"),
                                "target": results[kpi_id].get("target"), "unit": results[kpi_id].get("unit", "")}
                       for kpi_id in labels.ordered(results)},
        "decisions": [d for d in carry_over.get("decisions", []) if d.get("fired")],
        "params": carry_over.get("params", {}),
        "targets": carry_over.get("targets", {}),
        "open_actions": carry_over.get("actions", []),
    }
