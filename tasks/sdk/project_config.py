"""A project's own pdcaflow settings: ``pdca.toml`` or the ``[tool.pdca]`` table of ``pyproject.toml``.

Where it is searched: from the definition's folder upwards. In each folder a
``pdca.toml`` wins, else a ``pyproject.toml`` with a ``[tool.pdca]`` table. The
search stops at the first folder that holds either file (with or without the
table: that is the project root) or a ``.git`` folder, so a definition never
picks up the settings of an unrelated project above it. ``$PDCA_CONFIG`` names a
config file explicitly and skips the search.

Keys (all optional)::

    tasks = ["my_tasks", "lab.tasks"]          # modules whose @pdcaflow.task functions are registered
    paths = ["."]                              # folders put on sys.path first, relative to this file (default ".")
    [connections]                              # names data.query / data.assert / survey.score / notify use
    quality = "env:QUALITY_DB_URL"             # the URL read from an environment variable
    local = "sqlite:///data/audits.db"         # a URL without a password; sqlite paths relative to this file
    [connections.warehouse]                    # the table form: a URL and what its role is trusted with
    url = "env:WAREHOUSE_URL"
    allow_write = true                         # accept a role that can write (queries still run read-only)
    allow_superuser = true                     # accept a superuser (PostgreSQL); off by default
    [webhooks]
    owners = "env:OWNERS_WEBHOOK_URL"
    [smtp]
    host = "localhost"   port = 25   sender = "pdca@example.org"   user = "..."   password = "env:SMTP_PASSWORD"
    [folders]                                  # folders outside the project a definition may name as <name>/...
    shared_data = "/srv/data"                  # relative paths are relative to this file
    [audit]                                    # signed checkpoints (pdcaflow.engine.runtime.signing_config; docs/security.md)
    signing_key = "/etc/pdca/audit-key"  public_key = "keys/audit.pub"  checkpoints = "audit/checkpoints"
    after_cycle = true                         # sign a checkpoint after every cycle (default true)

``PDCA_CONNECTION_<NAME>`` / ``PDCA_WEBHOOK_<NAME>`` in the environment override a
named connection / webhook. In ``pdca.toml`` the keys are top-level; in
``pyproject.toml`` they sit under ``[tool.pdca]``. Only the standard library is
imported here (``tomllib``), so ``pdca validate`` stays fast.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "pdca.toml"
PYPROJECT = "pyproject.toml"
KEYS = ("tasks", "paths", "connections", "webhooks", "smtp", "folders", "audit")
SMTP_KEYS = ("host", "port", "sender", "user", "password", "starttls")
AUDIT_KEYS = ("signing_key", "public_key", "checkpoints", "after_cycle")
_PASSWORD_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]*:[^/@]+@", re.IGNORECASE)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CONNECTION_TRUST = ("allow_write", "allow_superuser")  # data.query refuses such roles unless set (tasks/data/sql_privileges.py)


class ConfigError(ValueError):
    """The project config is malformed, or a name in it cannot be resolved.

    Attributes:
        path: the config file ('' when the problem is not in a file).
        line: 1-based line of the offending key or value (0 when unknown).
        column: 1-based column (0 when unknown).
    """

    def __init__(self, message: str, path: str = "", line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.path, self.line, self.column = path, line, column


@dataclass(frozen=True)
class ProjectConfig:
    """The settings in effect for the definitions below ``path``'s folder.

    ``root`` is the project's folder, the sandbox of every path a definition names
    (:mod:`pdcaflow.tasks.sdk.project_paths`): the config file's folder (also for a ``pyproject.toml``
    without ``[tool.pdca]``), else the folder the search started from.
    """

    path: Path | None = None
    tasks: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()
    connections: Mapping[str, str] = field(default_factory=dict)
    webhooks: Mapping[str, str] = field(default_factory=dict)
    smtp: Mapping[str, Any] = field(default_factory=dict)
    connection_trust: Mapping[str, frozenset[str]] = field(default_factory=dict)  # name -> allow_* keys set true
    folders: Mapping[str, Path] = field(default_factory=dict)
    root: Path | None = None
    audit: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"config {self.path}" if self.path else "no config"

    def position(self, text: str) -> tuple[int, int]:
        """Line and column of the first quoted occurrence of ``text`` in the config file (0, 0 if none)."""
        return _position(self.path, text)

    def connection_url(self, name: str) -> str:
        """The SQLAlchemy URL of the named connection (environment first, then this config).

        Raises:
            ConfigError: the name is not configured, or its environment variable is unset.
        """
        return _resolve(name, "connection", "PDCA_CONNECTION_", self.connections, self, sqlite_base=True)

    def webhook_url(self, name: str) -> str:
        """The URL of the named webhook (``PDCA_WEBHOOK_<NAME>`` first, then ``[webhooks]``)."""
        return _resolve(name, "webhook", "PDCA_WEBHOOK_", self.webhooks, self, sqlite_base=False)

    def connection_allows(self, name: str, key: str) -> bool:
        """Whether ``[connections.<name>]`` sets ``key`` (``allow_write``, ``allow_superuser``) to true."""
        return key in self.connection_trust.get(name, frozenset())

    def has_connection(self, name: str) -> bool:
        return name in self.connections or f"PDCA_CONNECTION_{name.upper()}" in os.environ


_FOUND: dict[tuple[Path, int, int], ProjectConfig] = {}


def find_config(start: Path) -> ProjectConfig:
    """The config in effect for a definition file or folder ``start`` (an empty one if none).

    Raises:
        ConfigError: the config file found is malformed.
    """
    found = config_file(start)
    return load_config(found) if found is not None else ProjectConfig(root=start_folder(start))


def config_file(start: Path) -> Path | None:
    """The config file in effect for a definition file or folder ``start``, found as the module says (not read).

    ``$PDCA_CONFIG`` when set; else the nearest ``pdca.toml`` or ``pyproject.toml`` from ``start``'s
    folder upwards, the search ending at a folder with ``.git``; ``None`` when there is none.
    """
    explicit = os.environ.get("PDCA_CONFIG")
    if explicit:
        return Path(explicit).resolve()
    folder = start_folder(start)
    for directory in (folder, *folder.parents):
        for name in (CONFIG_FILE, PYPROJECT):
            if (directory / name).is_file():
                return directory / name
        if (directory / ".git").exists():
            break
    return None


def start_folder(start: Path) -> Path:
    """``start`` made absolute (symlinks resolved): itself if it is a folder, else its folder."""
    folder = start.resolve()
    return folder if folder.is_dir() else folder.parent


def config_in_effect(config: ProjectConfig | None) -> ProjectConfig:
    """``config`` (the one a definition was validated with), else the one found from the working folder.

    Raises:
        ConfigError: the config found from the working folder is malformed.
    """
    return config if config is not None else find_config(Path.cwd())


def load_config(path: Path) -> ProjectConfig:
    """Read one ``pdca.toml`` or ``pyproject.toml`` (cached while the file is unchanged)."""
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read the project config: {exc.strerror}", str(path)) from exc
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key in _FOUND:
        return _FOUND[key]
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the project config: {exc.strerror}", str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(str(exc))
        raise ConfigError(f"the project config is not valid TOML: {exc}", str(path), line, column) from exc
    table = document.get("tool", {}).get("pdca", {}) if path.name == PYPROJECT else document
    config = _parse(table, path) if table or path.name != PYPROJECT else ProjectConfig(root=path.parent)
    _FOUND[key] = config
    return config


def _parse(table: Mapping[str, Any], path: Path) -> ProjectConfig:
    where = str(path)
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        line, column = _position(path, unknown[0], quoted=False)
        raise ConfigError(f"unknown key '{unknown[0]}' in the project config; known keys: {', '.join(KEYS)}",
                          where, line, column)
    tasks = _strings(table.get("tasks", []), "tasks", path)
    for module in tasks:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", module):
            line, column = _position(path, module)
            raise ConfigError(f"tasks: '{module}' is not a Python module name", where, line, column)
    paths = tuple((path.parent / entry).resolve() for entry in _strings(table.get("paths", ["."]), "paths", path))
    connections, trust = _connections(table.get("connections", {}), path)
    webhooks = _named(table.get("webhooks", {}), "webhooks", path)
    smtp = table.get("smtp", {})
    if not isinstance(smtp, dict) or any(key not in SMTP_KEYS for key in smtp):
        line, column = _position(path, "smtp", quoted=False)
        raise ConfigError(f"smtp: a table with keys {', '.join(SMTP_KEYS)}", where, line, column)
    if "password" in smtp and not str(smtp["password"]).startswith("env:"):
        raise ConfigError("smtp.password: write it as \"env:VARIABLE\", never in clear text", where,
                          *_position(path, "password", quoted=False))
    return ProjectConfig(path, tasks, paths, connections, webhooks, dict(smtp), trust,
                         folders=_folders(table.get("folders", {}), path), root=path.parent,
                         audit=_audit(table.get("audit", {}), path))


def _audit(value: Any, path: Path) -> dict[str, Any]:
    """The [audit] table: paths (relative to the config file) of the signing key, public key and checkpoints."""
    if not isinstance(value, dict) or any(key not in AUDIT_KEYS for key in value) \
            or not all(isinstance(value[key], str) and value[key] for key in value if key != "after_cycle") \
            or not isinstance(value.get("after_cycle", True), bool):
        raise ConfigError(f"audit: a table with the paths {', '.join(AUDIT_KEYS[:3])} and after_cycle = true/false",
                          str(path), *_position(path, "audit", quoted=False))
    return dict(value)


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{key}: a list of strings, e.g. {key} = [\"...\"]", str(path),
                          *_position(path, key, quoted=False))
    return tuple(value)


def _connections(value: Any, path: Path) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """``[connections]``: name = "URL", or a table ``{url, allow_write, allow_superuser}`` per name."""
    if not isinstance(value, dict):
        return _named(value, "connections", path), {}
    urls: dict[str, Any] = {}
    trust: dict[str, frozenset[str]] = {}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            urls[name] = entry
            continue
        unknown = [key for key in entry if key not in ("url", *CONNECTION_TRUST)]
        flags = {key: entry[key] for key in CONNECTION_TRUST if key in entry}
        if unknown or "url" not in entry or not all(isinstance(flag, bool) for flag in flags.values()):
            raise ConfigError(f"connections.{name}: a table with `url` and optionally {' and '.join(CONNECTION_TRUST)} "
                              "= true/false", str(path), *_position(path, f"connections.{name}", quoted=False))
        urls[name] = entry["url"]
        trust[name] = frozenset(key for key, flag in flags.items() if flag)
    return _named(urls, "connections", path), trust


def _named(value: Any, key: str, path: Path) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: a table of name = \"URL or env:VARIABLE\"", str(path),
                          *_position(path, key, quoted=False))
    for name, url in value.items():
        line, column = _position(path, name, quoted=False)
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{key}.{name}: names are lower-case letters, digits and _", str(path), line, column)
        if not isinstance(url, str) or not url:
            raise ConfigError(f"{key}.{name}: a URL or \"env:VARIABLE\"", str(path), line, column)
        if _PASSWORD_IN_URL.match(url):
            raise ConfigError(f"{key}.{name}: the URL holds a password in clear text; put the URL in an "
                              f"environment variable and write \"env:VARIABLE\"", str(path), line, column)
    return dict(value)


def _folders(value: Any, path: Path) -> dict[str, Path]:
    """``[folders]``: name -> a folder outside the project that definitions may name as ``<name>/...``."""
    if not isinstance(value, dict):
        raise ConfigError('folders: a table of name = "folder", e.g. shared_data = "/srv/data"', str(path),
                          *_position(path, "folders", quoted=False))
    folders: dict[str, Path] = {}
    for name, folder in value.items():
        line, column = _position(path, name, quoted=False)
        if not _NAME.fullmatch(name):
            raise ConfigError(f"folders.{name}: names are lower-case letters, digits and _", str(path), line, column)
        if not isinstance(folder, str) or not folder or "://" in folder:
            raise ConfigError(f"folders.{name}: the path of a folder (relative to this file)", str(path), line, column)
        folders[name] = Path(os.path.realpath(path.parent / folder))
    return folders


def _resolve(name: str, kind: str, prefix: str, table: Mapping[str, str], config: ProjectConfig,
             *, sqlite_base: bool) -> str:
    from_env = os.environ.get(prefix + name.upper())
    if from_env:
        return from_env
    value = table.get(name)
    if value is None:
        known = ", ".join(sorted(table)) or "none"
        raise ConfigError(f"no {kind} named '{name}' ({config.label}; configured: {known}; or set "
                          f"{prefix}{name.upper()})", str(config.path or ""))
    if value.startswith("env:"):
        variable = value.removeprefix("env:")
        if not os.environ.get(variable):
            raise ConfigError(f"{kind} '{name}' reads ${variable}, which is not set", str(config.path or ""))
        return os.environ[variable]
    if sqlite_base and config.path is not None and value.startswith("sqlite:///") and value != "sqlite:///:memory:":
        file_part = value.removeprefix("sqlite:///")
        if not file_part.startswith("/"):
            return "sqlite:///" + str((config.path.parent / file_part).resolve())
    return value


def _position(path: Path | None, text: str, quoted: bool = True) -> tuple[int, int]:
    if path is None or not path.is_file():
        return 0, 0
    needles = (f'"{text}"', f"'{text}'") if quoted else (text,)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for needle in needles:
            column = line.find(needle)
            if column >= 0 and (quoted or re.match(rf"\s*\[?(tool\.pdca\.)?{re.escape(text)}\b", line)):
                return number, column + 1
    return 0, 0


def _toml_position(message: str) -> tuple[int, int]:
    found = re.search(r"line (\d+), column (\d+)", message)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)
