"""The whole trail to files, and checking such files again without the database.

`pdca audit export --format jsonl|csv --out DIR` writes ``events.<ext>`` (every
event with the fields its hash covers and the hash), one file per table
(definition versions, cycles, step runs, KPI results, decisions, actions,
carry-overs) and ``manifest.json``: counts, the head sequence number and hash,
the sha256 of every file, and how the store verified while it was read (one
read transaction, so the files are one consistent snapshot).

`pdca audit verify --export DIR` recomputes the chain from the events file
alone, compares its end with the manifest's head and every file with its sha256.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.review.events import stream_events
from pdcaflow.engine.review.event_records import (
    EVENT_COLUMNS, csv_cell, event_record, read_event_csv, read_jsonl, write_csv, write_jsonl,
)
from pdcaflow.engine.store.audit import HASHED_FIELDS, canonical_at, canonical_json
from pdcaflow.engine.store.tables import Action, ActionUpdate, CarryOver, Cycle, Decision, DefinitionVersion, KpiResult, StepRun
from pdcaflow.engine.review.signed import SignedLog, against_signed, copy_into_export
from pdcaflow.engine.store.attest import walk_with_roots
from pdcaflow.engine.store.verify import ChainReport, Checkpoint, Link, finish, link_of, walk_links

FORMAT = "pdcaflow-audit-export"
MANIFEST = "manifest.json"
FORMATS = ("jsonl", "csv")
TABLES = {"definition_versions": DefinitionVersion, "cycles": Cycle, "step_runs": StepRun,
          "kpi_results": KpiResult, "decisions": Decision, "actions": Action, "action_updates": ActionUpdate,
          "carry_overs": CarryOver}
HASH_RULE = ("hash = sha256 of the UTF-8 canonical JSON (sorted keys, no whitespace, non-ASCII kept) of seq, at, "
             "actor, kind, process_id, cycle_number, step_id, payload, reason, prev_hash; prev_hash = the hash of "
             "the event before (64 zeros for seq 1)")


@dataclass
class ExportCheck:
    """What verifying an export found: the chain's report and any file that disagrees with the manifest."""

    report: ChainReport
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.problems


def export_trail(session: Session, folder: Path, encoding: str, *, actor: str, store: str,
                 signed: SignedLog | None = None) -> dict[str, Any]:
    """Write the trail into ``folder`` (new or empty) and return the manifest written with it.

    ``signed``: the store's signed checkpoints; those of at most the exported events are copied
    into ``checkpoints/``, so that the export verifies offline with only the public key.

    Raises:
        ReviewError: an unknown format, or ``folder`` is a file or not empty or cannot be written.
    """
    if encoding not in FORMATS:
        raise ReviewError(f"unknown --format '{encoding}' for export: use jsonl or csv")
    _prepare(folder)
    if session.get_bind().dialect.name == "postgresql":  # one snapshot for every file (first statement)
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    files: dict[str, dict[str, Any]] = {}
    events_name = f"events.{encoding}"
    try:
        with (folder / events_name).open("w", encoding="utf-8", newline="") as stream:
            written = _Written()
            links = _written_links(session, stream, encoding, written)
            walk = walk_links(links)
            for _ in links:  # past a problem: the file still gets every event
                pass
        files[events_name] = {"rows": written.count}
        for name, model in TABLES.items():
            files[f"{name}.{encoding}"] = {"rows": _dump_table(session, model, folder / f"{name}.{encoding}", encoding)}
    except OSError as exc:
        raise ReviewError(f"cannot write the export to {folder}: {exc.strerror}") from exc
    for name in files:
        files[name]["sha256"] = file_sha256(folder / name)
    report = finish(session, walk)
    manifest = {
        "format": FORMAT, "format_version": 1, "encoding": encoding,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"), "exported_by": actor, "store": store,
        "events": {"file": events_name, "count": written.count, "head_seq": written.last_seq,
                   "head_hash": written.last_hash},
        "store_verify": {"ok": report.ok, "count": report.count, "head_hash": report.head_hash,
                         "first_bad_seq": report.first_bad_seq, "what_differs": report.what_differs},
        "files": files, "hash_rule": HASH_RULE,
    }
    if signed is not None and signed.checkpoints:
        manifest["checkpoints"] = {"folder": "checkpoints", "count": copy_into_export(signed, folder, written.count)}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    return manifest


