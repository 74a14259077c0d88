"""One cycle, whole: what it was given, what each step did, its KPIs and decisions, what it handed on.

``carry_in`` is what the cycle started from: the params and targets recorded on
its start event (``plan``), with the actions still open in the carry-over it
followed. For cycles recorded before the start event held ``plan``, they are
rebuilt from the definition version's YAML and the previous carry-over, the way
``pdcaflow.engine.runtime.cycle.begin_cycle`` builds them (``plan_recorded`` is then false).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pdcaflow.engine.review.kpi_labels import KpiLabels, labels_from_yaml
from pdcaflow.engine.review.periods import cycle_period
from pdcaflow.engine.store.access import require_cycle
from pdcaflow.engine.store.tables import OPEN_ACTION_STATUSES, Action, AuditEvent, CarryOver, Cycle, Decision, \
    DefinitionVersion, KpiResult, StepRun
from pdcaflow.engine.store.results import action_dict, kpi_result_dict


@dataclass
class CycleView:
    """Everything `pdca audit show` prints about one cycle."""

    cycle: Cycle
    version_number: int
    sha256: str
    starts: list[AuditEvent]  # cycle.started and every cycle.resumed, in order (who, when, why)
    plan_recorded: bool
    carry_in: dict[str, Any]
    steps: list[StepRun]
    kpis: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    actions_opened: list[dict[str, Any]]
    action_changes: list[AuditEvent]
    carry_out: dict[str, Any] | None
    changes: list[tuple[str, str, Any, Any]] = field(default_factory=list)  # (what, name, before, after)
    event_count: int = 0
    event_range: tuple[int, int] | None = None
    labels: KpiLabels = field(default_factory=KpiLabels)  # the KPIs' titles, order and decimals in the YAML it ran
    period: str | None = None  # the period its schedule gives it, e.g. 2026-05


def load_cycle(session: Session, process_id: str, number: int) -> CycleView:
    """Read cycle ``number`` of ``process_id`` and what surrounds it.

    Raises:
        ReviewError: no such process or cycle.
    """
    cycle = require_cycle(session, process_id, number)
    version = session.get(DefinitionVersion, cycle.definition_version_id)
    assert version is not None  # a foreign key
    version_number = session.scalar(select(func.count()).select_from(DefinitionVersion).where(
        DefinitionVersion.process_id == process_id, DefinitionVersion.id <= version.id)) or 0
    events = select(AuditEvent).where(AuditEvent.process_id == process_id, AuditEvent.cycle_number == number)
    starts = list(session.scalars(events.where(AuditEvent.kind.in_(("cycle.started", "cycle.resumed")))
                                  .order_by(AuditEvent.seq)))
    previous = _previous_carry(session, process_id, number)
    plan = next((event.payload["plan"] for event in reversed(starts) if "plan" in event.payload), None)
    plan_recorded = plan is not None
    if plan is None:
        plan = _rebuilt_plan(version.yaml_text, previous)
    carry_in = {"params": plan.get("params", {}), "targets": plan.get("targets", {}),
                "actions": [a for a in previous.get("actions", []) if a.get("status", "open") in OPEN_ACTION_STATUSES],
                "from_cycle": previous.get("cycle")}
    carry_row = session.get(CarryOver, cycle.id)
    carry_out = carry_row.payload if carry_row is not None else None
    seqs = session.execute(select(func.count(), func.min(AuditEvent.seq), func.max(AuditEvent.seq)).where(
        AuditEvent.process_id == process_id, AuditEvent.cycle_number == number)).one()
    return CycleView(
        cycle=cycle, version_number=version_number, sha256=version.sha256, starts=starts,
        plan_recorded=plan_recorded, carry_in=carry_in,
        steps=list(session.scalars(select(StepRun).where(StepRun.cycle_id == cycle.id).order_by(StepRun.id))),
        kpis=[kpi_result_dict(row) for row in session.scalars(
            select(KpiResult).where(KpiResult.cycle_id == cycle.id).order_by(KpiResult.id))],
        decisions=_decisions(session, cycle),
        actions_opened=[action_dict(row) for row in session.scalars(select(Action).where(
            Action.process_id == process_id, Action.opened_cycle == number).order_by(Action.id))],
        action_changes=list(session.scalars(events.where(AuditEvent.kind == "action.status").order_by(AuditEvent.seq))),
        carry_out=carry_out, changes=carry_changes(carry_in, carry_out) if carry_out is not None else [],
        event_count=seqs[0], event_range=(seqs[1], seqs[2]) if seqs[0] else None,
        labels=labels_from_yaml(version.yaml_text), period=cycle_period(session, cycle),
    )


def carry_changes(carry_in: dict[str, Any], carry_out: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """What the cycle changed for the next one: params and targets (before, after), actions opened and closed."""
    changes: list[tuple[str, str, Any, Any]] = []
    before, after = flatten(carry_in.get("params", {})), flatten(carry_out.get("params", {}))
    for name in sorted(set(before) | set(after)):
        if before.get(name, _ABSENT) != after.get(name, _ABSENT):
            changes.append(("param", name, before.get(name), after.get(name)))
    targets_in, targets_out = carry_in.get("targets", {}), carry_out.get("targets", {})
    for kpi in sorted(set(targets_in) | set(targets_out)):
        if _bounds(targets_in.get(kpi)) != _bounds(targets_out.get(kpi)):
            changes.append(("target", kpi, targets_in.get(kpi), targets_out.get(kpi)))
    open_in = {str(a.get("id")): a for a in carry_in.get("actions", [])}
    open_out = {str(a.get("id")): a for a in carry_out.get("actions", [])
                if a.get("status", "open") in OPEN_ACTION_STATUSES}
    for key in sorted(set(open_out) - set(open_in)):
        changes.append(("action opened", key, None, open_out[key].get("title")))
    for key in sorted(set(open_in) - set(open_out)):
        changes.append(("action closed", key, open_in[key].get("title"), None))
    return changes


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    if not isinstance(value, dict) or not value:
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


_ABSENT = object()


def _bounds(target: Any) -> tuple[Any, Any]:
    if not isinstance(target, dict):
        return (None, None)
    return (target.get("min"), target.get("max"))


def _previous_carry(session: Session, process_id: str, number: int) -> dict[str, Any]:
    """The carry-over of the last cycle completed before ``number`` (what the cycle started from)."""
    payload = session.scalars(select(CarryOver.payload).join(Cycle, Cycle.id == CarryOver.cycle_id).where(
        Cycle.process_id == process_id, Cycle.number < number, Cycle.status == "completed")
        .order_by(Cycle.number.desc()).limit(1)).first()
    return payload or {}


def _rebuilt_plan(yaml_text: str, previous: dict[str, Any]) -> dict[str, Any]:
    from pdcaflow.engine.runtime.starting_values import merge_params  # begin_cycle's rule (only for old records)
    from pdcaflow.engine.definition.loader import load_definition_text

    data = load_definition_text(yaml_text).data
    targets = {kpi["id"]: {"min": (kpi.get("target") or {}).get("min"), "max": (kpi.get("target") or {}).get("max")}
               for kpi in data.get("kpis", []) if isinstance(kpi, dict) and "id" in kpi}
    targets.update({k: v for k, v in previous.get("targets", {}).items() if k in targets})
    return {"params": merge_params(data.get("params") or {}, previous.get("params", {})), "targets": targets}


def _decisions(session: Session, cycle: Cycle) -> list[dict[str, Any]]:
    """The cycle's decisions, each with what its event recorded besides the row (the rule, the KPI numbers)."""
    evidence = {event.payload.get("decision_id"): event.payload for event in session.scalars(
        select(AuditEvent).where(AuditEvent.process_id == cycle.process_id,
                                 AuditEvent.cycle_number == cycle.number, AuditEvent.kind == "decision"))}
    decisions = []
    for row in session.scalars(select(Decision).where(Decision.cycle_id == cycle.id).order_by(Decision.id)):
        payload = evidence.get(row.id, {})
        decisions.append({"policy": row.policy_id, "kpi": row.kpi_id, "fired": row.fired, "reason": row.reason,
                          "effects": row.effects, "rule": payload.get("rule"), "kpi_result": payload.get("kpi_result")})
    return decisions
