"""The project sandbox for paths: every file or folder a definition names stays inside its project.

A task marks a parameter as a path with :class:`pdcaflow.tasks.sdk.registry.ProjectPath`
(``ProjectFile``, or ``ProjectSource`` when it may also read a named database).
Such a value is one of:

- a path, absolute or relative, that resolves (symlinks included) inside the
  project root (:attr:`pdcaflow.tasks.sdk.project_config.ProjectConfig.root`) or inside the work
  root (``$PDCA_WORK_DIR``, the operator's, where steps leave their tables);
- ``<name>/rest``: ``rest`` inside the folder the project config allows as ``name``
  (``[folders] name = "/srv/data"``), so a definition never writes an outside path;
- ``connection:NAME`` (``ProjectSource`` only): the database named ``NAME`` in the
  config's ``[connections]``; the task receives its URL.

A URL or any other ``scheme:`` is refused: connections are named, never written in
YAML. A relative path is relative to the project root (:mod:`pdcaflow.tasks.sdk.project_root`),
whatever folder the run was started in: one rule for ``file:``, ``source:`` and every
other path value (as for the SQLite files of ``[connections]``, relative to the config's
folder, which is the root). ``pdca validate`` checks literal values with
:func:`path_problem`; the engine checks every value again with :func:`value_for_run`
just before the task runs and hands the task the absolute path, which catches values
made by expressions and symlinks created after validation. Only the standard library
is imported here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.registry import ProjectPath
from pdcaflow.tasks.sdk.workspace import work_root

CONNECTION = "connection:"
OUTSIDE, SCHEME, UNKNOWN_FOLDER = "PDCA260", "PDCA261", "PDCA262"
MISSING_INPUT, UNKNOWN_CONNECTION = "PDCA263", "PDCA264"  # what a task reads (ProjectPath(reads=True), NamedConnection)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_FOLDER = re.compile(r"^<([^<>/]*)>(?:/(.*))?$", re.DOTALL)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ELSEWHERE = ("a file elsewhere: allow its folder by name in the project config ([folders] shared = \"/srv/data\") "
              "and write <shared>/file.csv")


class PathRefused(ValueError):
    """A path a definition names is refused; ``code`` is its diagnostic code, ``hint`` what to do instead."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.hint = code, hint


@dataclass(frozen=True)
class _Target:
    """Where a value points: the path to open and the folders it must stay inside."""

    path: Path
    inside: tuple[tuple[str, Path], ...]  # (what the folder is, as a message names it; the folder)


def path_problem(value: object, rule: ProjectPath, config: ProjectConfig) -> PathRefused | None:
    """Why a literal ``with:`` value cannot be used (``None`` when it can); relative paths are the project's.

    A value the task reads (``rule.reads``) must also exist now: the file or folder, or the named connection.
    """
    if not isinstance(value, str):
        return None  # not text: the type check reports it
    try:
        target = _checked(value, rule, config, base=_root(config))
    except PathRefused as refused:
        return refused
    if not rule.reads:
        return None
    if rule.connections and value.startswith(CONNECTION):
        return connection_problem(value.removeprefix(CONNECTION), config)
    if target.path.exists():
        return None
    return PathRefused(MISSING_INPUT, f"'{value}' does not exist (no {target.path})",
                       f"a relative path is relative to the project root {_root(config)}, whatever folder pdca "
                       "runs in; correct the path or create the file (a file an earlier step writes is named "
                       "by that step's output, ${{ steps.ID.OUTPUT }})")


def connection_problem(name: str, config: ProjectConfig) -> PathRefused | None:
    """Why ``name`` is no connection of the project (``None`` when ``[connections]`` or the environment has it)."""
    if config.has_connection(name):
        return None
    known = ", ".join(sorted(config.connections)) or "none"
    return PathRefused(UNKNOWN_CONNECTION, f"no connection named '{name}' ({config.label}; configured: {known})",
                       f"add it to pdca.toml: [connections] {name} = \"sqlite:///data/{name}.db\" (or "
                       f"\"env:VARIABLE\" for a URL with a password), or set PDCA_CONNECTION_{name.upper()}")


