"""Reading and writing the store's tables, each write with its audit event(s).

Every function takes the caller's session, flushes, and never commits: the engine
decides what belongs in one transaction (a step's row and its event; the KPI
results, decisions, actions, carry-over and the cycle's completion together).
Every writer first locks the chain's head row (``audit.lock_head``), so writers
take locks in one order and cycle numbers stay unique under concurrent runs.

The cycle-level writers (KPI results, decisions, actions) live in
``pdcaflow.engine.store.results`` and are re-exported here, so callers import one module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pdcaflow.engine.store.audit import append_event, lock_head, normalise_json, utc_now
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import (
    CYCLE_TRIGGERS,
    STEP_STATUSES,
    CarryOver,
    Cycle,
    DefinitionVersion,
    KpiResult,
    StepRun,
)
from pdcaflow.engine.store.results import (
    kpi_history,
    live,
    open_actions,
    record_actions_opened,
    record_decisions,
    record_kpi_results,
    update_action_status,
)

__all__ = [
    "completed_steps", "complete_cycle", "definition_text_of_cycle", "fail_cycle", "kpi_history",
    "latest_carry_over", "latest_cycle",
    "mark_cycle_resumed", "open_actions", "record_actions_opened", "record_decisions", "record_definition_version",
    "record_kpi_results", "record_step", "start_cycle", "update_action_status",
]


def record_definition_version(
    session: Session, process_id: str, yaml_text: str, sha256: str, actor: str
) -> DefinitionVersion:
    """Store the exact YAML a run uses, once per (process, sha256).

    Returns:
        The existing row when this sha256 is already known (and no new event),
        else the new row, with a ``definition.version`` event carrying the text.
    """
    lock_head(session)
    known = session.scalars(select(DefinitionVersion).where(
        DefinitionVersion.process_id == process_id, DefinitionVersion.sha256 == sha256)).one_or_none()
    if known is not None:
        return known
    version = DefinitionVersion(process_id=process_id, sha256=sha256, yaml_text=yaml_text, first_seen_at=utc_now())
    session.add(version)
    session.flush()
    append_event(session, kind="definition.version", actor=actor, process_id=process_id,
                 payload={"definition_version_id": version.id, "sha256": sha256, "yaml_text": yaml_text,
                          "first_seen_at": version.first_seen_at})
    return version


def latest_cycle(session: Session, process_id: str) -> Cycle | None:
    """The process's highest-numbered cycle, whatever its status, or ``None`` before its first run."""
    return session.scalars(select(Cycle).where(Cycle.process_id == process_id)
                           .order_by(Cycle.number.desc()).limit(1)).first()


def start_cycle(
    session: Session,
    process_id: str,
    definition_version: DefinitionVersion,
    trigger: str,
    actor: str,
    host: str,
    pid: int,
    *,
    flow_run_id: str | None = None,
    reason: str | None = None,
    plan_inputs: Mapping[str, Any] | None = None,
) -> Cycle:
    """Open the process's next cycle (number = last + 1), status ``running``, event ``cycle.started``.

    The number is read after the head lock is taken, so two processes starting a
    cycle of the same process at once get consecutive numbers, never the same one.
    ``reason`` is why a person started it; ``plan_inputs`` (the params and targets the
    cycle starts from, and the cycle whose carry-over they came from) go in the event
    as ``plan``, so a reviewer sees what the cycle was given.
    """
    if trigger not in CYCLE_TRIGGERS:
        raise StoreError(f"unknown cycle trigger {trigger!r}; expected one of {', '.join(CYCLE_TRIGGERS)}")
    lock_head(session)
    last = session.scalar(select(func.max(Cycle.number)).where(Cycle.process_id == process_id))
    cycle = Cycle(process_id=process_id, number=(last or 0) + 1, definition_version_id=definition_version.id,
                  status="running", trigger=trigger, actor=actor, flow_run_id=flow_run_id, started_at=utc_now(),
                  owner_host=host, owner_pid=pid)
    session.add(cycle)
    session.flush()
    append_event(session, kind="cycle.started", actor=actor, process_id=process_id, cycle_number=cycle.number,
                 reason=reason, payload={
                     "cycle_id": cycle.id, "number": cycle.number, "trigger": trigger,
                     "definition_version_id": definition_version.id, "sha256": definition_version.sha256,
                     "started_at": cycle.started_at, "host": host, "pid": pid, "flow_run_id": flow_run_id,
                     **({"plan": dict(plan_inputs)} if plan_inputs is not None else {})})
    return cycle


