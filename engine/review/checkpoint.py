"""Checkpoints: the chain's head (event count and last hash), exported to keep somewhere else.

A chain proves that no event was edited, but not that the newest ones were not
cut off together with the head row. A checkpoint written earlier and kept out
of the database's reach (a ticket, a signed e-mail, a file in version control)
closes that gap: `pdca audit verify --checkpoint FILE` fails if the log no longer
reaches the checkpoint's event or that event's hash changed.

A checkpoint file is JSON lines, one checkpoint per line, so a scheduled
`pdca audit checkpoint --out FILE` appends to the same file; a file holding one
JSON object is read too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.store.audit import canonical_json
from pdcaflow.engine.store.verify import ChainReport, Checkpoint

FORMAT = "pdcaflow-audit-checkpoint"


def checkpoint_record(report: ChainReport, *, actor: str, store: str) -> dict[str, Any]:
    """The checkpoint of a verified chain, as the JSON object that is written."""
    return {"format": FORMAT, "seq": report.count, "hash": report.head_hash,
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds"), "taken_by": actor, "store": store}


def append_checkpoint(record: dict[str, Any], path: Path) -> None:
    """Append one checkpoint line to ``path`` (created, with its folder, if missing).

    Raises:
        ReviewError: the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(canonical_json(record) + "\n")
    except OSError as exc:
        raise ReviewError(f"cannot write the checkpoint to {path}: {exc.strerror}") from exc


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in ``path`` (JSON lines, or one JSON object).

    Raises:
        ReviewError: the file is missing, empty, or a line is not a checkpoint.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReviewError(f"no checkpoint file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewError(f"cannot read the checkpoint file {path}: {exc}") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ReviewError(f"the checkpoint file {path} is empty")
    try:
        whole = json.loads(text)  # one (possibly pretty-printed) object
        records = whole if isinstance(whole, list) else [whole]
    except ValueError:
        try:
            records = [json.loads(line) for line in lines]
        except ValueError as exc:
            raise ReviewError(f"the checkpoint file {path} is not JSON lines: {exc}") from None
    return [_checkpoint(record, path, number) for number, record in enumerate(records, start=1)]


def _checkpoint(record: Any, path: Path, number: int) -> Checkpoint:
    if not isinstance(record, dict):
        raise ReviewError(f"{path} line {number} is not a checkpoint object")
    seq, digest = record.get("seq"), record.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str) \
            or len(digest) != 64:
        raise ReviewError(f"{path} line {number} is not a checkpoint: it needs \"seq\" (a count of events) and "
                          "\"hash\" (64 hex digits)")
    return Checkpoint(seq=seq, hash=digest, taken_at=str(record.get("taken_at", "")))
