"""What the entry flow ``pdca_cycle`` does when a schedule, a worker or a person starts it through Prefect.

The definition is read at each cycle: from ``definition_path`` (``pdca serve``: the
file on this machine, so an edited file is picked up at the next cycle and recorded
as a new definition version) or from ``definition_text`` (``pdca deploy``: the YAML
travels in the deployment's parameters, so a worker on another machine needs no
copy of the file; the text is recorded like any definition version).

Who started it decides the trigger and the recorded reason:

- a run Prefect's scheduler created (``auto_scheduled``), or a catch-up run that
  ``pdca serve`` created (``scheduled_for`` given): trigger ``schedule``, the slot is
  the run's expected start time (or ``scheduled_for``), the reason
  ``scheduled: <schedule> at <slot>``; a slot that a recorded cycle already covers
  is skipped (``pdcaflow.engine.runtime.slots``), so racing schedulers run it once; a run Prefect
  started more than ``LATE_GRACE_SECONDS`` late, when the schedule's next slot has
  passed too, is skipped, unless ``catchup: all`` (runs left for a worker that was
  down, or queued behind slow cycles, collapse to the latest due slot; the grace
  keeps short intervals on a busy machine from skipping every run);
- a run of a deployment started by hand (``prefect deployment run``, the UI):
  trigger ``manual``, reason ``run from Prefect deployment ...``;
- a direct call (tests, scripts): the ``trigger`` parameter, no slot.

A definition that does not validate refuses the cycle: the diagnostics are logged on
the flow run (which fails) and recorded as a ``cycle.refused`` audit event (once per
file content, not at every slot), so a served process that became invalid is visible
in ``pdca audit`` while the other processes keep being served.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.context import get_run_context
from prefect.runtime import deployment as current_deployment
from sqlalchemy import select

from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.loader import load_definition_text
from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.definition.diagnostic_text import render_text
from pdcaflow.engine.runtime.schedule import next_times, scheduled_reason
from pdcaflow.engine.runtime.slots import SlotTakenError
from pdcaflow.engine.store.audit import append_event
from pdcaflow.engine.store.db import Store, open_store, resolve_url
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.engine.definition.validate import ValidatedDefinition, validate_document, validate_file
from pdcaflow.flows.cycle_execution import execute_cycle, name_flow_run
from pdcaflow.tasks.sdk.project_root import definition_root, folder_root
from pdcaflow.tasks.sdk.registry import registry

LATE_GRACE_SECONDS = 300.0
MAX_EARLY_SECONDS = 60.0  # a runner prefetches runs 10 s ahead by default


def run_entry(*, definition_path: str | None, definition_text: str | None, db_url: str | None, actor: str,
              trigger: str, scheduled_for: str | None, wait_seconds: float) -> dict[str, Any]:
    """Run one cycle for the entry flow (see the module docstring); the flow's return value."""
    if (definition_path is None) == (definition_text is None):
        raise ValueError("pdca_cycle needs exactly one of definition_path or definition_text")
    logger = get_run_logger()
    flow_run = getattr(get_run_context(), "flow_run", None)
    slot, trigger, reason = _who_started(flow_run, trigger, scheduled_for)
    # serve passes the store's URL; without one, the definition's project root (text: the working folder's)
    root = definition_root(Path(definition_path)) if definition_path is not None else folder_root()
    store = open_store(resolve_url(db_url, root))
    try:
        try:
            validated = _validated(definition_path, definition_text)
        except DefinitionError as exc:
            message = render_text(exc.diagnostics, context=False)
            logger.error("cycle refused: the definition does not validate:\n%s", message)
            _record_refusal(store, definition_path, definition_text, actor, message)
            raise
        schedule = validated.definition.schedule
        superseded = _superseded(schedule, slot) if slot is not None and scheduled_for is None else None
        if superseded:
            logger.info("%s", superseded)
            return {"process": validated.definition.id, "skipped": superseded}
        _wait_for_slot(slot, logger)
        if slot is not None and reason is None:
            reason = (scheduled_reason(schedule, slot, catching_up=scheduled_for is not None) if schedule
                      else f"scheduled at {slot.astimezone(UTC).isoformat(timespec='seconds')}")
        try:
            cycle_run = begin_cycle(compile_plan(validated), store, registry(), actor=actor, trigger=trigger,
                                    reason=reason, wait=wait_seconds, scheduled_for=slot)
        except SlotTakenError as exc:
            logger.info("%s", exc)
            return {"process": validated.definition.id, "skipped": str(exc)}
        name_flow_run(cycle_run)
        return execute_cycle(cycle_run)
    finally:
        store.dispose()


