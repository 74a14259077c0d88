"""Shared test helpers: the repository root and running the real ``pdca`` command."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# One Prefect home for the whole test session (in-process flows and `pdca run` children alike), set
# before anything imports prefect: its database is migrated once, by the first flow run.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="pdca-test-prefect-"))
# Under pytest-xdist every worker runs its own embedded Prefect server: give each its own home (and database).
# Idempotent: test modules import this file's helpers as `tests.conftest`, which may run it a second
# time beside the copy pytest loaded (--import-mode=importlib).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and os.path.basename(os.environ["PREFECT_HOME"]) != _WORKER:
    os.environ["PREFECT_HOME"] = os.path.join(os.environ["PREFECT_HOME"], _WORKER)
if _WORKER:
    # xdist workers inherit COLUMNS=80/LINES=24, which rich reads once when a module-level Console is made;
    # the CLI tests set the width per call (CliRunner env), as in a plain run.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)
# No signed checkpoint after every cycle (pdcaflow.engine.runtime.signing): the checkpoint log beside a store would outlive the
# PostgreSQL databases the store fixtures wipe for each test. tests/engine/review/test_signed_checkpoints.py turns it on.
os.environ.setdefault("PDCA_AUDIT_AFTER_CYCLE", "0")
# Prefect's INFO lines (e.g. "Stopping temporary server" at exit, after pytest closed its capture) are noise here.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# As in the README's activated virtual environment: this Python's `pdca` first on PATH, so the commands the
# product prints as hints read `pdca ...` (tests/engine/cli/test_hints.py checks them without it).
_BIN = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _BIN:
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "definitions"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_pdca(*args: str, cwd: Path = REPO, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``pdca ARGS`` in a child process, as a user would, and capture what it prints."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


@pytest.fixture()
def write_definition(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "process.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session", autouse=True)
def _drain_prefect_workers() -> object:
    """Drain Prefect's log and event workers at the end, or interpreter exit can hang for a minute."""
    yield
    if "prefect" in sys.modules:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        EventsWorker.drain_all(timeout=10)
        APILogWorker.drain_all(timeout=10)
