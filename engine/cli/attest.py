"""`pdca audit keygen | sign | prove | check-proof`: signed, Merkle-rooted checkpoints (docs/security.md).

`verify` (pdcaflow.engine.cli.audit) checks the checkpoints; these create the key, sign a
checkpoint by hand (one is signed after every cycle anyway), and prove one event's
inclusion or two checkpoints' consistency, as JSON anyone can check offline with
the public key. Exit codes: 0 ok, 1 the log does not match its signed checkpoints,
2 bad input (no such key, event or checkpoint).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from pdcaflow.engine.cli.audit import audit_app
from pdcaflow.engine.cli.common import Db, ExitCode, choice, err, fail, one_line_errors, out

PublicKey = Annotated[Path | None, typer.Option("--public-key", help="the public key file [default: the project "
                                                                      "config's, else the signing key's + .pub]")]
Checkpoints = Annotated[Path | None, typer.Option("--checkpoints", help="the checkpoint log folder [default: the "
                                                                        "project config's, else beside the store]")]


@audit_app.command("keygen")
def keygen(
    name: Annotated[str | None, typer.Option(help="the key's name, also the checkpoints' origin line [default: "
                                                  "pdcaflow/<project folder>]")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="the private key file to create (mode 0600); the "
                                                                "public key goes to FILE.pub [default: the "
                                                                "project config's signing_key]")] = None,
    db: Db = None,
) -> None:
    """Create the Ed25519 key pair that signs checkpoints. Keep the private key off the database host."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime.signing import write_key_pair
    from pdcaflow.engine.runtime.signing_config import attest_settings, key_name_for
    from pdcaflow.engine.store.db import resolve_url
    from pdcaflow.tasks.sdk.project_root import folder_root

    with one_line_errors():
        settings = attest_settings(resolve_url(db, folder_root()))
        private = out_file.resolve() if out_file is not None else settings.signing_key
        public = private.with_name(private.name + ".pub") if out_file is not None else settings.public_key
        signer = write_key_pair(private, public, name or key_name_for(settings))
    out.print(f"signing key: {private} (mode 0600; keep it off the database host)", markup=False)
    out.print(f"public key: {public}", markup=False)
    out.print(signer.verifier().text(), markup=False)


@audit_app.command("sign")
def sign(db: Db = None) -> None:
    """Sign a checkpoint of the whole log now (one is signed after every cycle; this covers later changes such
    as `pdca override`)."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime.signing import notice_to_stderr, sign_store
    from pdcaflow.engine.runtime.signing_config import attest_settings
    from pdcaflow.engine.store.access import opened

    with one_line_errors(), opened(db, reading=True) as store:
        signed = sign_store(store, attest_settings(store.url), notice=notice_to_stderr)
    out.print(f"signed checkpoint of {signed.checkpoint.size:,} events: {signed.path} ({signed.read:,} events read)",
              markup=False)


_SEQ_OR_CONSISTENCY = "give either an event SEQ or --consistency OLD NEW"


@audit_app.command("prove")
def prove(
    seq: Annotated[int | None, typer.Argument(min=1, help="the event (sequence number) to prove")] = None,
    consistency: Annotated[tuple[int, int] | None, typer.Option(
        help="OLD NEW: prove the signed checkpoint of NEW events extends the one of OLD events")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="json or text")] = "json",
    export_dir: Annotated[Path | None, typer.Option("--export", help="prove from this export folder instead of "
                                                                     "the store")] = None,
    public_key: PublicKey = None,
    checkpoints: Checkpoints = None,
    db: Db = None,
) -> None:
    """An inclusion proof of event SEQ in the newest signed checkpoint (or, with --consistency OLD NEW, a
    consistency proof between two), checked before it is printed; `pdca audit check-proof` checks it offline."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review import proofs
    from pdcaflow.engine.store.access import ReviewError

    choice(output_format, ("json", "text"))
    if (seq is None) == (consistency is None):
        fail(_SEQ_OR_CONSISTENCY)
    with one_line_errors(), _sources(export_dir, public_key, checkpoints, db) as (log, leaves, event_at):
        if log.refused is not None:
            err.print(f"BROKEN: {log.refused}", markup=False)
            raise typer.Exit(ExitCode.FAILED)
        if log.verifier is None:
            raise ReviewError(f"no public key for the checkpoints in {log.folder}: name it with --public-key FILE")
        if consistency is not None:
            old, new = (proofs.by_size(log.checkpoints, size) for size in consistency)
            document = proofs.consistency_document(leaves(), old, new)
        elif seq is None:  # refused above; this tells the type checker too
            fail(_SEQ_OR_CONSISTENCY)
        else:
            document = proofs.inclusion_document(event_at(seq), leaves(), proofs.covering(log.checkpoints, seq))
        try:
            lines = (proofs.consistency_text if consistency else proofs.inclusion_text)(document, log.verifier)
        except ReviewError as exc:
            err.print(f"BROKEN: {exc}: the log no longer matches its signed checkpoint", markup=False)
            raise typer.Exit(ExitCode.FAILED) from None
    if output_format == "json":
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    for line in lines:
        out.print(line, markup=False)