def _who_started(flow_run: Any, trigger: str, scheduled_for: str | None) -> tuple[datetime | None, str, str | None]:
    """(slot, trigger, reason) for this run: see the module docstring."""
    if scheduled_for:
        return _aware(datetime.fromisoformat(scheduled_for)), "schedule", None
    if flow_run is None:
        return None, trigger, None
    if getattr(flow_run, "auto_scheduled", False):
        expected = flow_run.expected_start_time or flow_run.next_scheduled_start_time
        return _aware(expected), "schedule", None
    if getattr(flow_run, "deployment_id", None):
        name = current_deployment.name or str(flow_run.deployment_id)
        return None, "manual", f"run from Prefect deployment '{name}' (flow run '{flow_run.name}')"
    return None, trigger, None


def _superseded(schedule: Schedule | None, slot: datetime, now: datetime | None = None) -> str | None:
    """Why a late run of Prefect's scheduler is skipped (see the module docstring), or ``None``."""
    if schedule is None or schedule.catchup == "all":
        return None
    now = now or datetime.now(UTC)
    following = next_times(schedule, slot, 1)[0]
    if following > now or (now - slot).total_seconds() <= LATE_GRACE_SECONDS:
        return None
    return (f"skipped the run for {slot.astimezone(UTC).isoformat(timespec='seconds')}: it started "
            f"{(now - slot).total_seconds():.0f} s late, after the next slot "
            f"({following.astimezone(UTC).isoformat(timespec='seconds')}) had passed "
            f"(catchup {schedule.catchup}: only the latest due slot runs)")


def _wait_for_slot(slot: datetime | None, logger: Any) -> None:
    """A run Prefect handed over before its slot (runners prefetch runs) starts its cycle at the slot."""
    if slot is None:
        return
    early = (slot - datetime.now(UTC)).total_seconds()
    if early > 0:
        logger.info("waiting %.1f s for the slot %s", early, slot.astimezone(UTC).isoformat(timespec="seconds"))
        time.sleep(min(early, MAX_EARLY_SECONDS))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _validated(definition_path: str | None, definition_text: str | None) -> ValidatedDefinition:
    if definition_path is not None:
        return validate_file(definition_path)
    name = f"<deployment {current_deployment.name or 'definition'}>"
    return validate_document(load_definition_text(definition_text or "", path=name))


def _record_refusal(store: Store, definition_path: str | None, definition_text: str | None, actor: str,
                    message: str) -> None:
    """A ``cycle.refused`` event: which definition, its hash, and the diagnostics (once per file content)."""
    text = definition_text
    if text is None and definition_path is not None:
        try:
            text = Path(definition_path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
    process_id = current_deployment.name or Path(definition_path or "definition").stem
    sha256 = hashlib.sha256((text or "").encode("utf-8")).hexdigest()
    with store.transaction() as session:
        last = session.scalars(select(AuditEvent.payload).where(
            AuditEvent.kind == "cycle.refused", AuditEvent.process_id == process_id)
            .order_by(AuditEvent.seq.desc()).limit(1)).first()
        if last is not None and last.get("sha256") == sha256:
            return  # the same broken file, refused again at the next slot: logged, not recorded again
        append_event(session, kind="cycle.refused", actor=actor, process_id=process_id,
                     reason="the definition does not validate", payload={
                         "definition_path": definition_path, "sha256": sha256, "diagnostics": message})
