"""The approval gate of a running cycle: propose a step's outputs, wait for the answer, record the outcome.

What an approval approves: the step's **outputs** (e.g. ``set_strategy``'s allocation).
The step's task runs first; its outputs are proposed in ``approval.requested`` and are
recorded as the step's outputs (``step.completed``) only once every level approved them.
A rejection (or a timeout with ``on_timeout: reject``) records the step as failed with the
rejection as its error, so the cycle fails; the next run resumes the cycle, runs the step
again and asks again.

How long a process waits: ``ApprovalSettings.wait`` seconds (``pdca run --approval-wait``),
never past the gate's deadline. Past that, the gate raises :class:`ApprovalPending`: the
cycle is *suspended* (``cycle.suspended``; its completed steps stay recorded) and the
process ends. Once answered, the next run of the process resumes the cycle and finds the
answer: the proposal is not computed again.

Plain Python: ``pdcaflow.flows.approval_wait`` passes hooks that pause and resume the Prefect flow run.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pdcaflow.engine.definition.compile import ExecutionPlan, PlannedStep
from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.runtime import approval_records as approvals
from pdcaflow.engine.runtime.step_runner import StepError
from pdcaflow.engine.store.audit import append_event, lock_head, utc_now
from pdcaflow.engine.store.db import Store

POLL_SECONDS = 0.5


class ApprovalPending(PdcaError):
    """A cycle stopped to wait for an approval (suspended); the next run resumes it once it is answered."""

    def __init__(self, request: approvals.ApprovalRequest) -> None:
        super().__init__(
            f"cycle {request.cycle} of '{request.process_id}' waits for the approval of step '{request.step_id}': "
            f"{request.describe()}")
        self.request = request


@dataclass(frozen=True)
class ApprovalSettings:
    """How a run treats approval gates.

    Attributes:
        wait: seconds this process waits for an answer before suspending the cycle (0: at once).
        auto_answer: ``(actor, reason)`` that approves every level at once, recorded as that
            actor (``pdca demo`` runs unattended this way); None for real approvals.
    """

    wait: float = 0.0
    auto_answer: tuple[str, str] | None = None


class CycleRun(Protocol):
    """What a gate needs of the cycle it holds up (``pdcaflow.engine.runtime.cycle.CycleRun``, which imports this)."""

    plan: ExecutionPlan
    store: Store
    number: int
    actor: str
    skipped: set[str]

    def write(self) -> AbstractContextManager[Any]:
        """A store transaction queued behind the process's other cycle writes."""

    def finish_gated_step(self, step: PlannedStep, attempt: int, started: datetime,
                          outputs: dict[str, Any] | None, error: str | None) -> None:
        """Record the gated step's outcome once its approval is decided."""


class WaitHooks(Protocol):
    """What the orchestrator does while a gate waits (``flows``: pause and resume the flow run)."""

    def paused(self, request: approvals.ApprovalRequest) -> None: ...

    def resumed(self, request: approvals.ApprovalRequest) -> None: ...


class NoHooks:
    """No orchestrator to tell (plain engine use)."""

    def paused(self, request: approvals.ApprovalRequest) -> None:
        return None

    def resumed(self, request: approvals.ApprovalRequest) -> None:
        return None


def open_request(cycle_run: CycleRun, step_id: str) -> approvals.ApprovalRequest | None:
    """The step's request that is still to be settled in this cycle (waiting or answered, not consumed)."""
    with cycle_run.store.read() as session:
        request = approvals.latest_request(session, cycle_run.plan.process_id, cycle_run.number, step_id)
    return request if request is not None and not request.consumed else None


def propose(cycle_run: CycleRun, step: PlannedStep, outputs: dict[str, Any], settings: ApprovalSettings) -> None:
    """Record the step's proposed outputs as an approval request (and, for ``auto_answer``, approve it)."""
    approval = step.definition.approval
    assert approval is not None
    with cycle_run.write() as session:
        request = approvals.record_request(session, process_id=cycle_run.plan.process_id, cycle=cycle_run.number,
                                           step_id=step.id, actor=cycle_run.actor, approval=approval, outputs=outputs)
        if settings.auto_answer is not None:
            actor, reason = settings.auto_answer
            for _ in request.levels:
                append_event(session, kind=approvals.APPROVED, actor=actor, process_id=request.process_id,
                             cycle_number=request.cycle, step_id=step.id, reason=reason,
                             payload={"request_seq": request.seq, "level": request.level + 1,
                                      "level_name": request.level_name, "levels": len(request.levels),
                                      "escalated": False, "final": request.level + 1 == len(request.levels),
                                      "automatic": True, "on_behalf_of": request.approvers})
                refreshed = approvals.latest_request(session, request.process_id, request.cycle, step.id)
                assert refreshed is not None
                request = refreshed


