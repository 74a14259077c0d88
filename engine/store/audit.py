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
(:func:`append_correction`). Verifying the chain is ``pdcaflow.engine.store.verify``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import AuditEvent, AuditHead

_HEAD_KEY = "pdca_chain_head"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False)
_encode_text = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses for a str
_INSERT_EVENT = insert(AuditEvent)
_MOVE_HEAD = update(AuditHead).where(AuditHead.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
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
    without parsing and re-encoding it (``pdcaflow.engine.store.verify``).
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
    they queue instead of deadlocking. It is held until the caller's transaction ends,
    so within one transaction the head is read once and then kept in ``session.info``
    (forgotten when any transaction or savepoint of the session ends).
    """
    transaction = session.get_transaction()
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    statement = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    head = session.execute(statement).one_or_none()
    if head is None:
        raise StoreError("the audit store has no audit_head row; it was not created by its migrations")
    session.info[_HEAD_KEY] = (session.get_transaction(), ChainHead(head.seq, head.hash))
    return ChainHead(head.seq, head.hash)


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: Any) -> None:
    # The transaction, or a savepoint (its rollback may undo appends); not the flush's own sub-transaction.
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEAD_KEY, None)


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
    payload_text = canonical_json(dict(payload))
    fields: dict[str, Any] = {
        "seq": head.seq + 1, "at": utc_now(), "actor": actor, "kind": kind, "process_id": process_id,
        "cycle_number": cycle_number, "step_id": step_id, "payload": json.loads(payload_text),
        "reason": reason, "prev_hash": head.hash,
    }
    fields["hash"] = content_hash(fields["seq"], canonical_at(fields["at"]), actor, kind, process_id, cycle_number,
                                  step_id, payload_text, reason, head.hash)
    # Core statements on the session's connection: the ORM's unit of work cost four times as much per event.
    connection = session.connection()
    connection.execute(_INSERT_EVENT, fields)
    connection.execute(_MOVE_HEAD, {"new_seq": fields["seq"], "new_hash": fields["hash"]})
    session.info[_HEAD_KEY] = (session.get_transaction(), ChainHead(fields["seq"], fields["hash"]))
    return AuditEvent(**fields)  # a plain record of what was written (not attached to the session)


def content_hash(seq: Any, at: Any, actor: Any, kind: Any, process_id: Any, cycle_number: Any, step_id: Any,
                 payload_text: str, reason: Any, prev_hash: Any) -> str:
    """sha256 of the canonical JSON of an event's fields, with ``payload_text`` spliced in as it is.

    Equal to :func:`event_hash` of the same fields whenever ``payload_text`` is the
    canonical JSON of the payload and ``at`` its canonical text: the keys in sorted
    order (actor, at, cycle_number, kind, payload, prev_hash, process_id, reason, seq,
    step_id), each value encoded exactly as ``json.dumps`` would (tests/engine/store/test_audit.py).
    """
    text = (f'{{"actor":{_value(actor)},"at":{_value(at)},"cycle_number":{_value(cycle_number)},'
            f'"kind":{_value(kind)},"payload":{payload_text},"prev_hash":{_value(prev_hash)},'
            f'"process_id":{_value(process_id)},"reason":{_value(reason)},"seq":{_value(seq)},'
            f'"step_id":{_value(step_id)}}}')
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _value(value: Any) -> str:
    """One value as canonical JSON; the common types without building an encoder (verify's hot path)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _encode_text(value)
    if kind is int:
        return int.__repr__(value)
    return _ENCODER.encode(value)


def canonical_at(value: Any) -> str:
    """The ISO 8601 UTC text an event's ``at`` hashes as, from a datetime or the text SQLite stores.

    Raises:
        ValueError: the value is not a datetime.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if len(value) == 26 and value[10] == " ":  # SQLAlchemy's SQLite form: 2026-11-22 15:30:00.000000
            return f"{value[:10]}T{value[11:]}+00:00"
        moment = datetime.fromisoformat(value)
    else:
        raise ValueError(f"{value!r} is not a datetime")
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


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
