"""`pdca approve`, `pdca reject` and `pdca approvals`: answer approval gates from any process.

Answers go to the audit store only (``pdcaflow.engine.runtime.approval_records``): the run that waits polls the
store, and a suspended cycle finds the answer when the next ``pdca run`` resumes it, so
this works the same with the embedded Prefect API (no server) and with a Prefect server.
Exit codes: 0 recorded, 2 refused (nothing waits, not an approver for the current level,
already decided, no reason, unknown process or cycle): nothing is recorded then, except
a timeout that was already due (``approval.timed_out``, actor ``pdca``).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from pdcaflow.engine.cli.common import Db, fail, out
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.review.layout import Column, FitTable, Kind

Process = Annotated[str, typer.Argument(help="the process id")]
CycleNumber = Annotated[int, typer.Argument(min=1, help="the cycle number")]
StepId = Annotated[str, typer.Argument(help="the gated step's id")]
Actor = Annotated[str | None, typer.Option(help="who answers; must be an approver of the current level "
                                           "[default: $PDCA_ACTOR]")]
Reason = Annotated[str | None, typer.Option(help="why (required): recorded with the answer")]


def approve(process: Process, cycle: CycleNumber, step: StepId, actor: Actor = None, reason: Reason = None,
            db: Db = None) -> None:
    """Approve the current level of a step's approval (levels are signed in order)."""
    _answer(process, cycle, step, actor, reason, db, approve=True)


def reject(process: Process, cycle: CycleNumber, step: StepId, actor: Actor = None, reason: Reason = None,
           db: Db = None) -> None:
    """Reject a step's approval: the step fails (its cycle is recorded failed) and the next run asks again."""
    _answer(process, cycle, step, actor, reason, db, approve=False)


def pending(process: Annotated[str | None, typer.Argument(help="only this process")] = None, db: Db = None) -> None:
    """List the approvals waiting for an answer: process, cycle, step, level, who may answer, since, deadline."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime import approval_records
    from pdcaflow.engine.store.access import reading, require_process

    try:
        with reading(db) as (_store, session):
            if process:
                require_process(session, process)
            waiting = approval_records.waiting_requests(session, process)
    except PdcaError as exc:
        fail(str(exc))
    if not waiting:
        out.print("No approvals are waiting" + (f" in {process}." if process else "."), markup=False)
        return
    out.print(approvals_table(waiting))


def approvals_table(waiting: list[Any]) -> FitTable:
    """The waiting approvals as a table (also shown by `pdca status`)."""
    # process, cycle and step are what `pdca approve` takes: whole on their lines, never cut short
    table = FitTable([Column("process", Kind.ID), Column("cycle", Kind.NUMBER), Column("step", Kind.ID),
                      Column("level"), Column("who may answer"), Column("since (UTC)", Kind.ID),
                      Column("deadline (UTC)", Kind.ID)], title="Waiting for approval", key=3)
    for request in waiting:
        level = f"{request.level + 1}/{len(request.levels)} {request.level_name}"
        table.add_row(request.process_id, str(request.cycle), request.step_id,
                      level + (" (escalated)" if request.escalated else ""), ", ".join(request.approvers),
                      f"{request.level_since:%Y-%m-%d %H:%M:%S}",
                      f"{request.deadline:%Y-%m-%d %H:%M:%S}" if request.deadline else "none")
    return table


def _answer(process: str, cycle: int, step: str, actor: str | None, reason: str | None, db: str | None, *,
            approve: bool) -> None:
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime import approval_records
    from pdcaflow.engine.store.access import opened, require_cycle
    from pdcaflow.engine.store.audit import lock_head

    verb = "approve" if approve else "reject"
    actor = (actor or os.environ.get("PDCA_ACTOR", "")).strip()
    if not actor:
        fail(f"pdca {verb} needs --actor NAME (or $PDCA_ACTOR): who answers")
    if not (reason or "").strip():
        fail(f"pdca {verb} needs --reason TEXT: say why, e.g. --reason \"quota per class checked\"")
    try:
        with opened(db) as store:
            with store.transaction() as session:  # a timeout already due is recorded first, whatever follows
                lock_head(session)
                require_cycle(session, process, cycle)
                request = approval_records.latest_request(session, process, cycle, step)
                if request is not None and request.pending:
                    approval_records.settle_timeouts(session, request)
            with store.transaction() as session:
                request = approval_records.answer(session, process_id=process, cycle=cycle, step_id=step, actor=actor,
                                           reason=reason or "", approve=approve)
                suspended = approval_records.is_suspended(session, process, cycle)
    except PdcaError as exc:
        fail(str(exc))
    out.print(_outcome(request, actor, approve, suspended), markup=False)


def _outcome(request: Any, actor: str, approve: bool, suspended: bool) -> str:
    where = f"step '{request.step_id}' of cycle {request.cycle} of '{request.process_id}'"
    then = (f"The cycle is suspended: the next `{pdca_command()} run` of the process resumes it" if suspended
            else "The run waiting for it picks the answer up")
    if not approve:
        return (f"{actor} rejected {where}. {then}; the step fails with this rejection (the cycle is recorded as "
                "failed), and the run after that resumes the cycle, runs the step again and asks again.")
    if request.status == "pending":
        signed = request.answers[-1]
        return f"{actor} signed level {signed['level']} ({signed['level_name']}) of {where}; next: {request.describe()}"
    return f"{actor} approved {where}: every level is signed. {then}."


def suspended_message(pending: Any, definition: str) -> str:
    """What `pdca run` prints when a cycle stops to wait for an approval (exit 3)."""
    request = pending.request
    pdca = pdca_command()
    command = f"{pdca} approve {request.process_id} {request.cycle} {request.step_id} --actor NAME --reason TEXT"
    return (f"{pending}\nThe cycle is suspended (its completed steps stay recorded). Answer with `{command}` "
            f"(or `{pdca} reject ...`), then run `{pdca} run {definition} ...` again to continue it; "
            f"`{pdca} approvals` lists what waits.")
