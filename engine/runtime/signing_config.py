"""Where the signing key, the public key and the signed checkpoints of a store live (``[audit]`` of the config).

``[audit]`` in ``pdca.toml`` (or ``[tool.pdca.audit]``), paths relative to that file::

    signing_key = "/etc/pdca/audit-key"   # the Ed25519 private key; keep it off the database host
    public_key = "keys/audit-key.pub"     # default: the signing key's path + ".pub"
    checkpoints = "audit/checkpoints"     # the checkpoint log: one signed note per file
    after_cycle = true                    # sign a checkpoint after every cycle (default; or
                                          # $PDCA_AUDIT_AFTER_CYCLE=0/1, which wins)

Without a config naming them, for a SQLite store ``DIR/file.db``: the key is
``DIR/audit-key`` (created, mode 0600, the first time a cycle ends) and the
checkpoints go to ``DIR/checkpoints/``; the default store ``.pdca/pdca.db`` so gets
``.pdca/audit-key`` and ``.pdca/checkpoints/``. For PostgreSQL the key is
``.pdca/audit-key`` of the project root (``pdcaflow.tasks.sdk.project_root``)
and the checkpoints ``.pdca/checkpoints/<host>-<port>-<database>/``, so that two
stores never share a checkpoint log.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.tasks.sdk.project_config import ConfigError, ProjectConfig, find_config
from pdcaflow.tasks.sdk.project_root import folder_root

KEY_FILE = "audit-key"
AFTER_CYCLE_ENV = "PDCA_AUDIT_AFTER_CYCLE"  # 0/false: no checkpoint after a cycle (overrides after_cycle)


class AttestConfigError(ReviewError):
    """The project config that names the key and the checkpoint log is malformed (bad input)."""


@dataclass(frozen=True)
class AttestSettings:
    """The files of a store's signed checkpoints.

    Attributes:
        named: the config names the signing key (it is then never generated).
    """

    signing_key: Path
    public_key: Path
    checkpoints: Path
    after_cycle: bool = True
    named: bool = False


def attest_settings(store_url: str, config: ProjectConfig | None = None) -> AttestSettings:
    """The settings for the store at ``store_url``, from ``config`` (else the one of the project root found from the
    working folder, ``pdcaflow.tasks.sdk.project_root.folder_root``).

    Raises:
        ConfigError: the project config is malformed.
    """
    if config is None:
        try:
            config = find_config(folder_root())
        except ConfigError as exc:
            where = f"{exc.path}:{exc.line}:{exc.column}: " if exc.path else ""
            raise AttestConfigError(f"{where}{exc}") from exc
    root = config.root if config.root is not None else folder_root()
    table = config.audit
    database = _sqlite_file(store_url)
    home = database.parent if database is not None else root / ".pdca"
    signing_key = _path(table.get("signing_key"), root) or home / KEY_FILE
    public_key = _path(table.get("public_key"), root) or signing_key.with_name(signing_key.name + ".pub")
    default_log = home / "checkpoints" if database is not None else root / ".pdca" / "checkpoints" / _slug(store_url)
    after_cycle = os.environ.get(AFTER_CYCLE_ENV, "").strip().lower()
    return AttestSettings(signing_key, public_key, _path(table.get("checkpoints"), root) or default_log,
                          after_cycle not in ("0", "false", "no", "off") if after_cycle
                          else bool(table.get("after_cycle", True)), named="signing_key" in table)


def key_name_for(settings: AttestSettings) -> str:
    """A default key name (the checkpoints' origin): ``pdcaflow/<the project's folder name>``."""
    folder = settings.signing_key.resolve().parent
    project = folder.parent if folder.name == ".pdca" else folder
    return "pdcaflow/" + (re.sub(r"[^A-Za-z0-9._-]", "-", project.name) or "project")


def _path(value: object, root: Path) -> Path | None:
    return None if value is None else (root / str(value)).resolve()


def _sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    name = parsed.database.removeprefix("file:").split("?")[0]
    return Path(name).resolve()


def _slug(url: str) -> str:
    try:
        parsed = make_url(url)
        text = f"{parsed.host or 'local'}-{parsed.port or 'default'}-{parsed.database or 'default'}"
    except ArgumentError:
        text = "store"
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


__all__ = ["AttestConfigError", "AttestSettings", "ConfigError", "attest_settings", "key_name_for"]
