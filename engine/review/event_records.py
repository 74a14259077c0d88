"""An event as plain data, and the JSON, JSON-lines and CSV forms `pdca audit log` and `export` write.

An event's record holds exactly the fields its hash covers, in their canonical
text (``at`` as ISO 8601 UTC with microseconds), plus ``hash``: whoever has the
record can recompute the chain without pdcaflow's database. In CSV the payload
is its canonical JSON text and a missing value is an empty field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pdcaflow.engine.store.audit import HASHED_FIELDS, canonical_at, canonical_json
from pdcaflow.engine.store.tables import AuditEvent

EVENT_COLUMNS = (*HASHED_FIELDS, "hash")
"""seq, at, actor, kind, process_id, cycle_number, step_id, payload, reason, prev_hash, hash."""


def event_record(event: AuditEvent) -> dict[str, Any]:
    """The event's hashed fields and hash, JSON-ready (``at`` as canonical text)."""
    return {"seq": event.seq, "at": canonical_at(event.at), "actor": event.actor, "kind": event.kind,
            "process_id": event.process_id, "cycle_number": event.cycle_number, "step_id": event.step_id,
            "payload": event.payload, "reason": event.reason, "prev_hash": event.prev_hash, "hash": event.hash}


def write_json(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """A JSON array, one record per line inside it; returns how many were written."""
    count = 0
    stream.write("[")
    for record in records:
        stream.write(("\n" if count == 0 else ",\n") + canonical_json(record))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count


def write_jsonl(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """One canonical JSON object per line; returns how many were written."""
    count = 0
    for record in records:
        stream.write(canonical_json(record) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], stream: IO[str], columns: tuple[str, ...] = EVENT_COLUMNS) -> int:
    """A header and one row per record; nested values as canonical JSON text, ``None`` as an empty field."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for record in records:
        writer.writerow([csv_cell(record.get(column)) for column in columns])
        count += 1
    return count


def read_jsonl(stream: IO[str], name: str) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file, one at a time.

    Raises:
        ValueError: a line is not a JSON object (the message names the file and line).
    """
    for number, line in enumerate(stream, start=1):
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{name} line {number} is not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise ValueError(f"{name} line {number} is not a JSON object")
        yield record


def read_event_csv(stream: IO[str], name: str) -> Iterator[dict[str, Any]]:
    """Event records of an events CSV; an empty nullable text field comes back as ``None``.

    (CSV cannot tell ``None`` from ``""``; ``export.verify_export`` tries the other when a hash disagrees.)

    Raises:
        ValueError: the header is not the event columns, or a number or the payload does not parse.
    """
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or tuple(header) != EVENT_COLUMNS:
        raise ValueError(f"{name} does not start with the header {','.join(EVENT_COLUMNS)}")
    for number, row in enumerate(reader, start=2):
        if len(row) != len(EVENT_COLUMNS):
            raise ValueError(f"{name} line {number} has {len(row)} fields, not {len(EVENT_COLUMNS)}")
        record: dict[str, Any] = dict(zip(EVENT_COLUMNS, row, strict=True))
        try:
            record["seq"] = int(record["seq"])
            record["cycle_number"] = int(record["cycle_number"]) if record["cycle_number"] else None
            record["payload"] = json.loads(record["payload"])
        except ValueError as exc:
            raise ValueError(f"{name} line {number}: {exc}") from None
        for column in ("step_id", "reason"):
            record[column] = record[column] or None
        yield record


def csv_cell(value: Any) -> Any:
    """A value as a CSV field: nested data and booleans as canonical JSON, ``None`` as an empty field."""
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        return canonical_json(value)
    return value
