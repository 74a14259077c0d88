"""One PDCA cycle: start or resume it, run its steps in context, record every outcome, carry over.

The rule for failed and interrupted cycles (also in the README): the next run of
the same process **resumes** the latest cycle if it did not complete (a step
failed, or the process running it was killed), keeping the same cycle number
and the outputs of the steps that completed — those steps are not run again and
not recorded again. If the definition changed in between, the unfinished cycle
is closed as failed and a new cycle starts from the last completed carry-over.
A failed cycle never writes a carry-over. A cycle never starts from, or resumes, a row
its events do not vouch for (``pdcaflow.engine.store.lifecycle``).

Each step's outcome is recorded in its own transaction together with its audit
event; the KPI results go with the ``kpi.check`` step, the decisions and opened
actions with the ``improve.apply_policies`` step, and the carry-over with the
cycle's completion.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from pdcaflow.engine.runtime import approval_records as approvals
from pdcaflow.engine.runtime import signing as attest
from pdcaflow.engine.runtime.approval_gate import ApprovalSettings, open_request, propose
from pdcaflow.engine.definition.compile import ExecutionPlan, PlannedStep
from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.definition.evaluation import evaluate_condition, render_template
from pdcaflow.engine.definition.expressions import ExpressionError
from pdcaflow.engine.pdca.action_records import CarryOver
from pdcaflow.engine.runtime.schedule import period_label
from pdcaflow.engine.runtime.slots import check_slot, covered_until
from pdcaflow.engine.runtime.starting_values import declared_values, merge_params, starting_values
from pdcaflow.engine.runtime.step_runner import BeforeTask, StepError, call_task, kpi_actuals, render_value, should_run
from pdcaflow.engine.runtime import action_cycle
from pdcaflow.engine.store import repository as repo
from pdcaflow.engine.store.db import Store
from pdcaflow.engine.store.kpi_baselines import baseline_counts, kpi_baselines
from pdcaflow.engine.store.lifecycle import check_before_start
from pdcaflow.engine.store.tables import Cycle
from pdcaflow.tasks.sdk.registry import StepContext, TaskSpec

# Steps of a phase run on several threads, but every write appends to the one audit chain, so
# writes are serialised anyway. Queueing them here, instead of inside the database's lock
# (SQLite's busy handler sleeps in growing steps), took a 100-step cycle's recording from
# ~7.9 s of thread time to the cost of the commits themselves.
_WRITE_LOCK = threading.Lock()

KPI_CHECK = "kpi.check"
APPLY_POLICIES = "improve.apply_policies"


class CycleBusyError(PdcaError):
    """Another live process is running this process's cycle."""


class CycleFailedError(PdcaError):
    """A cycle stopped because a step failed; it is recorded as failed and the next run resumes it."""


