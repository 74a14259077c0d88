"""Recompute the hash chain, streaming in constant memory, and name the first broken link.

``verify_chain`` checks, in sequence order: numbering from 1 without gaps, each
``prev_hash`` against the hash of the event before, each ``hash`` against the
event's stored content, the head row against the last event (a deleted tail),
any checkpoints given (a later rewrite or truncation of the log, even one that
also rewrote the head row), and finally that every row of the append-only
tables still says what its event says (``pdcaflow.engine.store.rowcheck``).

The same walk verifies an exported trail (``pdcaflow.engine.review.export``): both feed
:func:`walk_links` with :class:`Link` tuples.

Speed: JSON columns are stored in the canonical form (``audit.stored_json``), so
an event's hash is recomputed by splicing the stored payload text between the
other fields, without parsing it. Only when that disagrees (a store written
before the canonical form, or an edited row) is the payload parsed and
re-encoded, and only then is an event called broken.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from pdcaflow.engine.store.audit import canonical_at, canonical_json, content_hash
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import GENESIS_HASH, AuditEvent, AuditHead

VERIFY_BATCH = 5000


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`.

    Attributes:
        ok: every event, link, the head row, the checkpoints and the append-only rows are consistent.
        count: events whose links were verified (up to the first problem when the chain itself is broken).
        head_hash: the hash of the last good event (64 zeros for an empty log).
        first_bad_seq: the first sequence number that is wrong or missing; ``None`` when ok
            (and for a row of an append-only table that has no event at all).
        what_differs: what is wrong there, in words; ``None`` when ok.
        checkpoints: how many of the given checkpoints were matched.
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    what_differs: str | None = None
    checkpoints: int = 0


@dataclass(frozen=True)
class Checkpoint:
    """A head the log once had: ``seq`` events, the last one hashing to ``hash`` (see ``pdcaflow.engine.review.checkpoint``)."""

    seq: int
    hash: str
    taken_at: str = ""


class Link(NamedTuple):
    """One event as the walk sees it: its numbering and links, and the hash of its content as stored now.

    ``content_hash`` is ``None`` when the content could not be read; ``problem`` then says why.
    """

    seq: int
    prev_hash: str
    hash: str
    content_hash: str | None
    problem: str | None = None


def link_of(seq: Any, at: Any, actor: Any, kind: Any, process_id: Any, cycle_number: Any, step_id: Any,
            payload: Any, reason: Any, prev_hash: Any, stored_hash: Any) -> Link:
    """A :class:`Link` from stored fields; ``payload`` is JSON text (fast path) or already-parsed data."""
    try:
        at_text = canonical_at(at)
    except ValueError:
        return Link(seq, prev_hash, stored_hash, None, f"its time {at!r} is not a datetime")
    if isinstance(payload, str):
        computed = content_hash(seq, at_text, actor, kind, process_id, cycle_number, step_id, payload, reason,
                                prev_hash)
        if computed == stored_hash:
            return Link(seq, prev_hash, stored_hash, computed)
        try:
            payload = json.loads(payload)
        except ValueError:
            return Link(seq, prev_hash, stored_hash, None, "its payload is not valid JSON")
    try:
        payload_text = canonical_json(payload)
    except StoreError as exc:  # e.g. NaN in hand-edited JSON text
        return Link(seq, prev_hash, stored_hash, None, f"its payload cannot be hashed: {exc}")
    computed = content_hash(seq, at_text, actor, kind, process_id, cycle_number, step_id, payload_text, reason,
                            prev_hash)
    return Link(seq, prev_hash, stored_hash, computed)


class WalkResult(NamedTuple):
    """Where :func:`walk_links` stopped: the last good event, and the first problem if any."""

    count: int  # type: ignore[assignment]  # shadows tuple.count(), which no caller of a WalkResult uses
    last_seq: int
    last_hash: str
    bad_seq: int | None
    problem: str | None
    checkpoints: int


def walk_links(links: Iterable[Link], checkpoints: Sequence[Checkpoint] = ()) -> WalkResult:
    """Check numbering, links and content hashes in order; stop at the first problem.

    Holds one event (and one look-ahead) at a time, so memory does not grow with the log.
    """
    wanted = {checkpoint.seq: checkpoint for checkpoint in checkpoints}
    matched = 0
    count, last_seq, last_hash = 0, 0, GENESIS_HASH
    iterator: Iterator[Link] = iter(links)
    for link in iterator:
        problem = _link_problem(link, last_seq, last_hash, iterator)
        if problem is not None:
            bad_seq = last_seq + 1 if link.seq != last_seq + 1 else link.seq
            return WalkResult(count, last_seq, last_hash, bad_seq, problem, matched)
        checkpoint = wanted.get(link.seq)
        if checkpoint is not None:
            if checkpoint.hash != link.hash:
                return WalkResult(count, last_seq, last_hash, link.seq,
                                  f"seq {link.seq} differs from the checkpoint{_taken(checkpoint)}: the checkpoint "
                                  f"has hash {checkpoint.hash[:16]}…, the log {link.hash[:16]}… (the log was "
                                  "rewritten at or before this event)", matched)
            matched += 1
        count, last_seq, last_hash = count + 1, link.seq, link.hash
    beyond = [checkpoint for checkpoint in checkpoints if checkpoint.seq > last_seq]
    if beyond:
        longest = max(beyond, key=lambda checkpoint: checkpoint.seq)
        return WalkResult(count, last_seq, last_hash, last_seq + 1,
                          f"truncated: the checkpoint{_taken(longest)} records {longest.seq} events, "
                          f"the log has only {last_seq}", matched)
    return WalkResult(count, last_seq, last_hash, None, None, matched)


def verify_chain(session: Session, *, checkpoints: Sequence[Checkpoint] = (), rows: bool = True) -> ChainReport:
    """Recompute the whole chain, streaming, and report the first broken link.

    Args:
        checkpoints: heads exported earlier; each must still be in the log, unchanged.
        rows: also check the tables written with events (KPI results, decisions, definition
            versions, actions, step runs, cycles, carry-overs) against their events.
    """
    return finish(session, walk_links(stored_links(session), checkpoints), rows=rows)


def finish(session: Session, walk: WalkResult, *, rows: bool = True) -> ChainReport:
    """The report of a walk over the stored events: plus the head row and (``rows``) the append-only tables."""
    if walk.problem is not None:
        return ChainReport(False, walk.count, walk.last_hash, walk.bad_seq, walk.problem, walk.checkpoints)
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None:
        return ChainReport(False, walk.count, walk.last_hash, walk.last_seq + 1, "the audit_head row is missing",
                           walk.checkpoints)
    if head.seq != walk.last_seq or head.hash != walk.last_hash:
        last = walk.last_seq
        bad_seq = last + 1 if head.seq > last else head.seq + 1 if head.seq < last else last
        return ChainReport(False, walk.count, walk.last_hash, bad_seq,
                           f"head row disagrees with the last event: head is seq {head.seq}, "
                           f"the log ends at seq {last}" + ("" if head.seq != last else " with another hash"),
                           walk.checkpoints)
    if rows:
        from pdcaflow.engine.store.rowcheck import first_row_problem  # only when the chain itself holds

        problem = first_row_problem(session)
        if problem is not None:
            return ChainReport(False, walk.count, walk.last_hash, problem.seq, problem.what, walk.checkpoints)
    return ChainReport(True, walk.count, walk.last_hash, checkpoints=walk.checkpoints)


# The columns a Link is made of, as stored (the payload text is hashed as is).
LINK_COLUMNS = (AuditEvent.seq, type_coerce(AuditEvent.at, String), AuditEvent.actor, AuditEvent.kind,
                AuditEvent.process_id, AuditEvent.cycle_number, AuditEvent.step_id,
                cast(AuditEvent.payload, Text), AuditEvent.reason, AuditEvent.prev_hash, AuditEvent.hash)


def stored_links(session: Session, after: int = 0) -> Iterator[Link]:
    """The store's events after seq ``after`` as links, in sequence order, fetched in batches."""
    statement = select(*LINK_COLUMNS).order_by(AuditEvent.seq).execution_options(yield_per=VERIFY_BATCH)
    if after:
        statement = statement.where(AuditEvent.seq > after)
    result = session.connection().execute(statement)
    try:
        for row in result:
            yield link_of(*row)
    finally:
        result.close()


def _link_problem(link: Link, last_seq: int, last_hash: str, following: Iterator[Link]) -> str | None:
    if link.seq != last_seq + 1:
        return f"sequence gap after {last_seq}: the next event is {link.seq}" if last_seq else \
            f"the log starts at {link.seq}, not 1"
    if link.prev_hash != last_hash:
        return (f"prev_hash does not match the hash of seq {last_seq}" if last_seq
                else "prev_hash of seq 1 is not the genesis hash (64 zeros)")
    if link.problem is not None:
        return f"unreadable event: {link.problem}"
    if link.content_hash != link.hash:
        after = next(following, None)
        if after is not None and after.prev_hash == link.content_hash:
            return (f"hash mismatch: the hash column of seq {link.seq} was changed (its content still matches "
                    f"the prev_hash of seq {after.seq})")
        return "hash mismatch: a field or the payload was changed after the event was written"
    return None


def _taken(checkpoint: Checkpoint) -> str:
    return f" of {checkpoint.taken_at}" if checkpoint.taken_at else ""
