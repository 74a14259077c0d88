"""One cycle per scheduled slot: a scheduled run whose slot a cycle already covers is skipped.

Several schedulers may fire for the same slot (two ``pdca serve`` processes on one
store, a Prefect run that was late, a catch-up run): the store decides, inside the
transaction that would start the cycle (after the audit head lock, so two racing
runs see each other). A cycle started for a slot records it on its ``cycle.started``
event (``payload.plan.scheduled_for``); a cycle started by hand counts for the
moment it started. A scheduled run for slot T is skipped when the process's latest
cycle covers T or a later moment.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.store.tables import AuditEvent, Cycle


class SlotTakenError(PdcaError):
    """The scheduled slot is already covered by a recorded cycle; this run is skipped."""


def covered_until(session: Session, cycle: Cycle) -> datetime:
    """The moment ``cycle`` covers: the slot it was scheduled for, else when it started."""
    payload = session.scalars(select(AuditEvent.payload).where(
        AuditEvent.kind == "cycle.started", AuditEvent.process_id == cycle.process_id,
        AuditEvent.cycle_number == cycle.number).order_by(AuditEvent.seq.desc()).limit(1)).first()
    slot = ((payload or {}).get("plan") or {}).get("scheduled_for")
    return datetime.fromisoformat(slot) if slot else cycle.started_at


def check_slot(session: Session, last: Cycle | None, slot: datetime) -> None:
    """Raise :class:`SlotTakenError` when the latest cycle ``last`` already covers ``slot``."""
    if last is None:
        return
    covered = covered_until(session, last)
    if covered >= slot:
        raise SlotTakenError(
            f"'{last.process_id}' cycle {last.number} already covers the slot "
            f"{slot.astimezone(UTC).isoformat(timespec='seconds')} "
            f"(it covers {covered.astimezone(UTC).isoformat(timespec='seconds')}); this scheduled run is skipped")
