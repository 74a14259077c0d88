"""Prefect deployments of the entry flow ``pdcaflow.flows.cycle_flow:pdca_cycle``: one per process.

Shared by ``pdca serve`` (served deployments, the definition as a file path read at each
cycle) and ``pdca deploy`` (work-pool deployments, the definition's YAML text as a
parameter, so workers on other machines need no copy of the file).

The deployment is named after the process id; the entry point is the module path
``pdcaflow.flows.cycle_flow.pdca_cycle`` (any machine with pdcaflow installed can load it, no
source files are shipped); the schedule is the definition's: a cron in its timezone,
or an interval anchored at ``pdcaflow.engine.runtime.schedule.anchor`` so all servers agree on the slots.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval
from prefect.schedules import Schedule as PrefectSchedule
from prefect.states import Scheduled
from prefect.types.entrypoint import EntrypointType

from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.runtime.schedule import anchor, describe, interval_seconds
from pdcaflow.engine.definition.validate import ValidatedDefinition
from pdcaflow.flows.cycle_flow import pdca_cycle

SCHEDULER_ACTOR = "scheduler"
OVERDUE_LIMIT = 200  # the API's page limit


def prefect_schedule(schedule: Schedule) -> PrefectSchedule:
    """The Prefect schedule giving the same slots as ``pdcaflow.engine.runtime.schedule``."""
    if schedule.cron is not None:
        return Cron(schedule.cron, timezone=schedule.timezone)
    return Interval(timedelta(seconds=interval_seconds(schedule)), anchor_date=anchor(schedule), timezone="UTC")


def build_deployment(validated: ValidatedDefinition, parameters: dict[str, Any], *,
                     work_pool_name: str | None = None) -> RunnerDeployment:
    """A deployment of the entry flow for one process, scheduled as its definition says (if it says).

    No Prefect concurrency limit: runs start when due and the store serialises their cycles
    (``begin_cycle(wait=...)``). A deployment limit was tried: a run that a stopped runner
    or a dead worker left Pending keeps its slot until its lease expires (5 min), and after
    a restart of the local server (leases live in its memory) for good, so the process
    would never run again; waiting in the store costs a flow-run process instead.
    """
    definition = validated.definition
    schedule = definition.schedule
    # to_deployment is async-compatible: called from sync code it returns the deployment, not a coroutine.
    return pdca_cycle.to_deployment(  # type: ignore[return-value]
        name=definition.id,
        schedules=[prefect_schedule(schedule)] if schedule is not None else None,
        parameters={"actor": SCHEDULER_ACTOR, "trigger": "schedule", **parameters},
        description=f"{definition.title}: PDCA cycles" + (f", {describe(schedule)}" if schedule else ""),
        tags=["pdcaflow", f"owner:{definition.owner}"],
        version=validated.sha256[:12],
        work_pool_name=work_pool_name,
        entrypoint_type=EntrypointType.MODULE_PATH,
        enforce_parameter_schema=False,
    )


def delete_overdue_runs(deployment_ids: list[UUID]) -> int:
    """Delete the deployments' scheduled runs that are already due: runs nobody served in time.

    ``pdca serve`` does this before it applies the catch-up policy, so overdue runs left
    from a previous session do not run on top of it. Returns how many were deleted.
    """
    if not deployment_ids:
        return 0
    with get_client(sync_client=True) as client:
        overdue = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=deployment_ids)),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                # The field is typed with Prefect's own DateTime alias; pydantic validates a datetime into it.
                expected_start_time=FlowRunFilterExpectedStartTime(
                    before_=datetime.now(UTC))),  # type: ignore[arg-type]
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=OVERDUE_LIMIT, offset=0)  # this server rejects nulls
        for flow_run in overdue:
            client.delete_flow_run(flow_run.id)
    return len(overdue)


def submit_catch_up(deployment_id: UUID, slot_iso: str, name: str) -> None:
    """Queue a catch-up run of a deployment for a missed slot, to start now."""
    with get_client(sync_client=True) as client:
        client.create_flow_run_from_deployment(deployment_id, parameters={"scheduled_for": slot_iso},
                                               state=Scheduled(), name=name)