def value_for_run(value: str, rule: ProjectPath, config: ProjectConfig) -> str:
    """The value the task receives: the checked path made absolute (symlinks resolved), or a connection's URL.

    Relative paths are resolved against the project root, so the task opens the same file
    whatever the working folder.

    Raises:
        PathRefused: the value is a URL, names an unknown folder or connection, or resolves outside.
        pdcaflow.tasks.sdk.project_config.ConfigError: a named connection cannot be resolved.
    """
    if rule.connections and value.startswith(CONNECTION):
        _connection_name(value)
        return config.connection_url(value.removeprefix(CONNECTION))
    if rule.connections and _SCHEME.match(value) and value in _connection_urls(config):
        return value  # a named connection's URL handed on by an earlier step (e.g. service.deliver's `operations`)
    return str(_checked(value, rule, config, base=_root(config)).path)


def _checked(value: str, rule: ProjectPath, config: ProjectConfig, *, base: Path) -> _Target:
    if "\x00" in value or not value.strip():
        raise PathRefused(OUTSIDE, f"{value!r} is not a path", "write the path of a file inside the project")
    if rule.connections and value.startswith(CONNECTION):
        _connection_name(value)
        return _Target(base, ())
    if _SCHEME.match(value):
        raise PathRefused(SCHEME, f"'{value}' is a URL or a `scheme:`, not a path", _scheme_hint(rule))
    target = _folder_target(value, config) if value.startswith("<") else _Target(
        base / value, (("the project", _root(config)), ("the work folder", work_root(config.root))))
    real = Path(os.path.realpath(target.path))
    for _, folder in target.inside:
        folder_real = Path(os.path.realpath(folder))
        if real == folder_real or folder_real in real.parents:
            return _Target(real, target.inside)
    linked = real != Path(os.path.abspath(target.path))
    where = " or ".join(f"{label} {os.path.realpath(folder)}" for label, folder in target.inside)
    raise PathRefused(OUTSIDE, f"'{value}' resolves to {real}{' through a symlink' if linked else ''}, "
                      f"outside {where}", "name a file inside the project; " + _ELSEWHERE)


def _folder_target(value: str, config: ProjectConfig) -> _Target:
    match = _FOLDER.match(value)
    name = match.group(1) if match else value[1:].split(">", 1)[0]
    if match is None or not _NAME.fullmatch(name) or name not in config.folders:
        known = ", ".join(f"<{folder}>" for folder in sorted(config.folders)) or "none"
        raise PathRefused(UNKNOWN_FOLDER, f"'{value}' names no folder of the project config (allowed: {known})",
                          f"allow it in {config.label} as [folders] {name or 'shared'} = \"/path/to/folder\", "
                          f"then write <{name or 'shared'}>/file.csv")
    folder = config.folders[name]
    return _Target(folder / (match.group(2) or ""), ((f"the folder <{name}> =", folder),))


def _connection_name(value: str) -> str:
    name = value.removeprefix(CONNECTION)
    if not _NAME.fullmatch(name):
        raise PathRefused(SCHEME, f"'{value}': a connection is named by lower-case letters, digits and _",
                          "name a connection of pdca.toml [connections], e.g. connection:operations")
    return name


def _connection_urls(config: ProjectConfig) -> set[str]:
    """The URLs of the connections the config and ``$PDCA_CONNECTION_<NAME>`` name (those that resolve)."""
    names = {*config.connections, *(variable.removeprefix("PDCA_CONNECTION_").lower() for variable in os.environ
                                    if variable.startswith("PDCA_CONNECTION_"))}
    urls: set[str] = set()
    for name in names:
        try:
            urls.add(config.connection_url(name))
        except ValueError:  # ConfigError: an unset variable; that connection cannot be the one handed on
            continue
    return urls


def _scheme_hint(rule: ProjectPath) -> str:
    if rule.connections:
        return ("connections are named, never written in YAML: put the URL in pdca.toml [connections] "
                "(a password via \"env:VARIABLE\") and write connection:NAME here")
    return ("this parameter takes a file inside the project; a database is read through a named connection "
            "(data.query: `connection: NAME` with `sql:`)")


def _root(config: ProjectConfig) -> Path:
    return config.root if config.root is not None else Path.cwd()