def verify_export(folder: Path, checkpoints: list[Checkpoint] | None = None,
                  signed: SignedLog | None = None) -> ExportCheck:
    """Recompute the chain of an export and check every file against its manifest (and ``signed`` checkpoints).

    Raises:
        ReviewError: no such folder, no manifest, or a manifest that is not one.
    """
    manifest = read_manifest(folder)
    problems = []
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif file_sha256(path) != expected.get("sha256"):
            problems.append(f"{name} was changed after the export: its sha256 differs from the manifest's")
    events = manifest["events"]
    path = folder / events["file"]
    if not path.is_file():
        return ExportCheck(ChainReport(False, 0, "0" * 64, 1, f"{events['file']} is missing"), manifest, problems)
    with path.open(encoding="utf-8", newline="") as stream:
        try:
            sizes = [checkpoint.size for checkpoint in signed.checkpoints] if signed is not None else []
            walk, roots, _ = walk_with_roots(_read_links(stream, manifest["encoding"], events["file"]), sizes,
                                             checkpoints or ())
        except ValueError as exc:
            return ExportCheck(ChainReport(False, 0, "0" * 64, None, str(exc)), manifest, problems)
    report = ChainReport(walk.problem is None, walk.count, walk.last_hash, walk.bad_seq, walk.problem,
                         walk.checkpoints)
    if report.ok and (walk.last_seq, walk.last_hash) != (events["head_seq"], events["head_hash"]):
        report = ChainReport(False, walk.count, walk.last_hash, min(walk.last_seq, events["head_seq"]) + 1,
                             f"the events file ends at seq {walk.last_seq} (hash {walk.last_hash[:16]}…), the "
                             f"manifest's head is seq {events['head_seq']} (hash {str(events['head_hash'])[:16]}…)",
                             walk.checkpoints)
    if report.ok and signed is not None:
        report = against_signed(report, walk, roots, signed)
    return ExportCheck(report, manifest, problems)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The export's manifest, checked for the keys verify needs.

    Raises:
        ReviewError: the folder or its manifest is missing, or the manifest is corrupt.
    """
    if not folder.is_dir():
        raise ReviewError(f"no export folder {folder}")
    path = folder / MANIFEST
    if not path.is_file():
        raise ReviewError(f"no {MANIFEST} in {folder}: not a `pdca audit export` folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        events, files = manifest["events"], manifest["files"]
        valid = (manifest.get("format") == FORMAT and manifest.get("encoding") in FORMATS
                 and isinstance(events["file"], str) and isinstance(events["head_seq"], int)
                 and isinstance(events["head_hash"], str) and isinstance(files, dict))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ReviewError(f"corrupt manifest {path}: {exc}") from None
    if not valid:
        raise ReviewError(f"corrupt manifest {path}: not a {FORMAT} manifest (format, encoding, events, files)")
    return manifest


def event_records(folder: Path) -> Iterator[dict[str, Any]]:
    """The export's event records, in order (JSON lines or CSV, as its manifest says)."""
    manifest = read_manifest(folder)
    name = manifest["events"]["file"]
    try:
        with (folder / name).open(encoding="utf-8", newline="") as stream:
            reader = read_jsonl if manifest["encoding"] == "jsonl" else read_event_csv
            yield from reader(stream, name)
    except OSError as exc:
        raise ReviewError(f"cannot read {folder / name}: {exc.strerror}") from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Written:
    count: int = 0
    last_seq: int = 0
    last_hash: str = "0" * 64


def _written_links(session: Session, stream: Any, encoding: str, written: _Written) -> Iterator[Link]:
    """Write each stored event as a record and yield its link, so one pass both exports and verifies."""
    writer = csv.writer(stream, lineterminator="\r\n") if encoding == "csv" else None
    if writer is not None:
        writer.writerow(EVENT_COLUMNS)
    for event in stream_events(session):
        record = event_record(event)
        if writer is not None:
            writer.writerow([csv_cell(record[column]) for column in EVENT_COLUMNS])
        else:
            stream.write(canonical_json(record) + "\n")
        written.count, written.last_seq, written.last_hash = written.count + 1, record["seq"], record["hash"]
        yield _link(record)


def _read_links(stream: Any, encoding: str, name: str) -> Iterator[Link]:
    records = read_jsonl(stream, name) if encoding == "jsonl" else read_event_csv(stream, name)
    for record in records:
        missing = [column for column in (*HASHED_FIELDS, "hash") if column not in record]
        if missing:
            raise ValueError(f"{name}: event {record.get('seq')} lacks {', '.join(missing)}")
        link = _link(record)
        if link.content_hash != link.hash and encoding == "csv":
            link = _csv_alternatives(record, link)
        yield link


def _link(record: dict[str, Any]) -> Link:
    return link_of(*(record[column] for column in (*HASHED_FIELDS, "hash")))


def _csv_alternatives(record: dict[str, Any], first: Link) -> Link:
    """CSV writes ``None`` and ``""`` alike: try ``""`` for the empty text fields before calling it broken."""
    empty = [column for column in ("step_id", "reason") if record[column] is None]
    for choice in ([empty[0]], [empty[-1]], empty) if empty else ():
        link = _link({**record, **{column: "" for column in choice}})
        if link.content_hash == link.hash:
            return link
    return first


def _dump_table(session: Session, model: Any, path: Path, encoding: str) -> int:
    columns = tuple(column.key for column in inspect(model).columns)
    key = inspect(model).primary_key[0]
    rows = session.execute(select(*inspect(model).columns).order_by(key).execution_options(yield_per=2000))
    records = ({name: _plain(value) for name, value in zip(columns, row, strict=True)} for row in rows)
    with path.open("w", encoding="utf-8", newline="") as stream:
        return write_jsonl(records, stream) if encoding == "jsonl" else write_csv(records, stream, columns)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return canonical_at(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _prepare(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise ReviewError(f"{folder} is a file; --out needs a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise ReviewError(f"{folder} is not empty; export into a new or empty folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReviewError(f"cannot create {folder}: {exc.strerror}") from exc
