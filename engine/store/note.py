"""Signed checkpoints as C2SP notes: Ed25519 keys, the ``tlog-checkpoint`` body, ``signed-note`` signatures.

A checkpoint (C2SP ``tlog-checkpoint``) is the text::

    <origin>\\n<tree size, decimal>\\n<base64 of the 32-byte Merkle root>\\n

signed as a C2SP ``signed-note``: a blank line, then one line per signature,
``— <key name> <base64(4-byte key id || 64-byte Ed25519 signature of the text)>``.
The key id is the first 4 bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``.
Keys are written in the ``golang.org/x/mod/sumdb/note`` text forms, so Go's
``note.NewVerifier`` / ``note.NewSigner`` read them as they are:
``<name>+<key id, 8 hex>+<base64(0x01 || public key)>`` (the public key file) and
``PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>`` (the private key file).

The origin of a checkpoint is the key's name (``pdcaflow/<project>`` by default).
Pure: no files, no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from pdcaflow.engine.errors import PdcaError

ED25519 = 1  # the signed-note algorithm byte
EM_DASH = "\u2014"
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(PdcaError):
    """A key or a checkpoint note that cannot be read, or a note this key did not sign."""


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 public key named ``name`` (C2SP signed-note)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A public key: checks the checkpoints its signer signed."""

    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def text(self) -> str:
        """``<name>+<key id hex>+<base64(0x01 || public key)>`` (the note verifier key format)."""
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public).decode()}"

    @classmethod
    def from_text(cls, text: str) -> VerifierKey:
        """Raises: NoteError: not a verifier key, or its key id does not match its name and key."""
        parts = text.strip().split("+", 2)  # the base64 key may hold "+" itself
        if len(parts) != 3:
            raise NoteError("not a public key: expected <name>+<key id>+<key> on one line")
        name, hex_id, data = parts
        key = _b64(data, "public key")
        if len(key) != 33 or key[0] != ED25519:
            raise NoteError("not an Ed25519 public key (33 bytes starting with 0x01)")
        verifier = cls(_checked_name(name), key[1:])
        if verifier.id.hex() != hex_id.lower():
            raise NoteError(f"the public key's id {hex_id} does not match its name and key (expected "
                            f"{verifier.id.hex()})")
        return verifier


@dataclass(frozen=True)
class SignerKey:
    """A private key: signs checkpoints under ``name``."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> SignerKey:
        """A new Ed25519 key named ``name`` (no spaces, no ``+``)."""
        private = Ed25519PrivateKey.generate()
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_checked_name(name), seed)

    def verifier(self) -> VerifierKey:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return VerifierKey(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def text(self) -> str:
        """``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`` (the note signer key format)."""
        seed = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().id.hex()}+{seed}"

    @classmethod
    def from_text(cls, text: str) -> SignerKey:
        """Raises: NoteError: not a private key in the note signer format."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a private key: expected PRIVATE+KEY+<name>+<key id>+<key> on one line")
        data = _b64(parts[4], "private key")
        if len(data) != 33 or data[0] != ED25519:
            raise NoteError("not an Ed25519 private key (33 bytes starting with 0x01)")
        signer = cls(_checked_name(parts[2]), data[1:])
        if signer.verifier().id.hex() != parts[3].lower():
            raise NoteError(f"the private key's id {parts[3]} does not match its name and key")
        return signer

    def sign(self, text: str) -> str:
        """``text`` (a note body ending in a newline) with this key's signature line appended."""
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode("utf-8"))
        encoded = base64.b64encode(self.verifier().id + signature).decode()
        return f"{text}\n{EM_DASH} {self.name} {encoded}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose signature was checked: the first ``size`` events had Merkle root ``root``."""

    origin: str
    size: int
    root: bytes
    note: str


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint text (origin, tree size, base64 root; each line ends with a newline)."""
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def open_checkpoint(note: str, verifier: VerifierKey) -> SignedCheckpoint:
    """The checkpoint in ``note``, once a signature by ``verifier`` over its body checks out.

    Raises:
        NoteError: not a signed note, no signature by this key (name and key id), a signature
            that does not verify, or a body that is not a checkpoint of this key's origin.
    """
    body, separator, signatures = note.partition("\n\n")
    if not separator or not body or "\n\n" in signatures.rstrip("\n"):
        raise NoteError("not a signed note: no blank line between the checkpoint and its signatures")
    body += "\n"
    names = []
    for line in signatures.rstrip("\n").split("\n"):
        prefix, _, rest = line.partition(" ")
        name, _, encoded = rest.partition(" ")
        if prefix != EM_DASH or not name or not encoded:
            raise NoteError(f"not a signature line: {line[:60]!r}")
        names.append(name)
        data = _b64(encoded, "signature")
        if name != verifier.name or data[:4] != verifier.id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(verifier.public).verify(data[4:], body.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify: the checkpoint was changed after it was "
                            "signed, or signed by another key of the same name") from None
        return _parse_body(body, verifier, note)
    raise NoteError(f"not signed by the key {verifier.name} (id {verifier.id.hex()}); signed by: "
                    f"{', '.join(names)}")


def _parse_body(body: str, verifier: VerifierKey, note: str) -> SignedCheckpoint:
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise NoteError("not a checkpoint: expected an origin, a tree size and a root hash")
    root = _b64(lines[2], "root hash")
    if len(root) != 32:
        raise NoteError("not a checkpoint: the root hash is not 32 bytes")
    if lines[0] != verifier.name:
        raise NoteError(f"a checkpoint of the log {lines[0]!r}, not of {verifier.name!r}")
    return SignedCheckpoint(lines[0], int(lines[1]), root, note)


def _checked_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise NoteError(f"a key name has no spaces and no '+': {name!r}")
    return name


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"the {what} is not base64") from None
