"""Proofs against signed checkpoints: one event is in the log (inclusion), one checkpoint extends another.

A proof document is JSON, self-contained: the signed checkpoint note(s), the RFC 9162
path, and for inclusion the event itself (its hashed fields), so that
`pdca audit check-proof FILE --public-key KEY` (or :func:`check_proof`) checks it
with nothing but the public key: the signature, the event's hash from its content,
the leaf, and the path up to the signed root.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.store import merkle
from pdcaflow.engine.store.audit import HASHED_FIELDS
from pdcaflow.engine.store.note import NoteError, SignedCheckpoint, VerifierKey, open_checkpoint
from pdcaflow.engine.store.verify import link_of

INCLUSION = "pdcaflow-inclusion-proof"
CONSISTENCY = "pdcaflow-consistency-proof"
RULE = ("RFC 9162: leaf = SHA-256(0x00 || the event's 32-byte hash), node = SHA-256(0x01 || left || right); "
        "leaf index = seq - 1; checkpoints are C2SP tlog-checkpoint signed notes (Ed25519)")


def covering(checkpoints: Sequence[SignedCheckpoint], seq: int) -> SignedCheckpoint:
    """The newest signed checkpoint, if it covers event ``seq``.

    Raises:
        ReviewError: no signed checkpoint, or ``seq`` is after the newest (unattested).
    """
    if not checkpoints:
        raise ReviewError("there is no signed checkpoint to prove against: `pdca audit sign` signs one")
    latest = checkpoints[-1]
    if not 1 <= seq <= latest.size:
        raise ReviewError(f"event {seq} is not covered by the newest signed checkpoint ({latest.size} events)"
                          + (": it is unattested until the next checkpoint" if seq > latest.size else ""))
    return latest


def by_size(checkpoints: Sequence[SignedCheckpoint], size: int) -> SignedCheckpoint:
    """Raises: ReviewError: no signed checkpoint of ``size`` events."""
    for checkpoint in checkpoints:
        if checkpoint.size == size:
            return checkpoint
    known = ", ".join(str(checkpoint.size) for checkpoint in checkpoints[-10:]) or "none"
    raise ReviewError(f"no signed checkpoint of {size} events (the newest: {known})")


def inclusion_document(event: dict[str, Any], leaves: Iterable[bytes], checkpoint: SignedCheckpoint) -> dict[str, Any]:
    """The inclusion proof of ``event`` (a record with its hashed fields and hash) in ``checkpoint``.

    Raises:
        ReviewError: the log has fewer events than the checkpoint, or it no longer gives the signed root.
    """
    index = int(event["seq"]) - 1
    try:
        path = merkle.range_hashes(leaves, merkle.inclusion_ranges(index, checkpoint.size))
    except ValueError as exc:
        raise ReviewError(f"cannot prove event {event['seq']}: {exc}") from exc
    document = {"format": INCLUSION, "seq": event["seq"], "leaf_index": index, "tree_size": checkpoint.size,
                "event": {name: event[name] for name in (*HASHED_FIELDS, "hash")},
                "inclusion_path": [node.hex() for node in path], "checkpoint": checkpoint.note, "rule": RULE}
    return document


def consistency_document(leaves: Iterable[bytes], old: SignedCheckpoint, new: SignedCheckpoint) -> dict[str, Any]:
    """The consistency proof from ``old`` to ``new``, from the log's leaves."""
    try:
        path = merkle.range_hashes(leaves, merkle.consistency_ranges(old.size, new.size))
    except ValueError as exc:
        raise ReviewError(f"cannot prove {old.size} -> {new.size}: {exc}") from exc
    return {"format": CONSISTENCY, "old_size": old.size, "new_size": new.size,
            "consistency_path": [node.hex() for node in path], "old_checkpoint": old.note,
            "new_checkpoint": new.note, "rule": RULE}


def check_proof(document: Any, verifier: VerifierKey) -> str:
    """Check a proof document with only the public key; return what it proves, in words.

    Raises:
        ReviewError: not a proof document, or the proof does not hold (says which part).
    """
    if not isinstance(document, dict) or document.get("format") not in (INCLUSION, CONSISTENCY):
        raise ReviewError(f"not a proof: expected JSON with \"format\": \"{INCLUSION}\" or \"{CONSISTENCY}\"")
    try:
        if document["format"] == INCLUSION:
            return _check_inclusion(document, verifier)
        return _check_consistency(document, verifier)
    except NoteError as exc:
        raise ReviewError(f"the proof's checkpoint is refused: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ReviewError(f"not a complete proof: {type(exc).__name__}: {exc}") from None


def _check_inclusion(document: dict[str, Any], verifier: VerifierKey) -> str:
    checkpoint = open_checkpoint(document["checkpoint"], verifier)
    event = document["event"]
    link = link_of(*(event[name] for name in (*HASHED_FIELDS, "hash")))
    if link.content_hash != event["hash"]:
        raise ReviewError(f"event {event['seq']}'s content does not hash to its hash: it was changed")
    path = [bytes.fromhex(node) for node in document["inclusion_path"]]
    if not merkle.verify_inclusion(int(event["seq"]) - 1, checkpoint.size, merkle.event_leaf(event["hash"]), path,
                                   checkpoint.root):
        raise ReviewError(f"the inclusion path does not lead from event {event['seq']} to the root signed for "
                          f"{checkpoint.size} events")
    return (f"event {event['seq']} ({event['kind']}, hash {event['hash'][:16]}…) is in the log {checkpoint.origin} "
            f"as signed for {checkpoint.size} events (root {_b64(checkpoint.root)})")


def _check_consistency(document: dict[str, Any], verifier: VerifierKey) -> str:
    old = open_checkpoint(document["old_checkpoint"], verifier)
    new = open_checkpoint(document["new_checkpoint"], verifier)
    path = [bytes.fromhex(node) for node in document["consistency_path"]]
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        raise ReviewError(f"the signed checkpoint of {new.size} events does not extend the one of {old.size}: "
                          "the log was rewritten in between")
    return (f"the log {new.origin} signed for {new.size} events extends the one signed for {old.size} events "
            "(nothing before was changed)")


def inclusion_text(document: dict[str, Any], verifier: VerifierKey) -> list[str]:
    """The proof as lines for a person."""
    lines = [check_proof(document, verifier), f"leaf index {document['leaf_index']} of {document['tree_size']}; "
             "inclusion path, leaf to root (RFC 9162):"]
    lines += [f"  {number}. {node}" for number, node in enumerate(document["inclusion_path"], start=1)]
    return [*lines, "signed checkpoint:", *("  " + line for line in document["checkpoint"].rstrip("\n").split("\n"))]


def consistency_text(document: dict[str, Any], verifier: VerifierKey) -> list[str]:
    lines = [check_proof(document, verifier), "consistency path (RFC 9162):"]
    return lines + [f"  {number}. {node}" for number, node in enumerate(document["consistency_path"], start=1)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
