"""Signed checkpoints of the event log: sign one, check the log (or an export) against them.

The checkpoint log is a folder with one signed note per file (``000000000044.checkpoint``:
the first 44 events), written after every cycle (``pdcaflow.engine.runtime.signing``) and by
``pdca audit sign``, plus ``compact-range.json``: the Merkle subtree roots and the
last event hash of the newest checkpoint, so that the next one reads only the events
after it (a cycle's checkpoint costs the same at 10k and at 100k events). That
file is trusted only while its roots fold to the root of the signed checkpoint it
names; otherwise the whole log is read and verified again before anything is signed.

Checking folds the same streaming walk as ``verify`` (``pdcaflow.engine.store.verify``):
while the links are checked, the Merkle root of the first N events is taken at
every N a signed checkpoint records, and compared with it afterwards.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.store import merkle
from pdcaflow.engine.store.tables import AuditEvent
from pdcaflow.engine.store.note import NoteError, SignedCheckpoint, SignerKey, VerifierKey, checkpoint_body, open_checkpoint
from pdcaflow.engine.store.verify import VERIFY_BATCH, Checkpoint, Link, WalkResult, stored_links, walk_links

SUFFIX = ".checkpoint"
STATE_FILE = "compact-range.json"


class AttestError(PdcaError):
    """No checkpoint was signed: the log contradicts an earlier checkpoint or does not verify."""


@dataclass(frozen=True)
class Problem:
    """The first thing signed checkpoints find wrong: where, and what, in words."""

    seq: int
    what: str


def note_path(folder: Path, size: int) -> Path:
    return folder / f"{size:012d}{SUFFIX}"


def load_checkpoints(folder: Path, verifier: VerifierKey) -> list[SignedCheckpoint]:
    """Every checkpoint in the folder, its signature checked, by size (an absent folder holds none).

    Raises:
        NoteError: a file that is not a checkpoint signed by ``verifier`` (named).
    """
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            found.append(open_checkpoint(path.read_text(encoding="utf-8"), verifier))
        except (OSError, UnicodeDecodeError) as exc:
            raise NoteError(f"cannot read the checkpoint {path}: {exc}") from exc
        except NoteError as exc:
            raise NoteError(f"the checkpoint {path} is refused: {exc}") from None
    return sorted(found, key=lambda checkpoint: checkpoint.size)


def stored_leaves(session: Session) -> Iterator[bytes]:
    """The leaf hash of every stored event, in sequence order (only the hash column is read)."""
    statement = select(AuditEvent.hash).order_by(AuditEvent.seq).execution_options(yield_per=VERIFY_BATCH)
    result = session.connection().execute(statement)
    try:
        for (event_hash,) in result:
            yield _leaf(event_hash)
    finally:
        result.close()


def walk_with_roots(links: Iterable[Link], sizes: Iterable[int],
                    checkpoints: Sequence[Checkpoint] = ()) -> tuple[WalkResult, dict[int, bytes], merkle.CompactRange]:
    """``walk_links`` over ``links``, taking the Merkle root of the first N events at each N of ``sizes``."""
    wanted = set(sizes)
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in wanted else {}
    compact = merkle.CompactRange()

    def rooted() -> Iterator[Link]:
        for link in links:
            compact.append(_leaf(link.hash))
            if compact.size in wanted:
                roots[compact.size] = compact.root()
            yield link

    return walk_links(rooted(), checkpoints), roots, compact


def signed_problem(signed: Sequence[SignedCheckpoint], roots: dict[int, bytes], log_size: int) -> Problem | None:
    """The first signed checkpoint the log (of ``log_size`` events, roots taken) contradicts; ``None`` if none."""
    last_good = 0
    for checkpoint in signed:
        if checkpoint.size > log_size:
            return Problem(log_size + 1, f"truncated: the signed checkpoint of {checkpoint.size} events exists, the "
                                         f"log has only {log_size}")
        if roots.get(checkpoint.size) != checkpoint.root:
            found = roots.get(checkpoint.size, b"").hex()[:16]
            return Problem(last_good + 1,
                           f"the first {checkpoint.size} events differ from their signed checkpoint (root "
                           f"{checkpoint.root.hex()[:16]}… signed, {found}… in the log): an event from seq "
                           f"{last_good + 1} to {checkpoint.size} was rewritten, deleted or inserted"
                           + (f" (the signed checkpoint of {last_good} events still matches)" if last_good else ""))
        last_good = checkpoint.size
    return None


@dataclass(frozen=True)
class Signed:
    """A checkpoint just signed: where it was written, and how many events were read to sign it."""

    checkpoint: SignedCheckpoint
    path: Path
    read: int


def sign_log(session: Session, signer: SignerKey, folder: Path) -> Signed:
    """Sign a checkpoint of every event in ``session``'s snapshot into ``folder`` (created if missing).

    Reads only the events after the newest checkpoint when ``compact-range.json`` still
    matches it; otherwise verifies the whole chain and every earlier checkpoint first.

    Raises:
        AttestError: the log does not verify, or contradicts an earlier signed checkpoint.
        NoteError: a checkpoint in the folder is not signed by this key.
        OSError: the folder cannot be written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        verifier = signer.verifier()
        state = _load_state(folder, verifier)
        compact, last_hash, read = _extend(session, state) if state is not None else _from_scratch(
            session, folder, verifier)
        checkpoint = open_checkpoint(signer.sign(checkpoint_body(signer.name, compact.size, compact.root())),
                                     verifier)
        path = note_path(folder, compact.size)
        if not path.exists():
            _write_atomically(path, checkpoint.note)
        _write_atomically(folder / STATE_FILE, json.dumps(
            {"size": compact.size, "hashes": [node.hex() for node in compact.hashes], "last_hash": last_hash}) + "\n")
    return Signed(checkpoint, path, read)


