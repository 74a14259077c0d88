"""Signing keys on disk, and the signed checkpoint written after every cycle.

``checkpoint_after_cycle`` runs once a cycle's completion (or failure) has been
committed (``pdcaflow.engine.runtime.cycle.CycleRun.complete`` / ``fail``), outside any write
transaction: it reads a snapshot of the log and signs a C2SP checkpoint of it into
the checkpoint log (``pdcaflow.engine.store.attest``). Without a key named in the project
config, the first one creates the default key (``pdcaflow.engine.runtime.signing_config``) and says
where it is and where its public key was written.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from pdcaflow.engine.runtime.signing_config import AttestSettings, attest_settings, key_name_for
from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.store.attest import AttestError, Signed, sign_log
from pdcaflow.engine.store.db import Store
from pdcaflow.engine.store.note import NoteError, SignerKey, VerifierKey
from pdcaflow.tasks.sdk.project_config import ConfigError, ProjectConfig, config_in_effect


class KeyFileError(ReviewError):
    """A key file that is missing, unreadable or not a key (bad input: exit 2 from the CLI)."""


def notice_to_stderr(message: str) -> None:
    """``pdca: message`` on stderr, each line of it wrapped at 80 columns between words (a path stays whole)."""
    lines = []
    for index, line in enumerate(message.splitlines()):
        lines.extend(textwrap.wrap(("pdca: " if index == 0 else "  ") + line, width=80, subsequent_indent="  ",
                                   break_long_words=False, break_on_hyphens=False))
    sys.stderr.write("\n".join(lines) + "\n")


def write_key_pair(private_path: Path, public_path: Path, name: str) -> SignerKey:
    """Create a new Ed25519 key: the private key file mode 0600 (never overwritten), the public key beside it.

    Raises:
        KeyFileError: the private key file exists already, or a file cannot be written.
    """
    signer = SignerKey.generate(name)
    try:
        private_path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{private_path} exists already: a signing key is never overwritten (move it away first "
                        "if you mean to replace it; its checkpoints then need its old public key)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create the signing key {private_path}: {exc.strerror}") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(signer.text() + "\n")
    try:
        public_path.parent.mkdir(parents=True, exist_ok=True)
        public_path.write_text(signer.verifier().text() + "\n", encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"cannot write the public key {public_path}: {exc.strerror}") from exc
    return signer


def read_signer(path: Path) -> SignerKey:
    """Raises: KeyFileError: no such file, or not a private key."""
    return SignerKey.from_text(_read(path, "signing key"))


def read_verifier(path: Path) -> VerifierKey:
    """Raises: KeyFileError: no such file, or not a public key."""
    return VerifierKey.from_text(_read(path, "public key"))


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = " (create a key pair with `pdca audit keygen`)" if what == "signing key" else ""
        raise KeyFileError(f"no {what} at {path}{hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read the {what} {path}: {exc}") from exc


def signer_for(settings: AttestSettings, notice: Callable[[str], None] = notice_to_stderr) -> SignerKey:
    """The signing key; the default one is created the first time (never one the config names).

    Raises:
        KeyFileError: the key the config names is missing, or a key file is not a key.
    """
    if not settings.signing_key.exists() and not settings.named:
        signer = write_key_pair(settings.signing_key, settings.public_key, key_name_for(settings))
        notice(f"created the audit signing key {settings.signing_key} (mode 0600)\n"
               f"and its public key {settings.public_key}.\n"
               "Keep a copy of the public key elsewhere, and move the signing key off the database host "
               "(name it in [audit] signing_key of pdca.toml): docs/security.md")
        return signer
    try:
        return read_signer(settings.signing_key)
    except NoteError as exc:
        raise KeyFileError(f"the signing key {settings.signing_key}: {exc}") from exc


def sign_store(store: Store, settings: AttestSettings, notice: Callable[[str], None] = notice_to_stderr) -> Signed:
    """Sign a checkpoint of the whole log now.

    Raises:
        AttestError: the log contradicts an earlier checkpoint or does not verify (nothing signed).
        KeyFileError / NoteError: a key problem, or a checkpoint of another key in the log folder.
    """
    signer = signer_for(settings, notice)
    try:
        with store.read() as session:
            return sign_log(session, signer, settings.checkpoints)
    except OSError as exc:
        raise AttestError(f"cannot write the checkpoint log {settings.checkpoints}: {exc.strerror}") from exc


def checkpoint_after_cycle(store: Store, config: ProjectConfig | None) -> Signed | None:
    """The signed checkpoint after a cycle ended (``None`` when ``after_cycle = false``).

    Args:
        config: the project config the cycle's definition was validated with (its ``[audit]`` table).

    Raises:
        AttestError: no checkpoint could be signed; the cycle itself is recorded already.
    """
    try:
        settings = attest_settings(store.url, config_in_effect(config))
    except ConfigError as exc:
        raise AttestError(f"no checkpoint signed after the cycle: {exc}") from exc
    if not settings.after_cycle:
        return None
    try:
        return sign_store(store, settings)
    except (KeyFileError, NoteError) as exc:
        raise AttestError(f"the cycle is recorded, but no checkpoint was signed: {exc}") from exc
    except AttestError as exc:
        raise AttestError(f"the cycle is recorded, but {exc}") from exc


__all__ = ["AttestError", "KeyFileError", "checkpoint_after_cycle", "read_signer", "read_verifier", "sign_store",
           "signer_for", "write_key_pair"]
