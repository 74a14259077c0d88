"""pdcaflow.engine.store.merkle against RFC 9162's definitions (a plain recursive transcription below) and the
Certificate Transparency reference vectors (RFC 6962 hashing is the same; the CT project's merkle tree
tests publish these roots and proofs over eight fixed inputs)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from pdcaflow.engine.store import merkle

CT_INPUTS = [bytes.fromhex(text) for text in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
CT_LEAVES = [merkle.leaf_hash(data) for data in CT_INPUTS]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (leaf index, tree size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


# ----- RFC 9162 section 2.1, written out recursively (the obviously-correct reference) -----------------
def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def leaves_of(size: int, salt: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(f"{salt}:{i}".encode()).digest()) for i in range(size)]


def flip(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8 % len(value)] ^= 1 << (bit % 8)
    return bytes(changed)


# ----- known answers ---------------------------------------------------------------------------------
def test_the_certificate_transparency_roots() -> None:
    assert merkle.leaf_hash(b"").hex() == CT_ROOTS[1]
    for size, expected in enumerate(CT_ROOTS):
        assert merkle.root_of(CT_LEAVES[:size]).hex() == expected
        assert mth(CT_LEAVES[:size]).hex() == expected


def test_the_certificate_transparency_inclusion_proofs() -> None:
    for index, size, expected in CT_INCLUSION:
        proof = merkle.inclusion_proof(CT_LEAVES[:size], index)
        assert [node.hex() for node in proof] == expected
        assert merkle.verify_inclusion(index, size, CT_LEAVES[index], proof, bytes.fromhex(CT_ROOTS[size]))


def test_the_certificate_transparency_consistency_proofs() -> None:
    for old, new, expected in CT_CONSISTENCY:
        proof = merkle.consistency_proof(CT_LEAVES[:new], old)
        assert [node.hex() for node in proof] == expected
        assert merkle.verify_consistency(old, new, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new]),
                                         proof)


def test_an_event_leaf_hashes_its_32_bytes() -> None:
    event_hash = "ab" * 32
    assert merkle.event_leaf(event_hash) == hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()


def test_the_compact_range_holds_one_hash_per_set_bit() -> None:
    compact = merkle.CompactRange()
    for leaf in leaves_of(70):
        compact.append(leaf)
    assert compact.size == 70 and len(compact.hashes) == 3  # 64 + 4 + 2
    resumed = merkle.CompactRange(compact.size, compact.hashes)
    resumed.append(merkle.leaf_hash(b"next"))
    assert resumed.root() == mth([*leaves_of(70), merkle.leaf_hash(b"next")])


# ----- every size up to 70 ---------------------------------------------------------------------------
def test_every_root_and_every_proof_equals_the_recursive_definition() -> None:
    leaves = leaves_of(70)
    for size in range(1, 71):
        tree = leaves[:size]
        assert merkle.root_of(tree) == mth(tree)
        for index in range(size):
            assert merkle.inclusion_proof(tree, index) == path(index, tree)
        for old in range(1, size + 1):
            assert merkle.consistency_proof(tree, old) == subproof(old, tree, True)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 70), data=st.data())
def test_inclusion_proofs_verify_and_a_flipped_bit_fails(size: int, data: st.DataObject) -> None:
    leaves = leaves_of(size, salt=size)
    root = merkle.root_of(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(leaves, index)
    assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_inclusion(index, size, flip(leaves[index], bit), proof, root)
    assert not merkle.verify_inclusion(index, size, leaves[index], proof, flip(root, bit))
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        assert not merkle.verify_inclusion(index, size, leaves[index],
                                           [*proof[:which], flip(proof[which], bit), *proof[which + 1:]], root)
    assert not merkle.verify_inclusion(size, size, leaves[index], proof, root)


@settings(max_examples=150, deadline=None)
@given(new=st.integers(1, 70), data=st.data())
def test_consistency_proofs_verify_and_a_flipped_bit_fails(new: int, data: st.DataObject) -> None:
    leaves = leaves_of(new, salt=new)
    old = data.draw(st.integers(1, new))
    old_root, new_root = merkle.root_of(leaves[:old]), merkle.root_of(leaves)
    proof = merkle.consistency_proof(leaves, old)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_consistency(old, new, flip(old_root, bit), new_root, proof)
    assert not merkle.verify_consistency(old, new, old_root, flip(new_root, bit), proof)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        changed = [*proof[:which], flip(proof[which], bit), *proof[which + 1:]]
        assert not merkle.verify_consistency(old, new, old_root, new_root, changed)
    if old < new:  # another history of the same length is not an extension
        other = merkle.root_of(leaves_of(old, salt=-1))
        assert not merkle.verify_consistency(old, new, other, new_root, proof)


def test_proofs_of_what_is_not_in_the_tree_are_refused() -> None:
    leaves = leaves_of(5)
    for call, message in ((lambda: merkle.inclusion_ranges(5, 5), "leaf 5 is not in a tree of 5 leaves"),
                          (lambda: merkle.consistency_ranges(6, 5), "the old size must not exceed the new"),
                          (lambda: merkle.range_hashes(leaves, [(0, 8)]), "the log has 5 leaves; the proof needs 8")):
        try:
            call()
        except ValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"no error: {message}")
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, merkle.root_of(leaves), [])
    assert not merkle.verify_consistency(3, 5, merkle.root_of(leaves[:3]), merkle.root_of(leaves), [])
