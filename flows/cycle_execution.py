"""One begun cycle run as a Prefect flow: each step a task run, recorded by the engine's wrapper.

Each step of the plan becomes a Prefect task run of the one module-level ``run_step``
task, specialised per step with ``with_options`` (name = step id, the definition's
retries, retry delay and timeout) and never cached (``NO_CACHE``: every step must
really run). Independent steps of a phase run concurrently on the thread-pool task
runner; phases run strictly in order. Recording happens in the engine's wrapper
(``CycleRun.execute_step``), never in task code.

What a task run needs of its cycle travels with it: a ``CycleFlowRun`` (the begun
cycle and who watches its steps) is each task run's first argument, wrapped in
Prefect's ``quote`` so Prefect hands it over as it is; there is no registry of
running cycles. The entry flow for deployments is ``pdcaflow.flows.cycle_flow.pdca_cycle``.
"""

from __future__ import annotations

import concurrent.futures
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.context import get_run_context
from prefect.exceptions import Pause
from prefect.futures import PrefectFuture
from prefect.runtime import task_run as current_task_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from pdcaflow.engine.runtime.approval_gate import ApprovalPending, record_suspension, settle
from pdcaflow.engine.definition.compile import ExecutionPlan, PlannedStep
from pdcaflow.engine.runtime.cycle import CycleFailedError, CycleRun
from pdcaflow.engine.review.cycle_report import cycle_summary, decisions_markdown, kpi_rows
from pdcaflow.engine.review.kpi_labels import labels_of
from pdcaflow.engine.runtime.step_runner import StepError
from pdcaflow.flows.approval_wait import FlowRunPause, close_superseded, pending_from, suspension
from pdcaflow.flows.subprocess_step import run_subprocess
from pdcaflow.tasks.sdk.display import human_duration

