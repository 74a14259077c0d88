"""What a finished cycle reports: its KPI table and its decisions, as rows and as text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def target_text(target: Mapping[str, Any] | None) -> str:
    if not target:
        return "-"
    low, high = target.get("min"), target.get("max")
    if low is not None and high is not None:
        return f"{_number(low)} .. {_number(high)}"
    return f">= {_number(low)}" if low is not None else f"<= {_number(high)}"


def kpi_rows(carry_over: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per KPI: actual, target, status, change vs the previous cycle, unit, and its actions still
    followed up (open, in progress, or done and waiting for verification) until they are closed."""
    rows = []
    for kpi_id, result in carry_over.get("kpis", {}).items():
        followed = [action for action in carry_over.get("actions", []) if action.get("kpi") == kpi_id]
        actions = [f"{action.get('id')} ({action.get('status', 'open')}, {action.get('owner')})" for action in followed]
        statuses = Counter(str(action.get("status", "open")) for action in followed)
        delta = result.get("delta")
        rows.append({
            "kpi": kpi_id,
            "actual": _number(result.get("actual")),
            "target": target_text(result.get("target")),
            "status": str(result.get("status", "-")),
            "change": "-" if delta is None else f"{delta:+.4g}",
            "unit": str(result.get("unit", "")),
            "actions": "; ".join(actions) or "-",
            # the KPI table's narrow column; the actions table beside it names them
            "actions_brief": ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())) or "-",
        })
    return rows


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


def cycle_summary(process_id: str, number: int, resumed: bool, carry_over: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready result of a completed cycle (the entry flow's return value)."""
    return {
        "process": process_id,
        "cycle": number,
        "resumed": resumed,
        "kpis": kpi_rows(carry_over),
        "kpi_values": {kpi_id: {"actual": result.get("actual"), "status": result.get("status"),
                                "target": result.get("target"), "unit": result.get("unit", "")}
                       for kpi_id, result in carry_over.get("kpis", {}).items()},
        "decisions": [d for d in carry_over.get("decisions", []) if d.get("fired")],
        "params": carry_over.get("params", {}),
        "targets": carry_over.get("targets", {}),
        "open_actions": carry_over.get("actions", []),
    }
