"""Approval requests and answers, kept as audit events: the audit store is the source of truth.

A step with ``approval:`` proposes its outputs in an ``approval.requested`` event; people
answer with ``approval.approved`` / ``approval.rejected`` (``pdca approve`` / ``pdca reject``,
from any process); a level left unanswered past its deadline gets ``approval.timed_out``
(actor ``pdca``) whose outcome is ``escalated`` or ``rejected``. The state of a request is
folded from these events, so the process that waits, the CLI that answers and ``pdca
status`` all read the same thing, in the embedded mode (no Prefect server) as on a server.

Rules (also in the README): levels are signed in order; a level may be answered by one of
its approvers (and, once escalated, by ``escalate_to``); one person signs at most one level
of a request; a rejection at any level rejects the request. A request is *consumed* once
the engine recorded the step's outcome after it (a ``step.*`` event): a resumed cycle then
asks again instead of re-reading an old answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.store.audit import append_event, lock_head, utc_now
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.tasks.sdk.display import human_duration

if TYPE_CHECKING:  # only a type here: `pdca audit` and `pdca status` do not import the models (pydantic)
    from pdcaflow.engine.definition.model import Approval

SYSTEM_ACTOR = "pdca"
REQUESTED, APPROVED, REJECTED, TIMED_OUT = "approval.requested", "approval.approved", "approval.rejected", \
    "approval.timed_out"
SUSPENDED = "cycle.suspended"
APPROVAL_KINDS = (REQUESTED, APPROVED, REJECTED, TIMED_OUT)
_STEP_OUTCOMES = ("step.completed", "step.failed", "step.skipped")
_LIFECYCLE = ("cycle.started", "cycle.resumed", SUSPENDED)


class AnswerRefused(PdcaError):
    """An answer that may not be recorded (wrong person, nothing waiting, already decided); nothing was recorded."""


@dataclass
class ApprovalRequest:
    """One request for a step's approval, as folded from its audit events."""

    seq: int
    process_id: str
    cycle: int
    step_id: str
    requested_at: datetime
    levels: list[dict[str, Any]]
    timeout_s: float | None
    on_timeout: str
    escalate_to: list[str]
    instructions: str | None
    outputs: dict[str, Any]
    level: int = 0
    level_since: datetime | None = None
    escalated: bool = False
    status: str = "pending"  # pending | approved | rejected
    consumed: bool = False
    answers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.status == "pending" and not self.consumed

    @property
    def level_name(self) -> str:
        return str(self.levels[min(self.level, len(self.levels) - 1)]["name"])

    @property
    def approvers(self) -> list[str]:
        """Who may answer the current level now."""
        if self.status != "pending":
            return []
        allowed = list(self.levels[self.level]["approvers"])
        return allowed + [name for name in self.escalate_to if name not in allowed] if self.escalated else allowed

    @property
    def deadline(self) -> datetime | None:
        if self.timeout_s is None or self.level_since is None:
            return None
        return self.level_since + timedelta(seconds=self.timeout_s)

    @property
    def decision(self) -> dict[str, Any] | None:
        """The answer that decided the request (its last one), once it is decided."""
        return self.answers[-1] if self.status != "pending" and self.answers else None

    def describe(self) -> str:
        """One line: which level waits for whom, since when, until when."""
        level = f"level {self.level + 1}/{len(self.levels)} ({self.level_name})" if len(self.levels) > 1 else "approval"
        since = f"since {self.level_since:%Y-%m-%d %H:%M:%S} UTC" if self.level_since else ""
        deadline = f", deadline {self.deadline:%Y-%m-%d %H:%M:%S} UTC" if self.deadline else ", no deadline"
        escalated = " (escalated)" if self.escalated else ""
        return f"{level}{escalated} waits for {', '.join(self.approvers)} {since}{deadline}"


