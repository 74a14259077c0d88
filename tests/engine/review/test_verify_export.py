"""`pdca audit verify`, `checkpoint` and `export` on SQLite and PostgreSQL: a round trip keeps the head
hash, an edited export or a truncated log is named, a bad folder or manifest is one line and exit 2.

The trail (tests/engine/review/trail.py) has 44 events; the last cycle (other-process #1) ends with
43 carry_over and 44 cycle.completed, which have no rows in the append-only tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.store import Store, append_event, verify_chain
from pdcaflow.engine.store.tables import AuditEvent
from tests.engine.store.seed import behind_the_api

runner = CliRunner()


def audit(store: Store, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", *args, "--db", store.url], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def head(store: Store) -> str:
    with store.read() as session:
        report = verify_chain(session)
    assert report.ok and report.count == 44
    return report.head_hash


def test_verify_prints_the_count_and_the_head_hash(trail: Store) -> None:
    code, stdout, _ = audit(trail, "verify")
    assert code == 0
    assert stdout.splitlines()[:2] == [f"ok: 44 events verified in {trail.display_url}", f"head seq 44 hash {head(trail)}"]


def test_verify_names_the_first_broken_event(trail: Store) -> None:
    behind_the_api(trail, "UPDATE audit_event SET reason = 'nobody asked' WHERE seq = 17")
    code, stdout, _ = audit(trail, "verify")
    assert code == 1
    assert stdout.splitlines()[0] == ("BROKEN at seq 17: hash mismatch: a field or the payload was changed after "
                                      "the event was written")
    assert stdout.splitlines()[1].startswith("16 events verified before it")


@pytest.mark.parametrize("encoding", ["jsonl", "csv"])
def test_export_round_trip_keeps_the_head_hash(trail: Store, tmp_path: Path, encoding: str) -> None:
    with trail.transaction() as session:  # CSV writes "" and None alike: verify must still match
        append_event(session, kind="note", actor="dora", process_id="visit-loop", payload={}, reason="")
    with trail.read() as session:
        expected = verify_chain(session).head_hash
    folder = tmp_path / "export"
    code, stdout, _ = audit(trail, "export", "--format", encoding, "--out", str(folder), "--actor", "auditor")
    assert code == 0, stdout
    assert stdout.splitlines() == [f"exported 45 events and 8 tables to {folder}", f"head seq 45 hash {expected}"]
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["events"] == {"file": f"events.{encoding}", "count": 45, "head_seq": 45, "head_hash": expected}
    assert manifest["store_verify"]["ok"] and manifest["exported_by"] == "auditor"
    assert manifest["files"][f"cycles.{encoding}"]["rows"] == 6
    code, stdout, _ = audit(trail, "verify", "--export", str(folder))
    assert code == 0, stdout
    assert stdout.splitlines()[:2] == [f"ok: 45 events verified in export {folder}", f"head seq 45 hash {expected}"]
    assert "matches the manifest's head" in stdout


def test_an_edited_export_is_named(trail: Store, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    assert audit(trail, "export", "--out", str(folder))[0] == 0
    events = folder / "events.jsonl"
    original = events.read_text("utf-8").splitlines()
    edited = [*original]
    edited[4] = edited[4].replace('"actual":3.8', '"actual":4.8')  # seq 5: the first KPI result
    events.write_text("\n".join(edited) + "\n", "utf-8")
    code, stdout, _ = audit(trail, "verify", "--export", str(folder))
    assert code == 1
    assert "file problem: events.jsonl was changed after the export: its sha256 differs from the manifest's" in stdout
    assert "BROKEN at seq 5: hash mismatch: a field or the payload was changed after the event was written" in stdout
    events.write_text("\n".join(original[:4]) + "\n", "utf-8")  # intact, but the tail cut off
    code, stdout, _ = audit(trail, "verify", "--export", str(folder))
    assert code == 1
    assert "BROKEN at seq 5: the events file ends at seq 4" in stdout and "the manifest's head is seq 44" in stdout


@pytest.mark.parametrize("setup, message", [
    ("missing", "no export folder {folder}"),
    ("no manifest", "no manifest.json in {folder}: not a `pdca audit export` folder"),
    ("not json", "corrupt manifest {folder}/manifest.json: Expecting property name enclosed in double quotes: "
                 "line 1 column 2 (char 1)"),
    ("wrong keys", "corrupt manifest {folder}/manifest.json: 'events'"),
])
def test_a_missing_or_corrupt_export_is_bad_input(trail_url: str, tmp_path: Path, setup: str, message: str) -> None:
    folder = tmp_path / "export"
    if setup != "missing":
        folder.mkdir()
    if setup == "not json":
        (folder / "manifest.json").write_text("{{{", "utf-8")
    if setup == "wrong keys":
        (folder / "manifest.json").write_text('{"format": "pdcaflow-audit-export"}', "utf-8")
    result = runner.invoke(app, ["audit", "verify", "--export", str(folder)])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: " + message.format(folder=folder)


def test_export_refuses_a_folder_that_is_not_empty(trail_url: str, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", "utf-8")
    result = runner.invoke(app, ["audit", "export", "--out", str(tmp_path), "--db", trail_url])
    assert (result.exit_code, result.stderr.strip()) == (
        2, f"error: {tmp_path} is not empty; export into a new or empty folder")


def test_a_checkpoint_exposes_a_truncated_log(trail: Store, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    code, stdout, _ = audit(trail, "checkpoint", "--out", str(checkpoints))
    assert code == 0 and stdout.strip() == f"checkpoint seq 44 hash {head(trail)} appended to {checkpoints}"
    with trail.read() as session:
        hash_42 = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 42))
    behind_the_api(trail, "DELETE FROM audit_event WHERE seq > 42")
    behind_the_api(trail, "UPDATE audit_head SET seq = 42, hash = :hash", hash=hash_42)
    code, stdout, _ = audit(trail, "verify")  # the chain alone cannot tell (the cut was tidy), the rows can:
    assert code == 1 and "row" in stdout.splitlines()[0]  # the last cycle's rows outlive their events
    code, stdout, _ = audit(trail, "verify", "--checkpoint", str(checkpoints))
    assert code == 1
    assert stdout.splitlines()[0].startswith("BROKEN at seq 43: truncated: the checkpoint of ")
    assert stdout.splitlines()[0].endswith(" records 44 events, the log has only 42")
    with trail.transaction() as session:  # the same length again, other content
        for _ in range(2):
            append_event(session, kind="note", actor="mallory", process_id="visit-loop", payload={})
    code, stdout, _ = audit(trail, "verify", "--checkpoint", str(checkpoints))
    assert code == 1
    assert stdout.splitlines()[0].startswith("BROKEN at seq 44: seq 44 differs from the checkpoint of ")


def test_checkpoints_accumulate_and_all_are_checked(trail: Store, tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    assert audit(trail, "checkpoint", "--out", str(checkpoints))[0] == 0
    with trail.transaction() as session:
        append_event(session, kind="note", actor="dora", process_id="visit-loop", payload={"n": 1})
    code, stdout, _ = audit(trail, "checkpoint")
    assert code == 0
    record = json.loads(stdout)
    assert (record["seq"], record["format"]) == (45, "pdcaflow-audit-checkpoint")
    checkpoints.write_text(checkpoints.read_text("utf-8") + stdout, "utf-8")
    code, stdout, _ = audit(trail, "verify", "--checkpoint", str(checkpoints))
    assert code == 0 and "checkpoints: 2 of 2 found unchanged in the log" in stdout


def test_no_checkpoint_of_a_broken_chain(trail: Store) -> None:
    behind_the_api(trail, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    code, stdout, stderr = audit(trail, "checkpoint")
    assert code == 1
    assert stdout.startswith("BROKEN at seq 3") and "error: no checkpoint taken: the chain does not verify" in stderr


@pytest.mark.parametrize("content, message", [
    (None, "no checkpoint file {path}"),
    ("", "the checkpoint file {path} is empty"),
    ('{"seq": "ten", "hash": "x"}', '{path} line 1 is not a checkpoint: it needs "seq" (a count of events) and '
                                   '"hash" (64 hex digits)'),
    ("not json\n", "the checkpoint file {path} is not JSON lines: Expecting value: line 1 column 1 (char 0)"),
])
def test_a_bad_checkpoint_file_is_bad_input(trail_url: str, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "checkpoint.jsonl"
    if content is not None:
        path.write_text(content, "utf-8")
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(path), "--db", trail_url])
    assert (result.exit_code, result.stderr.strip()) == (2, "error: " + message.format(path=path))
