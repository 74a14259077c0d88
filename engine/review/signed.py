"""`pdca audit verify` against signed checkpoints: the store's or an export's events, with only the public key.

Every checkpoint in the checkpoint log must carry a valid signature by the public
key, and the Merkle root of the log's first N events must equal the root each
checkpoint signed for N (so all the checkpoints are consistent with each other and
with the log). Events after the newest checkpoint are reported as unattested: not
a failure, but nothing vouches for them yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from pdcaflow.engine.runtime.signing import KeyFileError, read_verifier
from pdcaflow.engine.runtime.signing_config import attest_settings
from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.store.attest import SUFFIX, load_checkpoints, signed_problem, walk_with_roots
from pdcaflow.engine.store.note import NoteError, SignedCheckpoint, VerifierKey
from pdcaflow.engine.store.verify import ChainReport, Checkpoint, WalkResult, finish, stored_links
from pdcaflow.tasks.sdk.project_root import default_store, folder_root

EXPORT_FOLDER = "checkpoints"


@dataclass(frozen=True)
class SignedLog:
    """The signed checkpoints that apply: the key they are checked with, where they are, and what they say.

    ``refused`` says why a checkpoint file was refused (another key, a changed note); the
    log then does not verify.
    """

    verifier: VerifierKey | None
    folder: Path
    checkpoints: list[SignedCheckpoint]
    refused: str | None = None

    @property
    def latest(self) -> SignedCheckpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None


def signed_log(folder: Path, public_key: Path | None, *, required: bool = False) -> SignedLog:
    """The checkpoints in ``folder`` checked with the public key at ``public_key``.

    Raises:
        ReviewError: the folder holds checkpoints but there is no public key, or the key file is not a key.
    """
    has_notes = folder.is_dir() and any(folder.glob(f"*{SUFFIX}"))
    if public_key is None or (not public_key.exists() and not required and not has_notes):
        if has_notes:
            raise ReviewError(f"{folder} holds signed checkpoints: name their public key with --public-key FILE")
        return SignedLog(None, folder, [])
    try:
        verifier = read_verifier(public_key)
    except (KeyFileError, NoteError) as exc:
        raise ReviewError(f"the public key {public_key}: {exc}") from exc
    try:
        return SignedLog(verifier, folder, load_checkpoints(folder, verifier))
    except NoteError as exc:
        return SignedLog(verifier, folder, [], refused=str(exc))


def store_signed_log(url: str, public_key: Path | None, folder: Path | None) -> SignedLog:
    """The store's checkpoint log and public key: the options given, else the project config's (or the defaults)."""
    settings = attest_settings(url)
    return signed_log(folder or settings.checkpoints, public_key or settings.public_key,
                      required=public_key is not None)


def verify_signed_store(session: Session, log: SignedLog, checkpoints: Sequence[Checkpoint] = (), *,
                        rows: bool = True) -> ChainReport:
    """``verify_chain``, plus every signed checkpoint (checked after the links and the head row, before the rows)."""
    walk, roots, _ = walk_with_roots(stored_links(session), (c.size for c in log.checkpoints), checkpoints)
    report = finish(session, walk, rows=False)
    if report.ok:
        report = against_signed(report, walk, roots, log)
    if report.ok and rows:
        from pdcaflow.engine.store.rowcheck import first_row_problem

        problem = first_row_problem(session)
        if problem is not None:
            return ChainReport(False, report.count, report.head_hash, problem.seq, problem.what, report.checkpoints)
    return report


def against_signed(report: ChainReport, walk: WalkResult, roots: dict[int, bytes], log: SignedLog) -> ChainReport:
    """``report`` (of a chain that verified), failed at the first signed checkpoint the log contradicts."""
    if log.refused is not None:
        return ChainReport(False, report.count, report.head_hash, None, log.refused, report.checkpoints)
    problem = signed_problem(log.checkpoints, roots, walk.last_seq)
    if problem is None:
        return report
    return ChainReport(False, report.count, report.head_hash, problem.seq, problem.what, report.checkpoints)


def signed_lines(report: ChainReport, log: SignedLog) -> list[str]:
    """What the signed checkpoints say about a log that verified: how many, the newest, what is unattested."""
    latest = log.latest
    if latest is None:
        where = f"in {log.folder}" if log.verifier is not None else f"(no public key; looked in {log.folder})"
        return [f"signed checkpoints: none {where}; all {report.count:,} events are unattested"]
    lines = [f"signed checkpoints: {len(log.checkpoints)} verified with the key {latest.origin}; the newest "
             f"covers seq 1-{latest.size}"]
    if report.count > latest.size:
        lines.append(f"unattested: {report.count - latest.size:,} events after the newest signed checkpoint "
                     f"(seq {latest.size + 1}-{report.count}); the next cycle's checkpoint or `pdca audit sign` "
                     "covers them")
    else:
        lines.append("unattested: none")
    return lines


def copy_into_export(log: SignedLog, export: Path, events: int) -> int:
    """Copy the checkpoints of at most ``events`` events into ``export/checkpoints`` (the export's snapshot)."""
    target = export / EXPORT_FOLDER
    copied = 0
    for checkpoint in log.checkpoints:
        if checkpoint.size <= events:
            target.mkdir(exist_ok=True)
            (target / f"{checkpoint.size:012d}{SUFFIX}").write_text(checkpoint.note, encoding="utf-8")
            copied += 1
    return copied


def export_signed_log(export: Path, public_key: Path | None, folder: Path | None) -> SignedLog:
    """The checkpoints an export carries (or ``folder``), checked with the public key given (or the config's)."""
    if public_key is None:  # the project's own key, as `pdca audit verify` on the default store would use
        settings = attest_settings(f"sqlite:///{default_store(folder_root())}")
        public_key = settings.public_key if settings.public_key.exists() else None
    return signed_log(folder or export / EXPORT_FOLDER, public_key, required=public_key is not None)


__all__ = ["SignedLog", "against_signed", "copy_into_export", "export_signed_log", "signed_lines",
           "signed_log", "store_signed_log", "verify_signed_store"]
