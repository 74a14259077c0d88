"""The period each recorded cycle covers, as its schedule names it: ``2026-05``, ``2026-W19``, ``2026-05-07``.

Computed, never stored: a cycle covers the slot it was scheduled for (recorded on
its ``cycle.started`` event), else the moment it started
(:func:`pdcaflow.engine.runtime.slots.covered_until`), read with the schedule of the
definition version it ran (:func:`pdcaflow.engine.runtime.schedule.period_label`).
A version without a schedule gives its cycles no period.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.runtime.schedule import ScheduleError, period_label
from pdcaflow.engine.store.tables import AuditEvent, Cycle, DefinitionVersion


def cycle_periods(session: Session, process_id: str) -> dict[int, str]:
    """Cycle number -> its period, for the process's cycles whose definition has a schedule."""
    schedules: dict[int, Schedule | None] = {}
    slots = _scheduled_slots(session, process_id)
    periods: dict[int, str] = {}
    for cycle in session.scalars(select(Cycle).where(Cycle.process_id == process_id).order_by(Cycle.number)):
        if cycle.definition_version_id not in schedules:
            schedules[cycle.definition_version_id] = _schedule(session, cycle.definition_version_id)
        label = _label(schedules[cycle.definition_version_id], slots.get(cycle.number) or cycle.started_at)
        if label is not None:
            periods[cycle.number] = label
    return periods


def cycle_period(session: Session, cycle: Cycle) -> str | None:
    """The period of one cycle (``None``: its definition has no schedule)."""
    return cycle_periods(session, cycle.process_id).get(cycle.number)


def with_period(number: Any, periods: Mapping[int, str]) -> str:
    """``3 (2026-05)``, or ``3`` for a cycle without a period."""
    period = periods.get(number) if isinstance(number, int) else None
    return f"{number} ({period})" if period else str(number)


def _label(schedule: Schedule | None, moment: datetime) -> str | None:
    try:
        return period_label(schedule, moment)
    except (ScheduleError, ValueError):  # a schedule that gives no run times: no period, never a failed review
        return None


def _scheduled_slots(session: Session, process_id: str) -> dict[int, datetime]:
    """Cycle number -> the slot its last start event says it was scheduled for."""
    slots: dict[int, datetime] = {}
    for number, payload in session.execute(select(AuditEvent.cycle_number, AuditEvent.payload).where(
            AuditEvent.process_id == process_id, AuditEvent.kind == "cycle.started").order_by(AuditEvent.seq)):
        slot = ((payload or {}).get("plan") or {}).get("scheduled_for")
        if number is not None and slot:
            slots[number] = datetime.fromisoformat(slot)
    return slots


def _schedule(session: Session, version_id: int) -> Schedule | None:
    from pdcaflow.engine.definition.loader import load_definition_text  # only when a stored YAML is read

    version = session.get(DefinitionVersion, version_id)
    if version is None:
        return None
    try:
        data = load_definition_text(version.yaml_text).data
        schedule = data.get("schedule") if isinstance(data, Mapping) else None
        return Schedule.model_validate(schedule) if isinstance(schedule, Mapping) else None
    except (PdcaError, ValidationError):  # an old version that no longer validates: its cycles get no period
        return None