def request_payload(approval: Approval, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """What an ``approval.requested`` event records: the rules in force and the proposed outputs."""
    return {
        "levels": [{"name": level.name, "approvers": list(level.approvers)} for level in approval.signing_levels],
        "timeout_s": approval.timeout, "on_timeout": approval.on_timeout,
        "escalate_to": list(approval.escalate_to or []), "instructions": approval.instructions,
        "outputs": dict(outputs),
    }


def record_request(session: Session, *, process_id: str, cycle: int, step_id: str, actor: str,
                   approval: Approval, outputs: Mapping[str, Any]) -> ApprovalRequest:
    """Append ``approval.requested`` for a step's proposed outputs; returns the new request."""
    append_event(session, kind=REQUESTED, actor=actor, process_id=process_id, cycle_number=cycle, step_id=step_id,
                 payload=request_payload(approval, outputs))
    request = latest_request(session, process_id, cycle, step_id)
    assert request is not None
    return request


def latest_request(session: Session, process_id: str, cycle: int, step_id: str) -> ApprovalRequest | None:
    """The step's newest approval request in that cycle, folded from its events (None if it never asked)."""
    rows = session.execute(select(AuditEvent.seq, AuditEvent.kind, AuditEvent.at, AuditEvent.actor,
                                  AuditEvent.reason, AuditEvent.payload).where(
        AuditEvent.process_id == process_id, AuditEvent.cycle_number == cycle, AuditEvent.step_id == step_id,
        AuditEvent.kind.in_((*APPROVAL_KINDS, *_STEP_OUTCOMES))).order_by(AuditEvent.seq))
    return fold(process_id, cycle, step_id, rows)


def fold(process_id: str, cycle: int, step_id: str, rows: Iterable[Any]) -> ApprovalRequest | None:
    """The state of the newest request from the step's events in sequence order."""
    request: ApprovalRequest | None = None
    for seq, kind, at, actor, reason, payload in rows:
        if kind == REQUESTED:
            request = ApprovalRequest(
                seq=seq, process_id=process_id, cycle=cycle, step_id=step_id, requested_at=at,
                levels=payload["levels"], timeout_s=payload.get("timeout_s"), on_timeout=payload["on_timeout"],
                escalate_to=payload.get("escalate_to") or [], instructions=payload.get("instructions"),
                outputs=payload.get("outputs") or {}, level_since=at)
        elif request is None or request.consumed:
            continue
        elif kind in _STEP_OUTCOMES:
            request.consumed = True
        elif payload.get("request_seq") == request.seq and request.status == "pending":
            _apply_answer(request, kind, at, actor, reason, payload)
    return request


def _apply_answer(request: ApprovalRequest, kind: str, at: datetime, actor: str, reason: str | None,
                  payload: Mapping[str, Any]) -> None:
    request.answers.append({"kind": kind, "actor": actor, "at": at, "reason": reason, "level": payload.get("level"),
                            "level_name": payload.get("level_name"), "outcome": payload.get("outcome")})
    if kind == APPROVED:
        request.level += 1
        request.level_since, request.escalated = at, False
        if request.level >= len(request.levels):
            request.status = "approved"
    elif kind == REJECTED or payload.get("outcome") == "rejected":
        request.status = "rejected"
    else:  # timed out and escalated: the same level, answerable by escalate_to too, for another timeout
        # counted from the deadline that passed, not from when someone noticed: the state depends on time only
        passed = payload.get("deadline")
        request.escalated = True
        request.level_since = datetime.fromisoformat(passed) if isinstance(passed, str) else at


def settle_timeouts(session: Session, request: ApprovalRequest, now: datetime | None = None) -> ApprovalRequest:
    """Record the timeouts that are due (in the caller's transaction, head locked first); returns the new state."""
    now = now or utc_now()
    while request.pending and request.deadline is not None and now >= request.deadline:
        escalate = request.on_timeout == "escalate" and not request.escalated and bool(request.escalate_to)
        outcome = "escalated" if escalate else "rejected"
        append_event(session, kind=TIMED_OUT, actor=SYSTEM_ACTOR, process_id=request.process_id,
                     cycle_number=request.cycle, step_id=request.step_id,
                     reason=f"no answer by {request.deadline:%Y-%m-%d %H:%M:%S} UTC",
                     payload={"request_seq": request.seq, "level": request.level + 1, "level_name": request.level_name,
                              "deadline": request.deadline, "outcome": outcome,
                              "escalate_to": request.escalate_to if escalate else []})
        refreshed = latest_request(session, request.process_id, request.cycle, request.step_id)
        assert refreshed is not None
        request = refreshed
    return request


def answer(session: Session, *, process_id: str, cycle: int, step_id: str, actor: str, reason: str,
           approve: bool) -> ApprovalRequest:
    """Record one person's answer to the current level (caller commits; due timeouts already settled).

    Raises:
        AnswerRefused: nothing waits, it was decided, the person may not answer this level,
            they signed an earlier level already, or no reason was given. Nothing is recorded.
    """
    lock_head(session)
    request = latest_request(session, process_id, cycle, step_id)
    where = f"step '{step_id}' of cycle {cycle} of '{process_id}'"
    if request is None or request.consumed:
        raise AnswerRefused(f"no approval is waiting for {where}")
    if request.status != "pending":
        last = request.decision or {}
        raise AnswerRefused(f"the approval of {where} is already {request.status} "
                            f"(by {last.get('actor')}: {last.get('reason')})")
    if not reason.strip():
        raise AnswerRefused("an answer needs --reason TEXT: say why")
    if actor not in request.approvers:
        raise AnswerRefused(f"'{actor}' may not answer {request.describe().split(' waits')[0]} of {where}; "
                            f"who may: {', '.join(request.approvers)}")
    signed = [a["actor"] for a in request.answers if a["kind"] == APPROVED]
    if actor in signed:
        raise AnswerRefused(f"'{actor}' already signed an earlier level of this approval; each level needs "
                            "another person")
    final = approve and request.level + 1 == len(request.levels)
    append_event(session, kind=APPROVED if approve else REJECTED, actor=actor, process_id=process_id,
                 cycle_number=cycle, step_id=step_id, reason=reason.strip(),
                 payload={"request_seq": request.seq, "level": request.level + 1, "level_name": request.level_name,
                          "levels": len(request.levels), "escalated": request.escalated, "final": final})
    refreshed = latest_request(session, process_id, cycle, step_id)
    assert refreshed is not None
    return refreshed


def waiting_requests(session: Session, process_id: str | None = None) -> list[ApprovalRequest]:
    """Every request still waiting for an answer (oldest first), optionally of one process."""
    statement = select(AuditEvent.process_id, AuditEvent.cycle_number, AuditEvent.step_id).where(
        AuditEvent.kind == REQUESTED)
    if process_id is not None:
        statement = statement.where(AuditEvent.process_id == process_id)
    keys = dict.fromkeys(tuple(row) for row in session.execute(statement.order_by(AuditEvent.seq)))
    found = [latest_request(session, process, cycle, step) for process, cycle, step in keys if cycle is not None
             and step is not None]
    return [request for request in found if request is not None and request.pending]


def is_suspended(session: Session, process_id: str, cycle: int) -> bool:
    """Whether the cycle's last lifecycle event says its process stopped to wait for an approval."""
    kind = session.scalar(select(AuditEvent.kind).where(
        AuditEvent.process_id == process_id, AuditEvent.cycle_number == cycle,
        AuditEvent.kind.in_(_LIFECYCLE)).order_by(AuditEvent.seq.desc()).limit(1))
    return kind == SUSPENDED


def _levels(payload: Mapping[str, Any]) -> str:
    chain = " -> ".join(f"{level['name']} ({', '.join(level['approvers'])})" for level in payload["levels"])
    timeout = f", {human_duration(payload['timeout_s'])} per level, on timeout {payload['on_timeout']}" \
        if payload.get("timeout_s") else ""
    return chain + timeout


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    REQUESTED: lambda p: f"asks {_levels(p)}",
    APPROVED: lambda p: f"level {p['level']}/{p['levels']} ({p['level_name']}) approved"
                        + (", final" if p.get("final") else "") + (" (automatic)" if p.get("automatic") else ""),
    REJECTED: lambda p: f"level {p['level']}/{p['levels']} ({p['level_name']}) rejected",
    TIMED_OUT: lambda p: f"level {p['level']} ({p['level_name']}) timed out: {p['outcome']}",
    SUSPENDED: lambda p: f"suspended: {p['waits_for']['process']} cycle {p['waits_for']['cycle']} step "
                         f"{p['waits_for']['step']} waits for {', '.join(p['approvers'])}",
}
"""One-line summaries of the approval events for `pdca audit log` (``pdcaflow.engine.review.events``)."""