Observer = Callable[[str, str, str], None]  # (step id, status, detail)
SubprocessRunner = Callable[[CycleRun, PlannedStep, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class CycleFlowRun:
    """One cycle as its flow runs it: what every task run of the flow is handed.

    Attributes:
        cycle_run: the begun (or resumed) cycle.
        observer: told when each step starts and ends (the CLI's live view), or None.
    """

    cycle_run: CycleRun
    observer: Observer | None = None


@task(cache_policy=NO_CACHE, persist_result=False, log_prints=False)
def run_step(run: CycleFlowRun, step_id: str) -> dict[str, Any]:
    """Run one step of the cycle ``run`` through the engine's recording wrapper."""
    cycle_run, observer = run.cycle_run, run.observer
    attempt = current_task_run.get_run_count() or 1
    if observer:
        observer(step_id, "running", f"attempt {attempt}" if attempt > 1 else "")
    try:
        outputs = cycle_run.execute_step(step_id, attempt)
    except StepError as exc:
        if observer:
            observer(step_id, *_failure_status(cycle_run.plan.step(step_id), attempt, exc))
        raise
    if observer:
        observer(step_id, "skipped" if step_id in cycle_run.skipped else "completed", "")
    return outputs


@task(cache_policy=NO_CACHE, persist_result=False, log_prints=False)
def settle_approval(run: CycleFlowRun, step_id: str) -> dict[str, Any]:
    """Wait for the approval of a gated step's outputs (the flow run is Paused meanwhile); record the outcome."""
    cycle_run, observer = run.cycle_run, run.observer
    if observer:
        observer(step_id, "waiting", "for approval")
    try:
        outputs = settle(cycle_run, cycle_run.plan.step(step_id), cycle_run.approval_settings, FlowRunPause())
    except (StepError, ApprovalPending) as exc:
        if observer:
            observer(step_id, "failed" if isinstance(exc, StepError) else "waiting", "suspended: waits for approval")
        raise
    if observer:
        observer(step_id, "completed", "approved")
    return outputs


def _gate_task(step_id: str) -> Any:
    return settle_approval.with_options(name=f"{step_id}-approval", task_run_name=f"{step_id}-approval",
                                        retries=0, retry_condition_fn=_worth_retrying)


def _failure_status(step: PlannedStep, attempt: int, error: StepError) -> tuple[str, str]:
    """``("retrying", when and why)`` when Prefect will run the step again (see ``_worth_retrying``), else
    ``("failed", why)``: a long ``retry_delay`` is never a silent wait."""
    if not error.retryable or attempt > step.retries:
        return "failed", str(error)
    total = step.retries + 1
    at = datetime.now().astimezone() + timedelta(seconds=step.retry_delay_seconds)
    why = str(error).removeprefix(f"step '{step.id}': ")
    return "retrying", (f"step '{step.id}' failed (attempt {attempt} of {total}): {why}; "
                        f"retrying at {at:%H:%M:%S} (in {human_duration(step.retry_delay_seconds)}), "
                        f"attempt {attempt + 1} of {total}")


def _worth_retrying(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry unless the engine said another attempt cannot help."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:  # the state carries no readable result: let Prefect's retry policy decide
        return True
    return not (isinstance(error, ApprovalPending) or (isinstance(error, StepError) and not error.retryable))


def _step_task(plan: ExecutionPlan, step_id: str) -> Any:
    step = plan.step(step_id)
    return run_step.with_options(
        name=step.id, task_run_name=step.id, retries=step.retries,
        retry_delay_seconds=step.retry_delay_seconds, timeout_seconds=step.timeout_seconds,
        retry_condition_fn=_worth_retrying,
    )


def execute_cycle(cycle_run: CycleRun, observer: Observer | None = None) -> dict[str, Any]:
    """Run every phase of a begun cycle in order; complete it, or record it failed and raise."""
    plan = cycle_run.plan
    run = quote(CycleFlowRun(cycle_run, observer))  # handed to each task run as it is (Prefect does not look inside)
    if cycle_run.run_subprocess is None:  # a run of more cycles sets it once for all of them (flows.runner)
        cycle_run.run_subprocess = subprocess_runner(observer, {})
    try:
        for phase in plan.phases:
            pending = [step for step in phase.steps if step.id not in cycle_run.reused]
            for step in phase.steps:
                if step.id in cycle_run.reused and observer:
                    observer(step.id, "completed", "reused from the interrupted run")
            if _is_chain(pending):
                _run_in_order(plan, run, pending)
                continue
            futures: dict[str, PrefectFuture[Any]] = {}
            done: dict[str, PrefectFuture[Any]] = {}  # what a step's dependents wait for (its approval, if gated)
            for step in pending:
                wait_for = [done[name] for name in step.waits_for if name in done]
                futures[step.id] = done[step.id] = _step_task(plan, step.id).submit(run, step.id, wait_for=wait_for)
                if step.definition.approval is not None:
                    futures[f"{step.id} (approval)"] = done[step.id] = _gate_task(step.id).submit(
                        run, step.id, wait_for=[futures[step.id]])
            _raise_first_failure(futures)
    except ApprovalPending as exc:
        if (exc.request.process_id, exc.request.cycle) != (plan.process_id, cycle_run.number):
            record_suspension(cycle_run, exc.request, 0.0)  # a sub-process waits: so does this cycle
        raise suspension(exc) from exc
    except (StepError, CycleFailedError) as exc:
        cycle_run.fail(str(exc))
        raise CycleFailedError(f"cycle {cycle_run.number} of '{plan.process_id}' failed: {exc}") from exc
    carry_over = cycle_run.complete()
    _publish_artifacts(cycle_run, carry_over)
    return cycle_summary(plan.process_id, cycle_run.number, cycle_run.resumed, carry_over, labels_of(plan.definition),
                         cycle_run.period)


def subprocess_runner(observer: Observer | None, plans: dict[Path, ExecutionPlan]) -> SubprocessRunner:
    """How a cycle runs its ``uses: process:<id>`` steps: the child as a flow watched by ``observer``, its
    plan taken from ``plans`` (the run's children's plans, compiled once per run)."""
    return functools.partial(run_subprocess, runner=functools.partial(run_prepared, observer=observer), plans=plans)


def _is_chain(steps: list[PlannedStep]) -> bool:
    """Whether each step waits for the one before it (nothing could run at the same time)."""
    return all(previous.id in step.waits_for for previous, step in zip(steps, steps[1:], strict=False))


# Prefect's quote is generic, but mypy does not see its type variable (typing_extensions, infer_variance)
def _run_in_order(plan: ExecutionPlan, run: quote[CycleFlowRun],  # type: ignore[type-arg]
                  steps: list[PlannedStep]) -> None:
    """Run a chain of steps as task runs called directly: no thread hand-off where there is no concurrency."""
    for index, step in enumerate(steps):
        state = _step_task(plan, step.id)(run, step.id, return_state=True)
        if state.is_completed() and step.definition.approval is not None:
            state = _gate_task(step.id)(run, step.id, return_state=True)
        if not state.is_completed():
            try:
                state.result(raise_on_failure=True)
            except ApprovalPending:
                raise
            except StepError as exc:
                not_run = [later.id for later in steps[index + 1:]]
                raise CycleFailedError(str(exc) + (f" (not run: {', '.join(not_run)})" if not_run else "")) from exc
            except Exception as exc:  # a timeout or a crash
                raise CycleFailedError(f"step '{step.id}': {state.name}: {exc}") from exc


def _wait_interruptibly(future: PrefectFuture[Any]) -> None:
    """Wait for a step in short slices, so that Ctrl-C or SIGTERM reach the main thread promptly."""
    wrapped = getattr(future, "wrapped_future", None)
    if not isinstance(wrapped, concurrent.futures.Future):
        future.wait()
        return
    while not wrapped.done():
        concurrent.futures.wait([wrapped], timeout=0.25)
    future.wait()


def _raise_first_failure(futures: Mapping[str, PrefectFuture[Any]]) -> None:
    """Raise one error naming every failed step of the phase (and, briefly, the steps that never ran)."""
    failures: list[str] = []
    not_run: list[str] = []
    waiting: ApprovalPending | None = None
    for step_id, future in futures.items():
        _wait_interruptibly(future)
        state = future.state
        if state.is_completed():
            continue
        if not state.is_final():  # held back because a step it waits for failed
            not_run.append(step_id)
            continue
        try:
            future.result(raise_on_failure=True)
        except ApprovalPending as exc:
            waiting = exc
        except StepError as exc:
            failures.append(str(exc))
        except Exception as exc:  # a timeout or a crash
            failures.append(f"step '{step_id}': {state.name}: {exc}")
    if waiting is not None and not failures:
        raise waiting
    if failures or not_run:
        message = "; ".join(failures) or "steps were not run"
        if not_run:
            message += f" (not run: {', '.join(not_run)})"
        raise CycleFailedError(message)


def _publish_artifacts(cycle_run: CycleRun, carry_over: Mapping[str, Any]) -> None:
    """KPI table and decisions on the flow run, for users of the Prefect UI."""
    key = f"{cycle_run.plan.process_id}-kpis".lower().replace("_", "-")
    create_table_artifact(table=kpi_rows(carry_over, labels_of(cycle_run.plan.definition)), key=key,
                          description=f"KPIs of {cycle_run.plan.process_id} cycle {cycle_run.number}")
    create_markdown_artifact(markdown=decisions_markdown(carry_over), key=key.replace("-kpis", "-decisions"),
                             description=f"Decisions of {cycle_run.plan.process_id} cycle {cycle_run.number}")


def name_flow_run(cycle_run: CycleRun) -> None:
    context = get_run_context()
    flow_run = getattr(context, "flow_run", None)
    if flow_run is None:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, name=f"{cycle_run.plan.process_id}-cycle-{cycle_run.number}")
    cycle_run.attach_flow_run(str(flow_run.id))


def run_prepared(cycle_run: CycleRun, observer: Observer | None = None) -> dict[str, Any]:
    """Run a begun cycle as a flow named after the process and cycle; ``observer`` watches its steps."""
    def cycle_flow() -> dict[str, Any]:
        return _in_flow(cycle_run, observer)

    named = flow(name=cycle_run.plan.process_id,
                 flow_run_name=f"{cycle_run.plan.process_id}-cycle-{cycle_run.number}", persist_result=False,
                 log_prints=False, validate_parameters=False,
                 # Prefect types task_runner as TaskRunner[PrefectFuture[Any]], invariant: no runner of its own fits
                 task_runner=ThreadPoolTaskRunner(max_workers=4))(cycle_flow)  # type: ignore[arg-type]
    try:
        return named()
    except Pause as exc:  # the flow ended Paused: a gate waits (pdcaflow.flows.approval_wait.suspension)
        raise (pending_from(exc) or exc) from None


def _in_flow(cycle_run: CycleRun, observer: Observer | None) -> dict[str, Any]:
    flow_run = getattr(get_run_context(), "flow_run", None)
    if flow_run is not None:
        if cycle_run.resumed:  # a suspended cycle's Paused run is superseded by this one
            close_superseded(cycle_run.flow_run_id(), str(flow_run.id))
        cycle_run.attach_flow_run(str(flow_run.id))
    return execute_cycle(cycle_run, observer)
