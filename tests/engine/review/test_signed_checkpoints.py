"""Signed, Merkle-rooted checkpoints (issue 13, finding 5) on SQLite and PostgreSQL: a forged event with a
correct hash chain, events appended behind the API, another key's checkpoint, a truncated log; proofs;
a checkpoint after every cycle; everything checked offline from an export with only the public key.

The trail (tests/engine/review/trail.py) has 44 events. Each test works in its own folder (the default key and
checkpoint log of a store are found from the working folder, or beside a SQLite file).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.cli.app import app
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.review.event_records import event_record
from pdcaflow.engine.store import Store, append_event
from pdcaflow.engine.store.audit import event_hash
from pdcaflow.engine.store.tables import GENESIS_HASH, AuditEvent
from pdcaflow.engine.store.note import SignerKey, VerifierKey, checkpoint_body
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES
from tests.engine.store.seed import behind_the_api

runner = CliRunner()
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder as the working folder, with a config naming where the key and checkpoints go."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pdca.toml").write_text('[audit]\nsigning_key = "keys/audit-key"\ncheckpoints = "signed"\n', "utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PDCA_CONFIG", str(folder / "pdca.toml"))
    monkeypatch.setenv("PDCA_AUDIT_AFTER_CYCLE", "1")
    assert pdca("audit", "keygen", "--name", "example.org/quality")[0] == 0
    return folder


def pdca(*args: str, db: Store | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, *(("--db", db.url) if db is not None else ())], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def note(store: Store, kind: str = "note", **payload: object) -> None:
    with store.transaction() as session:
        append_event(session, kind=kind, actor="dora", process_id="visit-loop", payload=payload, reason="by hand")


def forge(store: Store, seq: int, **changes: object) -> None:
    """Rewrite event ``seq`` behind the API and recompute every hash after it and the head row: the chain holds."""
    with store.read() as session:
        records = [event_record(event) for event in session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq))]
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)) or GENESIS_HASH
    cast = "CAST(:payload AS JSON)" if store.engine.dialect.name == "postgresql" else ":payload"
    for record in records:
        record.update(changes if record["seq"] == seq else {})
        record["prev_hash"], record["hash"] = previous, event_hash({**record, "prev_hash": previous})
        behind_the_api(store, f"UPDATE audit_event SET payload = {cast}, prev_hash = :prev, hash = :hash "
                              "WHERE seq = :seq", payload=json.dumps(record["payload"]), prev=previous,
                       hash=record["hash"], seq=record["seq"])
        previous = record["hash"]
    behind_the_api(store, "UPDATE audit_head SET hash = :hash", hash=previous)


def test_the_note_format_matches_the_go_reference_byte_for_byte() -> None:
    signer = SignerKey.from_text(GO_SKEY)
    assert signer.verifier().text() == GO_VKEY and VerifierKey.from_text(GO_VKEY) == signer.verifier()
    assert signer.text() == GO_SKEY
    assert signer.sign(GO_TEXT) == f"{GO_TEXT}\n\u2014 PeterNeumann {GO_SIGNATURE}\n"
    assert checkpoint_body("example.org/log", 44, bytes(32)) == (
        "example.org/log\n44\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")


def test_a_forged_plan_override_with_a_correct_chain_is_caught(project: Path, trail: Store) -> None:
    assert pdca("audit", "sign", db=trail)[0] == 0  # 44 events
    note(trail, "plan.override", param="visits", value=2)
    assert pdca("audit", "sign", db=trail)[0] == 0  # 45
    note(trail, n=1)
    assert pdca("audit", "sign", db=trail)[0] == 0  # 46
    forge(trail, 45, payload={"param": "visits", "value": 6})
    code, stdout, _ = pdca("audit", "verify", "--checkpoints", "/nonexistent", db=trail)
    assert code == 0 and "all 46 events are unattested" in stdout  # the chain alone cannot tell (the hole)
    code, stdout, _ = pdca("audit", "verify", db=trail)
    assert code == 1
    assert stdout.splitlines()[0] == (
        "BROKEN at seq 45: the first 45 events differ from their signed checkpoint (root "
        f"{stdout.split('(root ')[1].split('…')[0]}… signed, {stdout.split('signed, ')[1].split('…')[0]}… in the "
        "log): an event from seq 45 to 45 was rewritten, deleted or inserted (the signed checkpoint of 44 events "
        "still matches)")
    code, _, stderr = pdca("audit", "sign", db=trail)  # nothing is signed over a rewritten history
    assert code == 1 and "no checkpoint signed: event 46, the last one the newest signed checkpoint covers, was " \
                         "changed" in stderr
    (project / "signed" / "compact-range.json").unlink()
    code, _, stderr = pdca("audit", "sign", db=trail)
    assert code == 1 and "no checkpoint signed: at seq 45: the first 45 events differ" in stderr


def test_events_appended_after_the_checkpoint_are_reported_unattested(project: Path, trail: Store) -> None:
    assert pdca("audit", "sign", db=trail)[0] == 0
    for number in range(3):
        note(trail, n=number)
    code, stdout, _ = pdca("audit", "verify", db=trail)
    assert code == 0
    assert stdout.splitlines()[-2:] == [
        "signed checkpoints: 1 verified with the key example.org/quality; the newest covers seq 1-44",
        "unattested: 3 events after the newest signed checkpoint (seq 45-47); the next cycle's checkpoint or "
        "`pdca audit sign` covers them"]
    code, _, stderr = pdca("audit", "prove", "46", db=trail)
    assert code == 2 and "event 46 is not covered by the newest signed checkpoint (44 events)" in stderr


def test_a_checkpoint_signed_with_another_key_is_refused(project: Path, trail: Store) -> None:
    assert pdca("audit", "sign", db=trail)[0] == 0
    intruder = SignerKey.generate("example.org/quality")  # the same name, another key
    (project / "signed" / "000000000099.checkpoint").write_text(
        intruder.sign(checkpoint_body("example.org/quality", 99, bytes(32))), "utf-8")
    code, stdout, _ = pdca("audit", "verify", db=trail)
    assert code == 1
    assert stdout.splitlines()[0] == (
        f"BROKEN: the checkpoint {project}/signed/000000000099.checkpoint is refused: not signed by the key "
        f"example.org/quality (id {SignerKey.from_text((project / 'keys/audit-key').read_text()).verifier().id.hex()})"
        "; signed by: example.org/quality")
    genuine = project / "signed" / "000000000044.checkpoint"
    (project / "signed" / "000000000099.checkpoint").unlink()
    genuine.write_text(genuine.read_text("utf-8").replace("\n44\n", "\n43\n"), "utf-8")  # an edited note
    code, stdout, _ = pdca("audit", "verify", db=trail)
    assert code == 1 and "does not verify: the checkpoint was changed after it was signed" in stdout


def test_a_truncated_log_fails(project: Path, trail: Store) -> None:
    assert pdca("audit", "sign", db=trail)[0] == 0
    with trail.read() as session:
        hash_42 = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 42))
    behind_the_api(trail, "DELETE FROM audit_event WHERE seq > 42")
    behind_the_api(trail, "UPDATE audit_head SET seq = 42, hash = :hash", hash=hash_42)
    code, stdout, _ = pdca("audit", "verify", db=trail)
    assert code == 1
    assert stdout.splitlines()[0] == ("BROKEN at seq 43: truncated: the signed checkpoint of 44 events exists, the "
                                      "log has only 42")


def test_everything_verifies_offline_from_an_export_with_only_the_public_key(
        project: Path, trail: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pdca("audit", "sign", db=trail)[0] == 0
    note(trail, "plan.override", param="visits", value=2)
    assert pdca("audit", "sign", db=trail)[0] == 0
    note(trail, n=1)  # unattested
    assert pdca("audit", "export", "--out", str(tmp_path / "export"), db=trail)[0] == 0
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    shutil.copytree(tmp_path / "export", elsewhere / "export")
    shutil.copy(project / "keys" / "audit-key.pub", elsewhere / "log.pub")
    shutil.rmtree(project)  # the database (if SQLite), the private key and the checkpoint log: all gone
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("PDCA_CONFIG")
    code, stdout, _ = pdca("audit", "verify", "--export", "export", "--public-key", "log.pub")
    assert code == 0, stdout
    assert stdout.splitlines()[-2:] == [
        "signed checkpoints: 2 verified with the key example.org/quality; the newest covers seq 1-45",
        "unattested: 1 events after the newest signed checkpoint (seq 46-46); the next cycle's checkpoint or "
        "`pdca audit sign` covers them"]
    code, stdout, _ = pdca("audit", "prove", "45", "--export", "export", "--public-key", "log.pub")
    assert code == 0
    (elsewhere / "proof.json").write_text(stdout, "utf-8")
    code, stdout, _ = pdca("audit", "prove", "--consistency", "44", "45", "--export", "export", "--public-key",
                           "log.pub")
    assert code == 0
    (elsewhere / "consistency.json").write_text(stdout, "utf-8")
    code, stdout, _ = pdca("audit", "check-proof", "proof.json", "--public-key", "log.pub")
    assert (code, stdout.split(" (root")[0]) == (0, "ok: event 45 (plan.override, hash " + json.loads(
        (elsewhere / "proof.json").read_text())["event"]["hash"][:16] + "…) is in the log example.org/quality as "
        "signed for 45 events")
    code, stdout, _ = pdca("audit", "check-proof", "consistency.json", "--public-key", "log.pub")
    assert code == 0 and "signed for 45 events extends the one signed for 44 events" in stdout
    proof = json.loads((elsewhere / "proof.json").read_text())
    proof["event"]["payload"]["value"] = 6  # a forged copy of the event
    (elsewhere / "proof.json").write_text(json.dumps(proof), "utf-8")
    code, _, stderr = pdca("audit", "check-proof", "proof.json", "--public-key", "log.pub")
    assert code == 1 and "event 45's content does not hash to its hash: it was changed" in stderr


def test_a_checkpoint_is_signed_after_every_cycle(project: Path, db_url: str) -> None:
    from pdcaflow.engine.store import open_store

    plan = compile_plan(validate_file(FIXTURES / "runnable" / "loop.yaml"))
    store = open_store(db_url)
    try:
        for number in (1, 2):
            run = begin_cycle(plan, store, registry(), actor="dora", reason="test")
            for step in plan.steps:
                run.execute_step(step.id, 1)
            run.complete() if number == 1 else run.fail("stopped by the test")
            with store.read() as session:
                count = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
            assert (project / "signed" / f"{count:012d}.checkpoint").is_file()
        code, stdout, _ = pdca("audit", "verify", db=store)
    finally:
        store.dispose()
    assert code == 0 and stdout.splitlines()[-1] == "unattested: none"
    assert "signed checkpoints: 2 verified" in stdout
    assert oct(os.stat(project / "keys" / "audit-key").st_mode & 0o777) == "0o600"


def test_the_default_key_is_created_beside_a_sqlite_store(tmp_path: Path, trail_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = pdca("audit", "sign", "--db", trail_url)
    assert code == 0 and f"created the audit signing key {tmp_path}/audit-key (mode 0600)" in " ".join(stderr.split())
    assert all(len(line) <= 80 or max(map(len, line.split())) > 40 for line in stderr.splitlines())  # wrapped
    assert stdout.strip().startswith(f"signed checkpoint of 44 events: {tmp_path}/checkpoints/000000000044.checkpoint")
    assert (tmp_path / "audit-key.pub").read_text().startswith(f"pdcaflow/{tmp_path.name}+")
    code, _, stderr = pdca("audit", "keygen", "--db", trail_url)
    assert code == 2 and f"{tmp_path}/audit-key exists already: a signing key is never overwritten" in stderr


@pytest.mark.parametrize("table, message", [
    ('[audit]\nsigning_key = 3\n', "audit: a table with the paths signing_key, public_key, checkpoints and "
                                   "after_cycle = true/false"),
    ('[audit]\nkey = "k"\n', "audit: a table with the paths signing_key, public_key, checkpoints and "
                             "after_cycle = true/false"),
])
def test_a_malformed_audit_table_is_located_bad_input(tmp_path: Path, trail_url: str, table: str, message: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pdca.toml").write_text(table, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDCA_CONFIG", raising=False)
    code, _, stderr = pdca("audit", "verify", "--db", trail_url)
    assert (code, stderr.strip()) == (2, f"error: {tmp_path}/pdca.toml:1:2: {message}")


def test_a_cycle_after_a_rewrite_of_signed_history_is_recorded_but_not_signed(project: Path, db_url: str) -> None:
    from pdcaflow.engine.store import open_store
    from pdcaflow.engine.store.attest import AttestError
    from pdcaflow.engine.store.tables import Cycle

    plan = compile_plan(validate_file(FIXTURES / "runnable" / "loop.yaml"))
    store = open_store(db_url)
    try:
        assert pdca("audit", "sign", db=store)[0] == 0  # an empty log: 0 events
        note(store, "plan.override", param="visits", value=2)
        assert pdca("audit", "sign", db=store)[0] == 0  # 1 event
        forge(store, 1, payload={"param": "visits", "value": 6})  # the forged override the next plan would use
        run = begin_cycle(plan, store, registry(), actor="dora", reason="test")
        for step in plan.steps:
            run.execute_step(step.id, 1)
        with pytest.raises(AttestError, match=r"the cycle is recorded, but no checkpoint signed: event 1, the last "
                                              r"one the newest signed checkpoint covers, was changed"):
            run.complete()
        with store.read() as session:
            assert session.get(Cycle, run.cycle_id).status == "completed"
    finally:
        store.dispose()
    assert sorted(path.name for path in (project / "signed").glob("*.checkpoint")) == [
        "000000000000.checkpoint", "000000000001.checkpoint"]
