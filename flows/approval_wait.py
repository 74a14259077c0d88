"""What Prefect shows while an approval gate waits: the flow run is Paused, then resumed or left paused.

The waiting itself is ``pdcaflow.engine.runtime.approval_gate`` polling the audit store, because the answer
comes from ``pdca approve`` in another process, which in the embedded mode cannot reach
this process's Prefect API. These hooks only keep Prefect's view true:

- while a gate waits, the flow run is ``Paused`` (a state proposed through the API like
  ``prefect.flow_runs.pause_flow_run`` does, but without its polling loop: ours watches the store);
- once the answer is in, the flow run is resumed with ``resume_flow_run`` (the documented way
  out of Paused; the orchestration rules check it) and the flow continues;
- when the process stops waiting (``ApprovalPending``), the flow ends by raising
  ``prefect.exceptions.Pause`` with that Paused state, so the run stays Paused in the UI instead
  of turning Failed. ``suspend_flow_run`` is not used: it needs a deployment and persisted results
  (the orchestration rule aborts a reschedulable pause otherwise); the cycle is resumed in a new
  flow run by the next ``pdca run`` (the resume rule).

Measured on prefect 3.8.8 with the ephemeral API: a Paused state proposed from a task's worker
thread is accepted, other task runs of the flow keep running, ``resume_flow_run`` returns the
run to Running and the flow completes normally.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Pause
from prefect.states import Cancelled, Paused, State
from prefect.utilities.engine import propose_state_sync

from pdcaflow.engine.runtime.approval_gate import ApprovalPending
from pdcaflow.engine.runtime.approval_records import ApprovalRequest

_LOCK = threading.Lock()
_WAITING: dict[UUID, int] = {}  # flow run id -> gates waiting in it (several steps of a phase may wait at once)


def _current_flow_run_id() -> UUID | None:
    context = FlowRunContext.get()
    return context.flow_run.id if context is not None and context.flow_run is not None else None


def _pause(flow_run_id: UUID, request: ApprovalRequest) -> None:
    state: State[None] = Paused(pause_key=f"approval-{request.seq}-{uuid.uuid4().hex[:8]}",
                   message=f"waiting for the approval of step '{request.step_id}': {request.describe()}")
    try:
        with get_client(sync_client=True) as client:
            propose_state_sync(client, state, flow_run_id=flow_run_id)
    except Exception:  # Prefect refused (e.g. already paused): the gate still waits on the store
        return


class FlowRunPause:
    """:class:`pdcaflow.engine.runtime.approval_gate.WaitHooks` that pause and resume the current flow run."""

    def paused(self, request: ApprovalRequest) -> None:
        flow_run_id = _current_flow_run_id()
        if flow_run_id is None:
            return
        with _LOCK:
            first = _WAITING.get(flow_run_id, 0) == 0
            _WAITING[flow_run_id] = _WAITING.get(flow_run_id, 0) + 1
        if first:
            _pause(flow_run_id, request)

    def resumed(self, request: ApprovalRequest) -> None:
        flow_run_id = _current_flow_run_id()
        if flow_run_id is None:
            return
        with _LOCK:
            _WAITING[flow_run_id] = max(_WAITING.get(flow_run_id, 1) - 1, 0)
            last = _WAITING[flow_run_id] == 0
        if last:
            with get_client(sync_client=True) as client:
                flow_run = client.read_flow_run(flow_run_id)
                if flow_run.state is not None and flow_run.state.is_paused():
                    client.resume_flow_run(flow_run_id)


def suspension(pending: ApprovalPending) -> BaseException:
    """What the cycle flow raises to end while a gate waits: ``Pause`` with the run's Paused state.

    The flow run is paused first if it is not yet (a sub-process's gate paused only the child's run).
    """
    flow_run_id = _current_flow_run_id()
    if flow_run_id is None:
        return pending
    with _LOCK:
        _WAITING.pop(flow_run_id, None)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    if state is None or not state.is_paused():
        _pause(flow_run_id, pending.request)
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
    if state is None or not state.is_paused():
        return pending
    pause = Pause(state=state)
    pause.__cause__ = pending
    return pause


def pending_from(exc: BaseException) -> ApprovalPending | None:
    """The ``ApprovalPending`` a flow ended with (raised as ``Pause`` by :func:`suspension`)."""
    cause: Any = exc
    while cause is not None:
        if isinstance(cause, ApprovalPending):
            return cause
        cause = cause.__cause__
    return None


def close_superseded(previous_flow_run_id: str | None, flow_run_id: str) -> None:
    """Cancel the Paused flow run of a suspended cycle that a new flow run now resumes (best effort).

    Otherwise the suspended run would stay Paused in the UI forever: the cycle goes on in the new run.
    """
    if not previous_flow_run_id or previous_flow_run_id == flow_run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            previous = client.read_flow_run(UUID(previous_flow_run_id))
            if previous.state is not None and previous.state.is_paused():
                client.set_flow_run_state(previous.id, Cancelled(
                    message=f"superseded: the cycle resumed in flow run {flow_run_id}"), force=True)
    except Exception:  # a run another server recorded, or already gone: nothing to tidy here
        return