def _extend(session: Session, state: tuple[merkle.CompactRange, str]) -> tuple[merkle.CompactRange, str, int]:
    compact, last_hash = state[0].copy(), state[1]
    last_seq, read = compact.size, 0
    stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == compact.size))
    if stored != last_hash:
        raise AttestError(f"no checkpoint signed: event {compact.size}, the last one the newest signed checkpoint "
                          "covers, " + ("is missing (the log was cut off)" if stored is None else "was changed")
                          + ": run `pdca audit verify`")
    for link in stored_links(session, compact.size):
        if link.seq != last_seq + 1 or link.prev_hash != last_hash or link.content_hash != link.hash:
            raise AttestError(f"no checkpoint signed: seq {link.seq} does not follow the last signed checkpoint "
                              f"({compact.size} events) as written: run `pdca audit verify`")
        compact.append(_leaf(link.hash))
        last_seq, last_hash, read = link.seq, link.hash, read + 1
    return compact, last_hash, read


def _from_scratch(session: Session, folder: Path, verifier: VerifierKey) -> tuple[merkle.CompactRange, str, int]:
    from pdcaflow.engine.store.verify import finish

    signed = load_checkpoints(folder, verifier)
    walk, roots, compact = walk_with_roots(stored_links(session), (checkpoint.size for checkpoint in signed))
    report = finish(session, walk, rows=False)
    if not report.ok:
        raise AttestError(f"no checkpoint signed: the log does not verify at seq {report.first_bad_seq}: "
                          f"{report.what_differs}")
    problem = signed_problem(signed, roots, walk.last_seq)
    if problem is not None:
        raise AttestError(f"no checkpoint signed: at seq {problem.seq}: {problem.what}")
    return compact, walk.last_hash, walk.count


def _load_state(folder: Path, verifier: VerifierKey) -> tuple[merkle.CompactRange, str] | None:
    """The saved compact range, if it folds to the root of the signed checkpoint of its size."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        compact = merkle.CompactRange(int(state["size"]), [bytes.fromhex(node) for node in state["hashes"]])
        checkpoint = open_checkpoint(note_path(folder, compact.size).read_text(encoding="utf-8"), verifier)
        last_hash = str(state["last_hash"])
    except (OSError, ValueError, KeyError, TypeError, NoteError):
        return None
    return (compact, last_hash) if checkpoint.root == compact.root() and compact.size > 0 else None


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One signer at a time per checkpoint log (two cycles may end together)."""
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _leaf(event_hash: str) -> bytes:
    try:
        return merkle.event_leaf(event_hash)
    except (ValueError, TypeError):  # a hand-edited hash column: the chain walk names it
        return merkle.leaf_hash(str(event_hash).encode("utf-8"))
