"""Where a cycle's steps leave the large intermediate tables they hand each other.

A step's outputs are recorded in the audit trail, so they must stay small:
counts, rates, and *references*. A table such as the register snapshot, the
classification or the allocation plan is written under the cycle's work
directory and its path is the output (``snapshot``, ``classification``,
``plan`` ...). The directory is ``$PDCA_WORK_DIR/<process>/cycle-<NNNN>``
(``PDCA_WORK_DIR`` defaults to ``.pdca/work`` under the project root,
:mod:`pdcaflow.tasks.sdk.project_root`, whatever the working folder), so a
retried or resumed step rewrites the same files and a later reviewer can open
exactly what a cycle planned with.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pdcaflow.tasks.sdk.project_root import STATE_DIR, folder_root
from pdcaflow.tasks.sdk.registry import StepContext

WORK_DIR = "work"  # under the project root's .pdca/


def work_root(root: Path | None = None) -> Path:
    """The root of every process's work directories: ``$PDCA_WORK_DIR``, else ``.pdca/work`` under ``root``.

    Args:
        root: the project root (:mod:`pdcaflow.tasks.sdk.project_root`); default: the one found
            from the working folder.
    """
    explicit = os.environ.get("PDCA_WORK_DIR")
    if explicit:  # relative to the folder pdca was started in, as any path in the environment
        return Path(os.path.abspath(explicit))
    return (root if root is not None else folder_root()) / STATE_DIR / WORK_DIR


def cycle_dir(context: StepContext) -> Path:
    """This cycle's work directory (created if missing)."""
    path = _process_dir(context) / f"cycle-{context.cycle:04d}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def previous_cycle_dir(context: StepContext) -> Path | None:
    """The previous completed cycle's work directory (``context.previous["cycle"]``), never created.

    ``None`` in cycle 1, or when that directory does not exist (e.g. the work
    directory was cleaned up, or the cycle ran on another machine).
    """
    number = context.previous.get("cycle")
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    path = _process_dir(context) / f"cycle-{number:04d}"
    return path if path.is_dir() else None


def _process_dir(context: StepContext) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", context.process_id) or "process"
    return work_root(context.project_config().root) / safe


def output_path(context: StepContext, name: str) -> str:
    """The path, as text for a step output, of the table ``name`` (e.g. ``"classification.parquet"``)."""
    return str(cycle_dir(context) / name)
