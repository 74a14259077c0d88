"""Run a ``uses: process:<id>`` step: the child definition's cycle as a Prefect subflow inside the step.

The child is found beside the parent's definition file (as validation finds it), begun
in the same store with the step's ``with:`` values as param overrides, and run by
``pdcaflow.flows.cycle_flow.run_prepared``; called from the parent step's task run, Prefect
records it as a subflow of that task run. Its results roll up into the step's outputs
(``pdcaflow.engine.definition.subprocesses.rollup``). A loop (a process running itself, directly or through
others) is refused here too, should a definition slip past validation.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pdcaflow.engine.definition.compile import ExecutionPlan, PlannedStep, compile_plan
from pdcaflow.engine.runtime.cycle import CycleBusyError, CycleFailedError, CycleRun, begin_cycle
from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.runtime.step_runner import StepError
from pdcaflow.engine.definition.subprocesses import find_definition, rollup
from pdcaflow.engine.definition.validate import validate_file

_RUNNING: ContextVar[tuple[str, ...]] = ContextVar("pdca_subprocess_stack", default=())


def run_subprocess(parent: CycleRun, step: PlannedStep, overrides: dict[str, Any], *,
                   runner: Callable[[CycleRun], dict[str, Any]], plans: dict[Path, ExecutionPlan]) -> dict[str, Any]:
    """Run the child process's next cycle (or resume its unfinished one) and roll its results up.

    ``runner`` runs a begun cycle as a flow (``pdcaflow.flows.cycle_execution.run_prepared``);
    ``plans`` holds the children's plans of this run: each child definition is validated and
    compiled once per run, not at every cycle of its parent.

    Raises:
        StepError: the child is not found or not valid, it is busy elsewhere, it failed,
            or it would run inside itself.
        ApprovalPending: a gate inside the child waits; the parent is suspended with it.
    """
    child_id = step.uses.removeprefix("process:")
    stack = _RUNNING.get() or (parent.plan.process_id,)
    if child_id in stack:
        raise StepError(step.id, f"sub-process '{child_id}' would run inside itself ({' -> '.join(stack)} -> "
                        f"{child_id})")
    path = find_definition(child_id, Path(parent.plan.source_path))
    if path is None:
        raise StepError(step.id, f"sub-process '{child_id}' not found beside {parent.plan.source_path}")
    try:
        plan = plans[path] if path in plans else plans.setdefault(path, compile_plan(validate_file(path)))
        child = begin_cycle(plan, parent.store, parent.tasks, actor=parent.actor, trigger=parent.trigger,
                            reason=f"sub-process of {parent.plan.process_id} cycle {parent.number}, step {step.id}",
                            params=overrides)
    except DefinitionError as exc:
        raise StepError(step.id, f"sub-process '{child_id}' ({path}) is not valid: {exc}") from exc
    except CycleBusyError as exc:
        raise StepError(step.id, f"sub-process '{child_id}': {exc}", retryable=True) from exc
    child.approval_settings = parent.approval_settings
    child.before_task = parent.before_task
    child.run_subprocess = parent.run_subprocess  # grandchildren share the run's plans
    token = _RUNNING.set((*stack, child_id))
    try:
        summary = runner(child)
    except CycleFailedError as exc:
        raise StepError(step.id, f"sub-process '{child_id}' {exc}", retryable=True) from exc
    finally:
        _RUNNING.reset(token)
    return rollup(summary)
