"""The hash-chained event log: append an event, verify the chain.

Each event's ``hash`` is the sha256 of the canonical JSON (sorted keys, no
whitespace, UTF-8, datetimes as ISO 8601 UTC with microseconds) of its ``seq``,
``at``, ``actor``, ``kind``, ``process_id``, ``cycle_number``, ``step_id``,
``payload``, ``reason`` and ``prev_hash``; ``prev_hash`` is the hash of the event
before it (64 zeros for event 1). Editing, deleting or reordering any event
therefore breaks the chain at that event, and ``verify_chain`` names it.

Writers are serialised on the single ``audit_head`` row, which holds the last
``seq`` and ``hash``: PostgreSQL locks it with ``SELECT ... FOR UPDATE`` until the
caller commits; on SQLite the write transaction's ``BEGIN IMMEDIATE`` lock already
excludes every other writer. Sequence numbers are therefore gapless and the chain
linear however many processes write. There is deliberately no function that
updates or deletes an event: a correction is a new event that references the old
(:func:`append_correction`). Verifying the chain is ``engine.store.verify``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.store.errors import StoreError
from engine.store.models import AuditEvent, AuditHead

HASHED_FIELDS = ("seq", "at", "actor", "kind", "process_id", "cycle_number", "step_id", "payload", "reason",
                 "prev_hash")


class ChainHead(NamedTuple):
    """The chain's last sequence number and hash (0 and 64 zeros while the log is empty)."""

    seq: int
    hash: str


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the store refuses naive datetimes)."""
    return datetime.now(UTC)


def canonical_json(value: Any) -> str:
    """The one JSON text a value hashes as: sorted keys, no whitespace, non-ASCII kept, no NaN.

    Raises:
        StoreError: the value holds something JSON cannot represent exactly
            (NaN, infinity, an object); record ``None`` for a missing number.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=_json_default)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot record {value!r:.200}: {exc}") from exc


def stored_json(value: Any) -> str:
    """How JSON columns are written (the engine's ``json_serializer``): the canonical form.

    Storing payloads canonically lets ``verify`` hash the stored text as it is,
    without parsing and re-encoding it (``engine.store.verify``).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_json_default)


def normalise_json(value: Any) -> Any:
    """``value`` as it reads back from a JSON column (tuples → lists, dates → ISO text, int keys → text).

    Hashing the normalised value is what makes a freshly appended event and the
    same event read back from the database hash alike.
    """
    return json.loads(canonical_json(value))


def event_hash(fields: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of an event's :data:`HASHED_FIELDS`."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def lock_head(session: Session) -> ChainHead:
    """Lock the chain's head row and return its ``seq`` and ``hash``; every writer takes this lock first.

    Taking it before touching any other row gives all writers one lock order, so
    they queue instead of deadlocking. It is held until the caller's transaction ends.
    """
    statement = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    head = session.execute(statement).one_or_none()
    if head is None:
        raise StoreError("the audit store has no audit_head row; it was not created by its migrations")
    return ChainHead(head.seq, head.hash)


def append_event(
    session: Session,
    *,
    kind: str,
    actor: str,
    process_id: str,
    cycle_number: int | None = None,
    step_id: str | None = None,
    payload: Mapping[str, Any],
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (flushed, not committed).

    Args:
        kind: what happened, e.g. ``cycle.started``, ``step.completed``, ``kpi.result``.
        actor: who did it (a person, or the service account a schedule runs as).
        process_id: the process the event belongs to.
        cycle_number: the cycle's number, when the event belongs to one.
        step_id: the step, when the event belongs to one.
        payload: the facts, as JSON-ready data with the numbers (not references to other rows).
        reason: why, for human-initiated changes and decisions.

    Returns:
        The new event, with ``seq``, ``prev_hash`` and ``hash`` set.
    """
    if not actor:
        raise StoreError(f"an audit event needs an actor (kind {kind}, process {process_id})")
    head = lock_head(session)
    fields: dict[str, Any] = {
        "seq": head.seq + 1, "at": utc_now(), "actor": actor, "kind": kind, "process_id": process_id,
        "cycle_number": cycle_number, "step_id": step_id, "payload": normalise_json(dict(payload)),
        "reason": reason, "prev_hash": head.hash,
    }
    audit_event = AuditEvent(**fields, hash=event_hash(fields))
    session.add(audit_event)
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=audit_event.seq, hash=audit_event.hash)
                    .execution_options(synchronize_session=False))
    return audit_event


def append_correction(
    session: Session, *, corrects_seq: int, actor: str, reason: str, payload: Mapping[str, Any],
) -> AuditEvent:
    """Record a correction of an earlier event as a new ``correction`` event that references it.

    The old event stays as written; a reviewer sees both (``pdca audit log --kind correction``).

    Args:
        corrects_seq: the sequence number of the event being corrected.
        reason: why (required: a correction is a human change to the record).
        payload: what the corrected facts are.

    Raises:
        StoreError: no reason, or no event ``corrects_seq``.
    """
    if not reason or not reason.strip():
        raise StoreError(f"a correction of event {corrects_seq} needs a reason")
    lock_head(session)
    corrected = session.get(AuditEvent, corrects_seq)
    if corrected is None:
        raise StoreError(f"there is no event {corrects_seq} to correct")
    return append_event(session, kind="correction", actor=actor, process_id=corrected.process_id,
                        cycle_number=corrected.cycle_number, step_id=corrected.step_id, reason=reason,
                        payload={"corrects": {"seq": corrects_seq, "kind": corrected.kind, "hash": corrected.hash},
                                 **dict(payload)})


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value.isoformat()}; use a timezone-aware one")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