def settle(cycle_run: CycleRun, step: PlannedStep, settings: ApprovalSettings, hooks: WaitHooks | None = None,
           attempt: int = 1) -> dict[str, Any]:
    """Wait for the step's request to be decided and record the outcome.

    Returns:
        The approved outputs (recorded as the step's outputs).

    Raises:
        StepError: the request was rejected or timed out with ``on_timeout: reject``
            (recorded as the step's failure).
        ApprovalPending: still unanswered after ``settings.wait`` seconds; the cycle is
            recorded as suspended and nothing else changed.
    """
    if step.id in cycle_run.skipped:  # its `when:` was false: nothing was proposed, nothing to approve
        return {}
    hooks = hooks or NoHooks()
    started = utc_now()
    request = _current(cycle_run, step.id)
    if request.pending:
        request = _wait(cycle_run, step.id, request, settings.wait, hooks)
    if request.pending:
        record_suspension(cycle_run, request, settings.wait)
        raise ApprovalPending(request)
    decision = request.decision or {}
    if request.status == "approved":
        cycle_run.finish_gated_step(step, attempt, started, request.outputs, None)
        return request.outputs
    why = (f"timed out at level '{decision.get('level_name')}' ({decision.get('reason')}); on_timeout: reject"
           if decision.get("kind") == approvals.TIMED_OUT else
           f"rejected by {decision.get('actor')} at level '{decision.get('level_name')}': {decision.get('reason')}")
    error = StepError(step.id, why)
    cycle_run.finish_gated_step(step, attempt, started, None, str(error))
    raise error


def record_suspension(cycle_run: CycleRun, request: approvals.ApprovalRequest, waited: float) -> None:
    """Record ``cycle.suspended``: the cycle's process stops to wait for ``request`` (its own or a child's)."""
    with cycle_run.write() as session:
        append_event(session, kind=approvals.SUSPENDED, actor=cycle_run.actor, process_id=cycle_run.plan.process_id,
                     cycle_number=cycle_run.number, step_id=request.step_id if request.process_id ==
                     cycle_run.plan.process_id else None,
                     payload={"waits_for": {"process": request.process_id, "cycle": request.cycle,
                                            "step": request.step_id, "request_seq": request.seq},
                              "level": request.level + 1, "level_name": request.level_name,
                              "approvers": request.approvers, "deadline": request.deadline, "waited_s": waited})


def _current(cycle_run: CycleRun, step_id: str) -> approvals.ApprovalRequest:
    """The request as it stands, with any due timeout recorded first (the write lock only then)."""
    request = open_request(cycle_run, step_id)
    if request is None:
        raise StepError(step_id, "no approval request is open for this step")
    if request.pending and request.deadline is not None and utc_now() >= request.deadline:
        with cycle_run.write() as session:
            lock_head(session)  # re-read under the lock: another process may have recorded it meanwhile
            locked = approvals.latest_request(session, cycle_run.plan.process_id, cycle_run.number, step_id)
            assert locked is not None
            request = approvals.settle_timeouts(session, locked)
    return request


def _wait(cycle_run: CycleRun, step_id: str, request: approvals.ApprovalRequest, wait: float,
          hooks: WaitHooks) -> approvals.ApprovalRequest:
    """Poll the store until the request is decided or this process's wait is over."""
    give_up = time.monotonic() + wait
    hooks.paused(request)
    try:
        while request.pending:
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                break
            until_deadline = ((request.deadline - utc_now()).total_seconds() if request.deadline is not None
                              else remaining)
            time.sleep(max(0.0, min(POLL_SECONDS, remaining, until_deadline + 0.01)))
            request = _current(cycle_run, step_id)
    finally:
        if not request.pending:
            hooks.resumed(request)
    return request
