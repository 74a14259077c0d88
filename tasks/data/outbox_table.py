"""The ``pdca_outbox`` table ``notify.send`` writes to in a named connection (an outbox other systems can read).

One row per notification: id, time, process, cycle, recipient, subject, message,
status (``delivered`` / ``partly`` / ``failed``) and the channel results as JSON text.
The table is created on first use. SQLAlchemy is imported when a row is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

TABLE = "pdca_outbox"


def write_outbox_row(url: str, note: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]]) -> str:
    """Insert the notification into ``pdca_outbox`` at ``url`` (creating the table if needed); returns a detail."""
    import sqlalchemy as sa  # SQLAlchemy only when it is used (start-up speed)

    metadata = sa.MetaData()
    table = sa.Table(
        TABLE, metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deliveries", sa.Text, nullable=False),
    )
    failed = sum(not delivery["ok"] for delivery in deliveries)
    status = "delivered" if not failed else ("failed" if failed == len(deliveries) else "partly")
    engine = sa.create_engine(url)
    try:
        metadata.create_all(engine, checkfirst=True)
        with engine.begin() as connection:
            connection.execute(table.insert().values(
                id=note["id"], created_at=note["at"], process_id=note["process"], cycle=note["cycle"],
                recipient=note["to"], subject=note["subject"], message=note["message"], status=status,
                deliveries=json.dumps(list(deliveries), ensure_ascii=False, default=str)))
    finally:
        engine.dispose()
    return f"{TABLE} row {note['id']}"
