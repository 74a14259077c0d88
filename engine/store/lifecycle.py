"""What a new cycle may start from: the process's cycle rows and latest carry-over, checked against their events.

``pdcaflow.engine.runtime.cycle.begin_cycle`` calls :func:`check_before_start` first, in its transaction.
The cycle rows decide which cycle is resumed and which cycles' KPI results are history;
the latest carry-over is the plan the new cycle starts from. Each must still say what the
events written with it say (``pdcaflow.engine.store.rowcheck_cycles``): the latest lifecycle event
of a cycle is the truth about its status, and the ``carry_over`` event (itself checked
against its hash and the next event's link) the truth about the plan. When a row
disagrees, no cycle starts: :class:`RecordMismatchError` names the table, the row, the
cycle and the event, and says what the operator does. Never silently, and never a
constraint crash later (a completed cycle made to look failed would otherwise be
"resumed" and fail on its existing carry-over at every run).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.store.audit import lock_head
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.engine.store.rowcheck_cycles import first_cycle_problem
from pdcaflow.engine.store.verify import LINK_COLUMNS, link_of

WHAT_TO_DO = ("no cycle was started. Run pdca audit verify, then have a database administrator restore the row "
              "as its event records it")

class RecordMismatchError(StoreError):
    """A row a new cycle depends on disagrees with the event written with it; no cycle was started."""


def check_before_start(session: Session, process_id: str) -> None:
    """Refuse to start a cycle of ``process_id`` from rows its events do not vouch for.

    A cycle row's owner (host, pid) is left to ``pdca audit verify``: it only decides whether
    the cycle looks busy (a clear refusal either way), never what the next cycle starts from.

    Raises:
        RecordMismatchError: a cycle row of the process, or its latest carry-over row, differs
            from its events, is missing, or has none; or that carry-over's event no longer
            matches its hash.
    """
    # The chain's lock first (as every writer takes it): a cycle another process completes meanwhile
    # is then seen whole, its row and its event, never the row's new status beside the event before it
    # (PostgreSQL's read committed takes a new snapshot per statement).
    lock_head(session)
    latest = session.execute(select(AuditEvent.seq, AuditEvent.cycle_number).where(
        AuditEvent.process_id == process_id, AuditEvent.kind == "carry_over")
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if latest is not None:
        _check_event(session, latest.seq, f"{process_id} cycle {latest.cycle_number}")
    problem = first_cycle_problem(session, process_id, carry_over_from=latest.cycle_number if latest else 0,
                                  owners=False)
    if problem is not None:
        raise RecordMismatchError(f"{problem.what}; {WHAT_TO_DO}")


def _check_event(session: Session, seq: int, cycle: str) -> None:
    """The carry-over's event still hashes to its ``hash``, and the event after it still links to that hash."""
    rows = session.execute(select(*LINK_COLUMNS).where(AuditEvent.seq.in_((seq, seq + 1)))
                           .order_by(AuditEvent.seq)).all()
    link = link_of(*rows[0])
    following: Any = rows[1] if len(rows) > 1 else None
    if link.content_hash != link.hash or (following is not None and following.prev_hash != link.hash):
        raise RecordMismatchError(
            f"the carry_over event seq {seq} ({cycle}) no longer matches its hash: the record itself was changed "
            "behind pdca; no cycle was started. Run pdca audit verify, and restore the store from a backup")