@dataclass
class CycleRun:
    """The state of one cycle while it runs; built by :func:`begin_cycle`."""

    plan: ExecutionPlan
    store: Store
    tasks: Mapping[str, TaskSpec]
    actor: str
    trigger: str
    cycle_id: int
    number: int
    resumed: bool
    started_at: datetime
    params: dict[str, Any]
    targets: dict[str, dict[str, Any]]
    previous: dict[str, Any]
    history: dict[str, list[dict[str, Any]]]
    open_actions: list[dict[str, Any]]
    period: str | None = None  # the period its schedule gives it, e.g. 2026-05 (engine.runtime.schedule.period_label)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    baselines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # control: {baseline: N} values
    skipped: set[str] = field(default_factory=set)
    reused: set[str] = field(default_factory=set)
    approval_settings: ApprovalSettings = field(default_factory=ApprovalSettings)
    # runs a `uses: process:<id>` step (pdcaflow.flows.subprocess_step); params overrides -> outputs
    run_subprocess: Callable[[CycleRun, PlannedStep, dict[str, Any]], dict[str, Any]] | None = None
    before_task: BeforeTask | None = None  # the runner's hook before each task call (step_runner.BeforeTask)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ----- what expressions and tasks see -------------------------------------------------
    def expression_context(self) -> dict[str, Any]:
        definition = self.plan.definition
        with self._lock:
            steps = {name: dict(values) for name, values in self.outputs.items()}
        kpi_results = steps.get(self._kpi_step_id() or "", {}).get("results", {})
        return {
            "params": self.params,
            "steps": steps,
            "previous": self.previous,
            "kpis": kpi_results,
            "cycle": {"number": self.number, "started_at": self.started_at.isoformat(),
                      "trigger": self.trigger, "actor": self.actor, "period": self.period},
            "process": {"id": definition.id, "title": definition.title, "owner": definition.owner},
        }

    def _kpi_step_id(self) -> str | None:
        return next((step.id for step in self.plan.steps if step.uses == KPI_CHECK), None)

    def step_context(self, expression_context: Mapping[str, Any], step: PlannedStep) -> StepContext:
        definition = self.plan.definition
        kpi_specs: dict[str, dict[str, Any]] = {}
        conditions: dict[str, bool] = {}
        titles: dict[str, str] = {}
        policies: list[dict[str, Any]] = []
        if step.uses == KPI_CHECK:
            actuals = kpi_actuals(definition, expression_context["steps"])
            for kpi in definition.kpis:
                kpi_specs[kpi.id] = {
                    "unit": kpi.unit, "decimals": kpi.decimals, "direction": kpi.effective_direction,
                    "source": kpi.source,
                    "control": kpi.control.model_dump(mode="json") if kpi.control else None,
                    "target": self.targets[kpi.id], "actual": actuals[kpi.id],
                    "baseline_history": self.baselines.get(kpi.id)}
        if step.uses == APPLY_POLICIES:  # only ACT reads the policies: no dump on every other step
            conditions, titles = self._policy_inputs(step, expression_context)
            policies = action_cycle.policies_for_act(definition)
        return StepContext(
            process_id=definition.id, cycle=self.number, params=self.params, previous=self.previous,
            steps=expression_context["steps"], kpis=expression_context["kpis"], kpi_specs=kpi_specs,
            history=self.history, policies=policies,
            targets=self.targets, actions=self.open_actions, conditions=conditions, action_titles=titles,
            started_at=self.started_at.isoformat(), config=self.plan.config)

    def _policy_inputs(self, step: PlannedStep, context: Mapping[str, Any]) -> tuple[dict[str, bool], dict[str, str]]:
        conditions: dict[str, bool] = {}
        titles: dict[str, str] = {}
        for policy in self.plan.definition.policies:  # their expressions as the plan holds them, parsed
            try:
                if policy.id in self.plan.policy_conditions:
                    conditions[policy.id] = bool(evaluate_condition(self.plan.policy_conditions[policy.id], context))
                if policy.id in self.plan.action_titles:
                    titles[policy.id] = str(render_template(self.plan.action_titles[policy.id], context))
            except ExpressionError as exc:
                raise StepError(step.id, f"policy '{policy.id}': {exc.message}") from exc
        return conditions, titles

    # ----- running and recording steps ---------------------------------------------------
    def execute_step(self, step_id: str, attempt: int) -> dict[str, Any]:
        """Run one step (or reuse its recorded outputs) and record the outcome.

        Raises:
            StepError: the step failed; the failed attempt is recorded before this is raised.
        """
        step = self.plan.step(step_id)
        if step_id in self.reused:
            return self.outputs[step_id]
        started = datetime.now(UTC)
        context = self.expression_context()
        try:
            if not should_run(step, context):
                self._record(step, "skipped", attempt, started, {}, None)
                with self._lock:
                    self.skipped.add(step_id)
                return {}
            gated = step.definition.approval is not None
            if gated and open_request(self, step_id) is not None:
                return {}  # proposed before this cycle was suspended: pdcaflow.engine.runtime.approval_gate.settle decides it
            outputs = self._produce(step, context)
        except StepError as exc:
            self._record(step, "failed", attempt, started, None, str(exc))
            raise
        if gated:  # recorded once approved (pdcaflow.engine.runtime.approval_gate.settle)
            propose(self, step, outputs, self.approval_settings)
            return {}
        self._record(step, "completed", attempt, started, outputs, None)
        with self._lock:
            self.outputs[step_id] = outputs
        return outputs

    def _produce(self, step: PlannedStep, context: dict[str, Any]) -> dict[str, Any]:
        if not step.definition.is_subprocess:
            return call_task(step, self.tasks[step.uses], context, self.step_context(context, step), self.before_task)
        if self.run_subprocess is None:
            raise StepError(step.id, "sub-process steps (`uses: process:...`) run only inside a cycle flow")
        try:
            overrides = {key: render_value(value, context) for key, value in step.with_.items()}
        except ExpressionError as exc:
            raise StepError(step.id, f"`with:` expression failed: {exc.message}") from exc
        return self.run_subprocess(self, step, overrides)

    def finish_gated_step(self, step: PlannedStep, attempt: int, started: datetime,
                          outputs: dict[str, Any] | None, error: str | None) -> None:
        """Record an approval-gated step's outcome once its approval is decided."""
        self._record(step, "completed" if error is None else "failed", attempt, started, outputs, error)
        if error is None and outputs is not None:
            with self._lock:
                self.outputs[step.id] = outputs

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A store transaction queued behind this process's other cycle writes."""
        with _WRITE_LOCK, self.store.transaction() as session:
            yield session

    def _cycle_row(self, session: Session) -> Cycle:
        """This cycle's row, which begin_cycle wrote: a missing one is a malfunction, never a state to handle."""
        cycle = session.get(Cycle, self.cycle_id)
        if cycle is None:
            raise PdcaError(f"internal error: cycle row {self.cycle_id} of '{self.plan.process_id}' is missing")
        return cycle

    def _record(self, step: PlannedStep, status: str, attempt: int, started: datetime,
                outputs: dict[str, Any] | None, error: str | None) -> None:
        with _WRITE_LOCK, self.store.transaction() as session:
            cycle = self._cycle_row(session)
            repo.record_step(session, cycle, step.id, status, attempt, started, datetime.now(UTC), outputs, error,
                             self.actor)
            if status == "completed" and step.uses == KPI_CHECK and outputs is not None:
                repo.record_kpi_results(session, cycle, outputs.get("results", {}), self.actor)
            if status == "completed" and step.uses == APPLY_POLICIES and outputs is not None:
                decisions = self._with_evidence(outputs.get("decisions", []))
                repo.record_decisions(session, cycle, decisions, self.actor)
                repo.record_actions_opened(session, cycle, outputs.get("actions_opened", []), self.actor)
                action_cycle.record_act_updates(session, cycle, outputs.get("action_updates", []), self.actor)

    def _with_evidence(self, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each decision with the rule it tested and the KPI result it was tested on, for the audit event."""
        with self._lock:
            results = dict(self.outputs.get(self._kpi_step_id() or "", {}).get("results", {}))
        rules = {policy.id: policy.model_dump(mode="json", exclude_none=True, exclude={"id", "title"})
                 for policy in self.plan.definition.policies}
        enriched = []
        for decision in decisions:
            evidence: dict[str, Any] = {}
            if decision.get("policy") in rules:
                evidence["rule"] = rules[decision["policy"]]
            result = results.get(decision.get("kpi") or "")
            if result is not None:
                evidence["kpi_result"] = {key: result.get(key) for key in ("actual", "target", "status", "delta", "unit")}
            enriched.append({**decision, **evidence})
        return enriched

    def flow_run_id(self) -> str | None:
        """The Prefect flow run recorded for this cycle (a resumed cycle's: the one before)."""
        with self.store.read() as session:
            return self._cycle_row(session).flow_run_id

    def attach_flow_run(self, flow_run_id: str) -> None:
        """Record which Prefect flow run executes this cycle."""
        with self.store.transaction() as session:
            self._cycle_row(session).flow_run_id = flow_run_id

    # ----- ending the cycle -------------------------------------------------------------
    def carry_over(self) -> dict[str, Any]:
        """What the next cycle starts from: params, targets, KPI results, open actions, decisions."""
        apply_id = next((s.id for s in self.plan.steps if s.uses == APPLY_POLICIES), None)
        applied = self.outputs.get(apply_id or "", {})
        kpi_results = self.outputs.get(self._kpi_step_id() or "", {}).get("results", {})
        opened = list(applied.get("actions_opened", []))
        return CarryOver(
            cycle=self.number,
            params=applied.get("params", self.params),
            targets=applied.get("targets", self.targets),
            kpis=kpi_results,
            decisions=applied.get("decisions", ()),
            actions=tuple(action_cycle.carried_actions(self.open_actions, opened, applied.get("action_updates", []))),
        ).to_json()

    def complete(self) -> dict[str, Any]:
        """Record the completion and carry-over, then sign a checkpoint (AttestError if it cannot)."""
        carry_over = self.carry_over()
        with self.store.transaction() as session:
            repo.complete_cycle(session, self._cycle_row(session), carry_over, self.actor)
        attest.checkpoint_after_cycle(self.store, self.plan.config)
        return carry_over

    def fail(self, error: str) -> None:
        """Record the failure; then sign a checkpoint (a problem with it is reported, the failure stays the error)."""
        with self.store.transaction() as session:
            repo.fail_cycle(session, self._cycle_row(session), error, self.actor)
        try:
            attest.checkpoint_after_cycle(self.store, self.plan.config)
        except PdcaError as exc:
            attest.notice_to_stderr(str(exc))


BUSY_POLL_SECONDS = 0.5


def begin_cycle(plan: ExecutionPlan, store: Store, tasks: Mapping[str, TaskSpec], *, actor: str,
                trigger: str = "manual", reason: str | None = None, wait: float = 0.0,
                scheduled_for: datetime | None = None, params: Mapping[str, Any] | None = None) -> CycleRun:
    """Start the process's next cycle, or resume its unfinished one (see the module docstring).

    Args:
        reason: why a person started it (recorded on ``cycle.started`` / ``cycle.resumed``);
            the CLI requires one for every run started by hand.
        wait: seconds to wait, polling, while another live process runs this process's
            cycle, before giving up with :class:`CycleBusyError` (0: give up at once).
        scheduled_for: the schedule slot a scheduled run is for; recorded on the cycle, and
            :class:`pdcaflow.engine.runtime.slots.SlotTakenError` when a cycle already covers it (``pdcaflow.engine.runtime.slots``).
        params: values that override the cycle's starting params (a sub-process step's ``with:``).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return _begin_once(plan, store, tasks, actor=actor, trigger=trigger, reason=reason,
                               scheduled_for=scheduled_for, overrides=params)
        except CycleBusyError as exc:
            if time.monotonic() >= deadline:
                hint = (f"it was still running after waiting {wait:g} s" if wait > 0
                        else "wait for it (pdca run --wait SECONDS) or stop it")
                raise CycleBusyError(f"{exc}; {hint}") from None
            time.sleep(min(BUSY_POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))


def _begin_once(plan: ExecutionPlan, store: Store, tasks: Mapping[str, TaskSpec], *, actor: str,
                trigger: str, reason: str | None, scheduled_for: datetime | None = None,
                overrides: Mapping[str, Any] | None = None) -> CycleRun:
    host, pid = socket.gethostname(), os.getpid()
    definition = plan.definition
    with store.transaction() as session:
        check_before_start(session, plan.process_id)  # the rows below must say what their events say
        version = repo.record_definition_version(session, plan.process_id, plan.yaml_text, plan.sha256, actor)
        last = repo.latest_cycle(session, plan.process_id)
        carry = repo.latest_carry_over(session, plan.process_id) or {}
        # a value edited in the YAML since the carrying cycle wins over the carried one
        declared_before = declared_values(repo.definition_text_of_cycle(session, plan.process_id, carry.get("cycle")))
        params, targets = starting_values(definition, carry, declared_before)
        manual = action_cycle.apply_overrides(session, plan.process_id, params, targets)
        params = merge_params(params, overrides or {})
        inputs = {"params": params, "targets": targets, "carried_from_cycle": carry.get("cycle"),
                  **({"overrides": manual} if manual else {})}
        if scheduled_for is not None:  # one cycle per slot, decided under the head lock
            check_slot(session, last, scheduled_for)
            inputs["scheduled_for"] = scheduled_for.isoformat()
        resumed = False
        reused: dict[str, dict[str, Any]] = {}
        if last is not None and last.status != "completed":
            if (last.status == "running" and _owner_alive(last.owner_host, last.owner_pid, host, pid)
                    and not approvals.is_suspended(session, plan.process_id, last.number)):
                raise CycleBusyError(f"cycle {last.number} of '{plan.process_id}' is running in process "
                                     f"{last.owner_pid} on {last.owner_host} (started "
                                     f"{last.started_at:%Y-%m-%d %H:%M:%S} UTC by {last.actor})")
            if last.definition_version_id == version.id:
                repo.mark_cycle_resumed(session, last, actor, host, pid, reason=reason, plan_inputs=inputs)
                cycle, resumed = last, True
                reused = repo.completed_steps(session, last)
            else:
                if last.status == "running":
                    repo.fail_cycle(session, last, "interrupted; the definition changed before it was resumed", actor)
                cycle = repo.start_cycle(session, plan.process_id, version, trigger, actor, host, pid,
                                         reason=reason, plan_inputs=inputs)
        else:
            cycle = repo.start_cycle(session, plan.process_id, version, trigger, actor, host, pid,
                                     reason=reason, plan_inputs=inputs)
        history = repo.kpi_history(session, plan.process_id, limit=100)
        baselines = kpi_baselines(session, plan.process_id, baseline_counts(definition.kpis))
        open_actions = action_cycle.follow_up_actions(session, plan.process_id)
        cycle_id, number, started_at = cycle.id, cycle.number, cycle.started_at
        covers = covered_until(session, cycle) if resumed else scheduled_for or started_at
    run = CycleRun(plan=plan, store=store, tasks=tasks, actor=actor, trigger=trigger, cycle_id=cycle_id,
                   number=number, resumed=resumed, started_at=started_at, params=params, targets=targets,
                   previous=carry, history=history, open_actions=open_actions, baselines=baselines,
                   period=period_label(definition.schedule, covers))
    run.outputs.update(reused)
    run.reused.update(reused)
    return run


def _owner_alive(owner_host: str | None, owner_pid: int | None, host: str, pid: int) -> bool:
    """Whether the process that started a running cycle still exists (only knowable on the same host)."""
    if owner_pid is None or owner_host != host:
        return owner_host is not None and owner_host != host  # another machine: assume it is alive
    if owner_pid == pid:
        return False
    try:
        os.kill(owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