def mark_cycle_resumed(
    session: Session, cycle: Cycle, actor: str, host: str, pid: int, *,
    flow_run_id: str | None = None, reason: str | None = None, plan_inputs: Mapping[str, Any] | None = None,
) -> Cycle:
    """Take over a failed (or abandoned running) cycle: status back to ``running``, new owner, ``cycle.resumed``."""
    lock_head(session)
    cycle = live(session, cycle)
    session.refresh(cycle)
    if cycle.status == "completed":
        raise StoreError(f"cycle {cycle.process_id}#{cycle.number} is completed and cannot be resumed")
    previous = {"status": cycle.status, "host": cycle.owner_host, "pid": cycle.owner_pid, "error": cycle.error}
    cycle.status, cycle.owner_host, cycle.owner_pid = "running", host, pid
    cycle.error, cycle.finished_at = None, None
    if flow_run_id is not None:
        cycle.flow_run_id = flow_run_id
    session.flush()
    append_event(session, kind="cycle.resumed", actor=actor, process_id=cycle.process_id,
                 cycle_number=cycle.number, reason=reason,
                 payload={"previous": previous, "host": host, "pid": pid, "flow_run_id": cycle.flow_run_id,
                          **({"plan": dict(plan_inputs)} if plan_inputs is not None else {})})
    return cycle


def completed_steps(session: Session, cycle: Cycle) -> dict[str, Any]:
    """Step id -> output of every step the cycle completed (what a resumed run must not redo)."""
    rows = session.execute(select(StepRun.step_id, StepRun.output).where(
        StepRun.cycle_id == cycle.id, StepRun.status == "completed").order_by(StepRun.id))
    return {step_id: output for step_id, output in rows}


def record_step(
    session: Session,
    cycle: Cycle,
    step_id: str,
    status: str,
    attempts: int,
    started_at: datetime | None,
    finished_at: datetime | None,
    output: Any,
    error: str | None,
    actor: str,
) -> StepRun:
    """Record a step's outcome (``completed``, ``failed`` or ``skipped``) with a ``step.<status>`` event.

    Raises:
        StoreError: the step is already recorded as completed in this cycle
            (a resumed run must skip it), or the status is unknown.
    """
    if status not in STEP_STATUSES:
        raise StoreError(f"unknown step status {status!r}; expected one of {', '.join(STEP_STATUSES)}")
    lock_head(session)
    if status == "completed" and _has_completed(session, cycle, step_id):
        raise StoreError(f"step {step_id} of cycle {cycle.process_id}#{cycle.number} is already recorded as "
                         "completed; a resumed cycle must skip completed steps")
    step_run = StepRun(cycle_id=cycle.id, step_id=step_id, status=status, attempts=attempts, started_at=started_at,
                       finished_at=finished_at, output=normalise_json(output), error=error)
    session.add(step_run)
    try:
        session.flush()
    except IntegrityError as exc:  # the partial unique index, should a writer bypass the check above
        raise StoreError(f"step {step_id} of cycle {cycle.process_id}#{cycle.number} is already completed") from exc
    append_event(session, kind=f"step.{status}", actor=actor, process_id=cycle.process_id,
                 cycle_number=cycle.number, step_id=step_id, payload={
                     "step_run_id": step_run.id, "status": status, "attempts": attempts, "started_at": started_at,
                     "finished_at": finished_at, "output": step_run.output, "error": error})
    return step_run


