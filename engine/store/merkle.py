"""A Merkle tree over the events, hashed as RFC 9162 (Certificate Transparency v2) says: pure, no I/O.

A leaf's data is the event's 32-byte ``hash`` (the sha256 its chain link
already commits to: ``pdcaflow.engine.store.audit``), so a leaf is
``SHA-256(0x00 || event hash)`` and a node ``SHA-256(0x01 || left || right)``;
a tree of ``n > 1`` leaves splits at ``k``, the largest power of two below ``n``
(section 2.1.1). An event's content therefore reaches the root through its hash,
and a proof needs nothing but the hash column of the events.

Memory stays small however long the log: :class:`CompactRange` keeps only the
roots of the perfect subtrees a prefix of the log splits into (one per set bit
of its size), so :func:`root_of` and the proofs read the leaves once, in order.
Proofs are generated as the list of leaf ranges whose subtree hashes they hold
(RFC 9162 2.1.3.1 PATH and 2.1.4.1 SUBPROOF), then filled in one pass
(:func:`range_hashes`); :func:`verify_inclusion` and :func:`verify_consistency`
are the algorithms of sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

_sha256 = hashlib.sha256
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256() (RFC 9162 2.1.1)
Range = tuple[int, int]  # leaves [start, end)


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf (for an event, ``data`` is its 32-byte hash)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(event_hash: str) -> bytes:
    """The leaf hash of an event, from its hash as stored (64 hex digits)."""
    return _sha256(b"\x00" + bytes.fromhex(event_hash)).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees of a growing prefix of the leaves: enough for its root, and to extend it.

    ``append`` merges equal-sized subtrees like a binary counter, so at most one
    root per set bit of ``size`` is kept.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of {size} leaves holds {size.bit_count()} hashes, not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        merged, size, hashes = leaf, self.size, self.hashes
        while size & 1:  # the subtree on the right of the stack is as big as the new one: merge them
            merged = _sha256(b"\x01" + hashes.pop() + merged).digest()  # node_hash, inlined (verify's hot path)
            size >>= 1
        hashes.append(merged)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the subtree roots folded from the right (the RFC's split, bottom up)."""
        if not self.hashes:
            return EMPTY_ROOT
        folded = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            folded = node_hash(left, folded)
        return folded

    def copy(self) -> CompactRange:
        return CompactRange(self.size, list(self.hashes))


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH of leaf hashes, streaming (constant memory apart from ~log2(n) hashes)."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose MTHs make up the inclusion proof of leaf ``index`` in a tree of ``size``, leaf first.

    Raises:
        ValueError: ``index`` is not a leaf of the tree.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:  # PATH(m, D[n]), top down; the proof lists the siblings bottom up
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The leaf ranges whose MTHs make up the consistency proof from ``old`` to ``new`` leaves (RFC order).

    Raises:
        ValueError: not ``0 <= old <= new``.
    """
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new} leaves: the old size must not exceed the new")
    if old in (0, new):
        return []
    ranges: list[Range] = []
    start, end, complete = 0, new, True
    while old != end:  # SUBPROOF(m, D[n], b), top down; the proof lists the nodes bottom up
        k = split_point(end - start)
        if old - start <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, complete = start + k, False
    if not complete:
        ranges.append((start, end))  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
    return ranges[::-1]


def range_hashes(leaves: Iterable[bytes], ranges: Sequence[Range]) -> list[bytes]:
    """The MTH of each range (disjoint), reading ``leaves`` once in order; in the order ``ranges`` are given.

    Raises:
        ValueError: the leaves end before the last range does.
    """
    wanted = sorted(range(len(ranges)), key=lambda position: ranges[position][0])
    found: dict[int, bytes] = {}
    if not wanted:
        return []
    leaves_iter = iter(leaves)
    index = 0
    for position in wanted:
        start, end = ranges[position]
        compact = CompactRange()
        for leaf in leaves_iter:
            if index >= start:
                compact.append(leaf)
            index += 1
            if index == end:
                break
        if index != end:
            raise ValueError(f"the log has {index} leaves; the proof needs {end}")
        found[position] = compact.root()
    return [found[position] for position in range(len(ranges))]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of all ``leaves``."""
    return range_hashes(leaves, inclusion_ranges(index, len(leaves)))


def consistency_proof(leaves: Sequence[bytes], old: int) -> list[bytes]:
    """The consistency proof from the tree of the first ``old`` leaves to the tree of all ``leaves``."""
    return range_hashes(leaves, consistency_ranges(old, len(leaves)))


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` of the tree of ``size`` leaves with ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and result == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``new`` leaves (``new_root``) extends the one of ``old`` (``old_root``).

    Sizes 0 and equal sizes have an empty proof (RFC 9162 defines the rest, 0 < old < new).
    """
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first, second = node_hash(node, first), node_hash(node, second)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, node)
        fn, sn = fn >> 1, sn >> 1
    return first == old_root and second == new_root and sn == 0
