"""Filtering the event log: who did what, when, to which process, cycle and step.

Every filter is a column condition that an index of migration 0002 serves, and
"the last N matching events" is read newest first with a LIMIT, so `pdca audit
log --process X --limit 50` reads about 50 index entries whatever the size of
the log. Events are returned oldest first, as a trail reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pdcaflow.engine.review.readable import pairs
from pdcaflow.engine.review.kpi_labels import KpiLabel
from pdcaflow.engine.runtime import approval_records as approvals
from pdcaflow.engine.store.access import ReviewError, require_cycle, require_process
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.tasks.sdk.display import signed

_STREAM_BATCH = 2000
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class EventFilter:
    """The options of `pdca audit log`; ``None`` means "any". ``kind`` may end in ``*`` (a prefix)."""

    process: str | None = None
    cycle: int | None = None
    step: str | None = None
    kind: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def parse_moment(text: str | None, option: str, *, end: bool = False) -> datetime | None:
    """An ISO date or datetime from the command line, as a UTC instant.

    A date alone means the start of that day (UTC) for ``--since`` and the end of
    it for ``--until`` (``end=True``: the next day's start, exclusive). A datetime
    without an offset is taken as UTC.

    Raises:
        ReviewError: the text is not an ISO date or datetime.
    """
    if text is None:
        return None
    cleaned = text.strip()
    try:
        if _DATE_ONLY.match(cleaned):
            day = date.fromisoformat(cleaned)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise ReviewError(f"{option} '{text}' is not an ISO date or datetime (e.g. 2026-11-22 or "
                          "2026-11-22T14:30, UTC unless an offset is given)") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment + timedelta(microseconds=1) if end else moment


def check_filter(session: Session, wanted: EventFilter) -> None:
    """Refuse a process or cycle the store does not have (rather than print an empty table)."""
    if wanted.process is not None and wanted.cycle is not None:
        require_cycle(session, wanted.process, wanted.cycle)
    elif wanted.process is not None:
        require_process(session, wanted.process)
    if wanted.since and wanted.until and wanted.since >= wanted.until:
        raise ReviewError("--since must be before --until")


def last_events(session: Session, wanted: EventFilter, limit: int) -> list[AuditEvent]:
    """The ``limit`` most recent events that match, oldest first (``limit`` 0: all of them)."""
    statement = _filtered(select(AuditEvent), wanted)
    if limit <= 0:
        return list(session.scalars(statement.order_by(AuditEvent.seq)))
    newest_first = list(session.scalars(statement.order_by(AuditEvent.seq.desc()).limit(limit)))
    return newest_first[::-1]


def stream_events(session: Session, wanted: EventFilter | None = None) -> Iterator[AuditEvent]:
    """Every matching event in sequence order, fetched in batches (constant memory)."""
    statement = _filtered(select(AuditEvent), wanted or EventFilter()).order_by(AuditEvent.seq)
    for event in session.scalars(statement.execution_options(yield_per=_STREAM_BATCH)):
        yield event
        session.expunge(event)  # a long export must not keep every event in the identity map


def _filtered(statement: Select[Any], wanted: EventFilter) -> Select[Any]:
    if wanted.process is not None:
        statement = statement.where(AuditEvent.process_id == wanted.process)
    if wanted.cycle is not None:
        statement = statement.where(AuditEvent.cycle_number == wanted.cycle)
    if wanted.step is not None:
        statement = statement.where(AuditEvent.step_id == wanted.step)
    if wanted.kind is not None:
        if wanted.kind.endswith("*"):
            prefix = wanted.kind[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(AuditEvent.kind.like(f"{prefix}%", escape="\\"))
        else:
            statement = statement.where(AuditEvent.kind == wanted.kind)
    if wanted.actor is not None:
        statement = statement.where(AuditEvent.actor == wanted.actor)
    if wanted.since is not None:
        statement = statement.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        statement = statement.where(AuditEvent.at < wanted.until)
    return statement


def summary(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what an event records, for the log table."""
    describe = _SUMMARIES.get(kind) or _SUMMARIES.get(kind.split(".")[0] + ".*")
    try:
        return describe(payload) if describe else _compact(payload)
    except (KeyError, TypeError, ValueError, AttributeError):  # an event shape we do not know: show it raw
        return _compact(payload)


def _compact(value: Any, width: int = 100) -> str:
    return pairs(value, width)  # whole pairs, never a number or an id cut short


def target_text(target: dict[str, Any] | None) -> str:
    """``>= 4.2``, ``<= 48`` or ``4 .. 6`` for a ``{min, max}`` target."""
    from pdcaflow.engine.review.cycle_report import target_text as text

    return text(target)


def _step(payload: dict[str, Any]) -> str:
    started, finished = payload.get("started_at"), payload.get("finished_at")
    seconds = ""
    if started and finished:
        seconds = f", {(datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds():.2f} s"
    if payload.get("error"):
        return f"attempt {payload.get('attempts')}{seconds}: {payload['error']}"
    outputs = payload.get("output") or {}
    return f"attempt {payload.get('attempts')}{seconds}" + (f" → {_compact(outputs, 90)}" if outputs else "")


def _kpi(payload: dict[str, Any]) -> str:
    decimals = payload.get("decimals")
    label = KpiLabel(str(payload.get("kpi")), unit=str(payload.get("unit") or ""),
                     decimals=decimals if isinstance(decimals, int) else None)
    change = "" if payload.get("delta") is None else f" (Δ {signed(payload.get('delta'), label.places, trim=True)})"
    return (f"{label.id} {label.in_text(payload.get('actual'))} vs {label.target(payload.get('target'))}: "
            f"{payload.get('status')}{change}")


def _decision(payload: dict[str, Any]) -> str:
    if not payload.get("fired"):
        return f"{payload.get('policy')}: not fired"
    effects = "; ".join(payload.get("effects") or []) or "no effect"
    return f"{payload.get('policy')} fired: {effects}"


def _carry(payload: dict[str, Any]) -> str:
    actions = [a for a in payload.get("actions", []) if a.get("status", "open") in ("open", "in_progress")]
    return f"params {_compact(payload.get('params', {}), 60)}; {len(actions)} open action(s)"


def _cycle_end(payload: dict[str, Any]) -> str:
    kpis = ", ".join(f"{count} {status}" for status, count in sorted((payload.get("kpis") or {}).items()))
    text = f"{payload.get('status')} in {payload.get('duration_s', 0):.1f} s" + (f"; KPIs {kpis}" if kpis else "")
    return text + (f": {payload['error']}" if payload.get("error") else "")


_SUMMARIES: dict[str, Any] = {
    "definition.version": lambda p: (f"sha256 {str(p.get('sha256'))[:12]}, "
                                     f"{len(str(p.get('yaml_text', '')).splitlines())} lines"),
    "cycle.started": lambda p: f"{p.get('trigger')} start on {p.get('host')} pid {p.get('pid')}, definition "
                               f"{str(p.get('sha256'))[:12]}",
    "cycle.resumed": lambda p: f"resumed (was {p['previous'].get('status')} on {p['previous'].get('host')} pid "
                               f"{p['previous'].get('pid')}) by pid {p.get('pid')}",
    "step.*": _step,
    "kpi.result": _kpi,
    "decision": _decision,
    "action.opened": lambda p: f"{p.get('id')} for {p.get('owner')}, due {p.get('due')}: {p.get('title')}",
    "action.status": lambda p: f"{p.get('action_key')}: {p.get('from')} -> {p.get('to')}",
    "carry_over": _carry,
    "cycle.completed": _cycle_end,
    "cycle.failed": _cycle_end,
    "correction": lambda p: f"corrects seq {p['corrects']['seq']} ({p['corrects']['kind']})",
    **approvals.SUMMARIES,
}