def complete_cycle(session: Session, cycle: Cycle, carry_over: dict[str, Any], actor: str) -> Cycle:
    """Store the carry-over and mark the cycle completed (events ``carry_over``, ``cycle.completed``).

    Commit this in the same transaction as the cycle's last results: the next
    cycle starts from this carry-over, so it exists if and only if the cycle completed.
    """
    lock_head(session)
    cycle = live(session, cycle)
    session.refresh(cycle)
    if cycle.status != "running":
        raise StoreError(f"cycle {cycle.process_id}#{cycle.number} is {cycle.status}, not running; "
                         "only a running cycle can complete")
    payload = normalise_json(carry_over)
    session.add(CarryOver(cycle_id=cycle.id, payload=payload))
    cycle.status, cycle.finished_at = "completed", utc_now()
    session.flush()
    append_event(session, kind="carry_over", actor=actor, process_id=cycle.process_id, cycle_number=cycle.number,
                 payload=payload)
    append_event(session, kind="cycle.completed", actor=actor, process_id=cycle.process_id,
                 cycle_number=cycle.number, payload=_cycle_summary(session, cycle))
    return cycle


def fail_cycle(session: Session, cycle: Cycle, error: str, actor: str) -> Cycle:
    """Mark the cycle failed with its error (event ``cycle.failed``); it gets no carry-over."""
    lock_head(session)
    cycle = live(session, cycle)
    session.refresh(cycle)
    if cycle.status == "completed":
        raise StoreError(f"cycle {cycle.process_id}#{cycle.number} is completed and cannot be marked failed")
    cycle.status, cycle.error, cycle.finished_at = "failed", error, utc_now()
    session.flush()
    append_event(session, kind="cycle.failed", actor=actor, process_id=cycle.process_id, cycle_number=cycle.number,
                 payload={**_cycle_summary(session, cycle), "error": error})
    return cycle


def latest_carry_over(session: Session, process_id: str) -> dict[str, Any] | None:
    """The carry-over of the process's last completed cycle, or ``None`` if none completed yet."""
    statement = (select(CarryOver.payload).join(Cycle, Cycle.id == CarryOver.cycle_id)
                 .where(Cycle.process_id == process_id, Cycle.status == "completed")
                 .order_by(Cycle.number.desc()).limit(1))
    payload: dict[str, Any] | None = session.scalars(statement).first()
    return payload


def definition_text_of_cycle(session: Session, process_id: str, number: object) -> str | None:
    """The YAML text cycle ``number`` of the process ran, or ``None`` (no such cycle, or no number)."""
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    text: str | None = session.scalar(
        select(DefinitionVersion.yaml_text).join(Cycle, Cycle.definition_version_id == DefinitionVersion.id)
        .where(Cycle.process_id == process_id, Cycle.number == number))
    return text


def _has_completed(session: Session, cycle: Cycle, step_id: str) -> bool:
    found = session.scalar(select(StepRun.id).where(
        StepRun.cycle_id == cycle.id, StepRun.step_id == step_id, StepRun.status == "completed").limit(1))
    return found is not None


def _cycle_summary(session: Session, cycle: Cycle) -> dict[str, Any]:
    step_counts = {status: count for status, count in session.execute(
        select(StepRun.status, func.count()).where(StepRun.cycle_id == cycle.id).group_by(StepRun.status))}
    kpi_counts = {status: count for status, count in session.execute(
        select(KpiResult.status, func.count()).where(KpiResult.cycle_id == cycle.id).group_by(KpiResult.status))}
    finished = cycle.finished_at or utc_now()
    return {"cycle_id": cycle.id, "status": cycle.status, "started_at": cycle.started_at, "finished_at": finished,
            "duration_s": round((finished - cycle.started_at).total_seconds(), 6),
            "steps": step_counts, "kpis": kpi_counts}
