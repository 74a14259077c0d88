"""Issue 15, done-when: a `pdca init` project runs three cycles as generated, and the
same run started from another folder continues its history (cycle 4).

Real `pdca` processes (the installed CLI module), the default store (no --db, no
$PDCA_DATABASE_URL), Prefect's embedded API. Nothing but the project folder may
hold a store afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import Cycle

pytestmark = pytest.mark.slow


def pdca(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("PDCA_DATABASE_URL", "PDCA_WORK_DIR", "PDCA_CONFIG", "PREFECT_HOME",
                           "PDCA_TASK_MODULES", "PREFECT_LOGGING_LEVEL")}
    env.update({"PDCA_ACTOR": "new-user", "COLUMNS": "80"})
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_an_init_project_runs_three_cycles_and_continues_from_another_folder(tmp_path: Path) -> None:
    made = pdca(tmp_path, "init", "demo-project")
    assert made.returncode == 0, made.stdout + made.stderr
    project = tmp_path / "demo-project"

    first = pdca(project, "run", "support-requests.yaml", "--cycles", "3", "--reason", "x")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "cycle 3" in first.stdout, first.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = pdca(elsewhere, "run", "../demo-project/support-requests.yaml", "--reason", "from elsewhere")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cycle 4" in again.stdout, again.stdout
    status = pdca(elsewhere / "..", "status", "support-requests", "--db",
                  f"sqlite:///{project / '.pdca' / 'pdca.db'}")
    assert status.returncode == 0, status.stdout + status.stderr

    store = open_store(f"sqlite:///{project / '.pdca' / 'pdca.db'}")
    try:
        with store.read() as session:
            cycles = [(c.number, c.status) for c in session.scalars(select(Cycle).order_by(Cycle.number))]
    finally:
        store.dispose()
    assert cycles == [(1, "completed"), (2, "completed"), (3, "completed"), (4, "completed")]
    assert list(elsewhere.iterdir()) == []  # no second store, no work files where the run was started
    for line in first.stdout.splitlines() + again.stdout.splitlines():
        assert len(line) <= 80, line
