"""The entry flow of one PDCA cycle, and how `pdca run` begins each of its cycles.

``pdca_cycle`` is the stable entry flow (``pdcaflow.flows.cycle_flow:pdca_cycle``, the
definition path as a parameter) that deployments point at; what it does is in
``pdcaflow.flows.scheduled``. A begun cycle runs as a flow through
``pdcaflow.flows.cycle_execution.run_prepared``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from pdcaflow.engine.definition.compile import ExecutionPlan
from pdcaflow.engine.runtime.cycle import CycleRun, begin_cycle
from pdcaflow.engine.store.db import Store
from pdcaflow.flows.cycle_execution import Observer, execute_cycle, run_prepared
from pdcaflow.flows.scheduled import run_entry
from pdcaflow.tasks.sdk.registry import registry

__all__ = ["Observer", "execute_cycle", "pdca_cycle", "prepare", "run_prepared"]


def prepare(plan: ExecutionPlan, store: Store, actor: str, trigger: str, *, reason: str | None = None,
            wait: float = 0.0) -> CycleRun:
    """Begin (or resume) the next cycle of a compiled plan in ``store``.

    A run validates and compiles its definition once and hands the plan to each cycle.
    ``reason`` is recorded on the cycle's start event; ``wait`` is how long to wait for
    another process's running cycle of the same process (see ``pdcaflow.engine.runtime.cycle.begin_cycle``).
    """
    return begin_cycle(plan, store, registry(), actor=actor, trigger=trigger, reason=reason, wait=wait)


# Prefect types task_runner as TaskRunner[PrefectFuture[Any]], invariant: no runner of its own fits
@flow(name="pdca-cycle", persist_result=False, log_prints=False, validate_parameters=False,
      task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def pdca_cycle(definition_path: str | None = None, db_url: str | None = None, actor: str = "prefect",
               trigger: str = "schedule", definition_text: str | None = None, scheduled_for: str | None = None,
               wait_seconds: float = 3600.0) -> dict[str, Any]:
    """Run one PDCA cycle of a definition (a file path, or its YAML text): the entry flow for deployments.

    Scheduled slots, triggers, refusals and catch-up runs: ``pdcaflow.flows.scheduled``.
    """
    return run_entry(definition_path=definition_path, definition_text=definition_text, db_url=db_url, actor=actor,
                     trigger=trigger, scheduled_for=scheduled_for, wait_seconds=wait_seconds)
