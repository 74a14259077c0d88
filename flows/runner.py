"""Run cycles from the command line: the embedded Prefect runtime around ``pdcaflow.flows.cycle_flow``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from pdcaflow.engine.runtime.approval_gate import ApprovalSettings
from pdcaflow.engine.runtime.step_runner import BeforeTask
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.definition.validate import ValidatedDefinition, validate_file
from pdcaflow.flows.cycle_execution import subprocess_runner
from pdcaflow.flows.cycle_flow import Observer, prepare, run_prepared
from pdcaflow.flows.sigterm_bridge import outer_sigterm_handler
from pdcaflow.engine.store.db import open_store, resolve_url

DRAIN_SECONDS = 10.0
RECORDER_FLUSH_WAIT_SECONDS = 1.5  # the recorder's flush interval (pdcaflow.flows.settings) plus a margin


@contextmanager
def prefect_runtime() -> Iterator[None]:
    """Prefect as pdcaflow uses it: no flow-run heartbeat in the embedded mode, workers drained at the end.

    The heartbeat thread adds about a second to every synchronous flow run and only
    serves a server's zombie detection, which the embedded mode does not have. The
    log and event workers are drained before returning so that no event is lost and
    interpreter exit does not wait on them. In the embedded mode, the API server Prefect
    starts is ``pdcaflow.flows.embedded_server.GuardedServer``: it ends when this process ends.
    """
    embedded = not os.environ.get("PREFECT_API_URL")
    if embedded:
        _embedded_server()
    updates = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None} if embedded else {}
    try:
        with temporary_settings(updates=updates):
            yield
    finally:
        EventsWorker.drain_all(timeout=DRAIN_SECONDS)
        APILogWorker.drain_all(timeout=DRAIN_SECONDS)
        if embedded:  # let the batched task-run recorder write its last batch before the server stops
            time.sleep(RECORDER_FLUSH_WAIT_SECONDS)


def _start_embedded_server() -> None:
    """Start the embedded API server (once) from this thread, before Prefect needs it.

    Prefect would start it anyway on the cycle's first flow run; starting it here, from
    the thread that runs the cycles (the CLI's main thread), lets the kernel's death
    signal guard it (``pdcaflow.flows.embedded_server.guarded_command``).
    """
    if not PREFECT_API_URL.value():  # Prefect's setting: also set by a profile, not only the environment
        _embedded_server().start()


def _embedded_server() -> Any:
    """``pdcaflow.flows.embedded_server.install()``, imported only in the embedded mode.

    It imports Prefect's server package (seconds of import time); with
    ``PREFECT_API_URL`` set nothing needs it.
    """
    from pdcaflow.flows.embedded_server import install  # Prefect's server package: seconds of start-up time

    return install()


def run_cycles(definition: Path | ValidatedDefinition, cycles: int, *, actor: str, db_url: str | None,
               observer: Observer | None = None, on_cycle: Any = None,
               on_result: Any = None, reason: str | None = None, wait: float = 0.0,
               approvals: ApprovalSettings | None = None, before_task: BeforeTask | None = None) -> list[dict[str, Any]]:
    """Run ``cycles`` cycles one after the other; each starts from the previous one's carry-over.

    The definition is validated (unless it comes validated) and compiled once; every
    cycle runs that plan.

    Args:
        definition: a definition file, or a definition the caller validated already.
        reason: why they are run, recorded on each cycle's ``cycle.started`` event
            (the CLI requires one from a person; ``pdca demo`` passes its own).
        wait: seconds each cycle may wait for another process's running cycle of the
            same process before giving up (``CycleBusyError``); 0 gives up at once.
        approvals: how approval gates are waited for (``pdcaflow.engine.runtime.approval_gate.ApprovalSettings``);
            by default the cycle is suspended at once when a gate has no answer yet.
        before_task: called before every task call of these cycles (``pdcaflow.engine.runtime.step_runner.BeforeTask``);
            ``pdca demo`` lets the sample world simulate each month before ``service.deliver`` reads it.

    Raises:
        DefinitionError: the definition file does not validate.
        StepError / engine errors: a cycle failed; it is recorded as failed and the next run resumes it.
        CycleBusyError: another live process runs this process's cycle (beyond ``wait``).
        ApprovalPending: a gate is unanswered after ``approvals.wait``; the cycle is suspended
            (the next run resumes it once the answer is recorded).
    """
    validated = definition if isinstance(definition, ValidatedDefinition) else validate_file(definition)
    plan = compile_plan(validated)
    run_subprocess = subprocess_runner(observer, {})  # sub-process definitions too: compiled once per run
    store = open_store(resolve_url(db_url, validated.root))  # the project's store, whatever the working folder
    results: list[dict[str, Any]] = []
    try:
        with prefect_runtime(), outer_sigterm_handler():  # pdca run's SIGTERM handler, also during flows
            for _ in range(cycles):
                cycle_run = prepare(plan, store, actor, "manual", reason=reason, wait=wait)
                cycle_run.approval_settings = approvals or ApprovalSettings()
                cycle_run.before_task = before_task
                cycle_run.run_subprocess = run_subprocess
                _start_embedded_server()
                if on_cycle is not None:
                    on_cycle(cycle_run)
                results.append(run_prepared(cycle_run, observer))
                if on_result is not None:
                    on_result(results[-1])
    finally:
        store.dispose()
    return results