@contextmanager
def _sources(export_dir: Path | None, public_key: Path | None, checkpoints: Path | None,
             db: str | None) -> Iterator[tuple[Any, Callable[[], Iterator[bytes]], Callable[[int], dict[str, Any]]]]:
    """The signed checkpoints, the leaves and the events of the store, or of an export folder."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import ReviewError, opened

    if export_dir is not None:
        # start-up speed: the export reader loads only with --export
        from pdcaflow.engine.review.export import event_records
        from pdcaflow.engine.review.signed import export_signed_log
        from pdcaflow.engine.store.merkle import event_leaf

        def export_event(seq: int) -> dict[str, Any]:
            found = next((record for record in event_records(export_dir) if record["seq"] == seq), None)
            if found is None:
                raise ReviewError(f"no event {seq} in the export {export_dir}")
            return found

        yield (export_signed_log(export_dir, public_key, checkpoints),
               lambda: (event_leaf(record["hash"]) for record in event_records(export_dir)), export_event)
        return
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review.event_records import event_record
    from pdcaflow.engine.review.signed import store_signed_log
    from pdcaflow.engine.store.attest import stored_leaves
    from pdcaflow.engine.store.tables import AuditEvent

    with opened(db, reading=True) as store, store.read() as session:
        def stored_event(seq: int) -> dict[str, Any]:
            event = session.get(AuditEvent, seq)
            if event is None:
                raise ReviewError(f"there is no event {seq} in {store.display_url}")
            return event_record(event)

        yield store_signed_log(store.url, public_key, checkpoints), lambda: stored_leaves(session), stored_event


@audit_app.command("check-proof")
def check_proof(
    proof_file: Annotated[Path, typer.Argument(help="a proof written by `pdca audit prove` ('-' for stdin)")],
    public_key: Annotated[Path, typer.Option("--public-key", help="the log's public key file")],
) -> None:
    """Check an inclusion or consistency proof offline, with only the public key (no database)."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review import proofs
    from pdcaflow.engine.store.access import ReviewError

    with one_line_errors():
        try:
            text = sys.stdin.read() if str(proof_file) == "-" else proof_file.read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ReviewError(f"cannot read the proof {proof_file}: {exc}") from None
        verifier = _verifier(public_key)
        try:
            message = proofs.check_proof(document, verifier)
        except ReviewError as exc:
            err.print(f"BROKEN: {exc}", markup=False)
            raise typer.Exit(ExitCode.FAILED) from None
    out.print(f"ok: {message}", markup=False)


def _verifier(path: Path) -> Any:
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime.signing import KeyFileError, read_verifier
    from pdcaflow.engine.store.access import ReviewError
    from pdcaflow.engine.store.note import NoteError

    try:
        return read_verifier(path)
    except (KeyFileError, NoteError) as exc:
        raise ReviewError(f"the public key {path}: {exc}") from exc
