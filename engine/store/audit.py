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
updates or deletes an event: a correction is a new event that references the old.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.store.errors import StoreError
from engine.store.models import GENESIS_HASH, AuditEvent, AuditHead

HASHED_FIELDS = ("seq", "at", "actor", "kind", "process_id", "cycle_number", "step_id", "payload", "reason",
                 "prev_hash")
_VERIFY_BATCH = 2000


class ChainHead(NamedTuple):
    """The chain's last sequence number and hash (0 and 64 zeros while the log is empty)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`.

    Attributes:
        ok: every event, link and the head row are consistent.
        count: events read (up to the first problem when not ok).
        head_hash: the hash of the last good event (64 zeros for an empty log).
        first_bad_seq: the first sequence number that is wrong or missing; ``None`` when ok.
        what_differs: what is wrong there, in words; ``None`` when ok.
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    what_differs: str | None = None


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


def verify_chain(session: Session) -> ChainReport:
    """Recompute the whole chain, streaming, and report the first broken link.

    Checks, in sequence order: numbering from 1 without gaps, each ``prev_hash``
    against the previous event's hash, each ``hash`` against the event's content,
    and finally the head row against the last event (which catches a deleted tail).
    """
    columns = [getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "hash")]
    rows = session.execute(select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=_VERIFY_BATCH))
    count, last_seq, last_hash = 0, 0, GENESIS_HASH
    for row in rows:
        fields = row._asdict()
        problem = _link_problem(fields, last_seq, last_hash)
        if problem is not None:
            rows.close()
            bad_seq = last_seq + 1 if fields["seq"] != last_seq + 1 else fields["seq"]
            return ChainReport(False, count, last_hash, bad_seq, problem)
        count, last_seq, last_hash = count + 1, fields["seq"], fields["hash"]
    return _check_head(session, count, last_seq, last_hash)


def _link_problem(fields: dict[str, Any], last_seq: int, last_hash: str) -> str | None:
    seq = fields["seq"]
    if seq != last_seq + 1:
        return f"sequence gap after {last_seq}: the next event is {seq}" if last_seq else f"the log starts at {seq}, not 1"
    if fields["prev_hash"] != last_hash:
        return (f"prev_hash does not match the hash of seq {last_seq}" if last_seq
                else "prev_hash of seq 1 is not the genesis hash (64 zeros)")
    if event_hash(fields) != fields["hash"]:
        return "hash mismatch: payload or fields edited"
    return None


def _check_head(session: Session, count: int, last_seq: int, last_hash: str) -> ChainReport:
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None:
        return ChainReport(False, count, last_hash, last_seq + 1, "the audit_head row is missing")
    if head.seq == last_seq and head.hash == last_hash:
        return ChainReport(True, count, last_hash)
    bad_seq = last_seq + 1 if head.seq > last_seq else head.seq + 1 if head.seq < last_seq else last_seq
    return ChainReport(False, count, last_hash, bad_seq,
                       f"head row disagrees with the last event: head is seq {head.seq}, "
                       f"the log ends at seq {last_seq}" + ("" if head.seq != last_seq else " with another hash"))


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
