"""The project root: where a project's store, work files and Prefect home live, and what its paths are relative to.

It is found the way git and dbt find theirs, so the same project has the same
history whatever folder a command is started in:

- **for a definition** (``pdca run``, ``pdca serve``, a served or deployed cycle):
  the folder of the project config in effect for it (:func:`pdcaflow.tasks.sdk.project_config.config_file`:
  ``$PDCA_CONFIG``, else the nearest ``pdca.toml`` or ``pyproject.toml`` from the
  definition's folder upwards, the search ending at a ``.git`` folder), else the
  definition's own folder. It is :attr:`ProjectConfig.root`, the sandbox of the
  definition's paths;
- **for a command that names no definition** (``pdca status``, ``pdca audit ...``,
  ``pdca actions ...``, ``pdca approvals``): the folder of the project config found
  the same way from the working folder; else the nearest folder from the working
  folder upwards that already holds a store (``.pdca/pdca.db``; the search ends at
  a ``.git`` folder too), so a subfolder of a project without a config finds the
  project's store; else the working folder itself.

Under the root, unless overridden: the store ``.pdca/pdca.db`` (``--db``,
``$PDCA_DATABASE_URL``), the work files ``.pdca/work/`` (``$PDCA_WORK_DIR``),
Prefect's home ``.pdca/prefect/`` (``$PREFECT_HOME``), the signing key and the
checkpoints (``[audit]`` of the config). Only the standard library is imported here.
"""

from __future__ import annotations

from pathlib import Path

from pdcaflow.tasks.sdk.project_config import config_file, start_folder

STATE_DIR = ".pdca"  # everything pdcaflow keeps in a project, under its root
STORE_NAME = "pdca.db"


def definition_root(definition: Path) -> Path:
    """The project root of a definition file: its config's folder, else the definition's folder."""
    found = config_file(definition)
    return found.parent if found is not None else start_folder(definition)


def folder_root(folder: Path | None = None) -> Path:
    """The project root for a command that names no definition, started in ``folder`` (default: the working folder).

    The config's folder, else the nearest folder upwards with a store, else ``folder`` (see the module docstring).
    """
    start = start_folder(folder or Path.cwd())
    found = config_file(start)
    if found is not None:
        return found.parent
    for directory in (start, *start.parents):
        if default_store(directory).is_file():
            return directory
        if (directory / ".git").exists():
            break
    return start


def prefect_home(root: Path) -> Path:
    """Prefect's home in the embedded mode when ``$PREFECT_HOME`` names none (``pdcaflow.flows.settings``)."""
    return root / STATE_DIR / "prefect"


def default_store(root: Path) -> Path:
    """The SQLite file of the project's store when no ``--db`` or ``$PDCA_DATABASE_URL`` names one."""
    return root / STATE_DIR / STORE_NAME


def no_store_found(folder: Path | None = None) -> str:
    """Where :func:`folder_root` looked for a store from ``folder`` and found none, as a user reads it."""
    start = start_folder(folder or Path.cwd())
    found = config_file(start)
    if found is not None:
        return (f"no audit store at {default_store(found.parent)} (the project root, where {found.name} is; "
                "no cycle has run there yet)")
    return (f"no audit store found in {start} or the folders above it (none has {STATE_DIR}/{STORE_NAME}, "
            "and no pdca.toml or pyproject.toml marks a project root)")
