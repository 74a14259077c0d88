"""Issue 15, problem 1: `pdca run` started from another folder continues the project's history.

Two real `pdca run` processes on the default store (no --db, no $PDCA_DATABASE_URL): the
first from the project folder, the second from an unrelated folder naming the definition
by a relative path. The second must run cycle 2 of the same store under the project root,
and leave nothing in the folder it was started in.
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
from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.slow


def pdca_run(cwd: Path, definition: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("PDCA_DATABASE_URL", "PDCA_WORK_DIR", "PDCA_CONFIG", "PREFECT_LOGGING_LEVEL")}
    env.update({"PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks", "PDCA_ACTOR": "tester",
                "PDCA_TEST_LOG": str(cwd / "steps.jsonl"), "COLUMNS": "160"})
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", definition, "--reason", "root test"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_a_run_from_another_folder_continues_the_projects_history(tmp_path: Path) -> None:
    project = tmp_path / "claims"
    (project / "definitions").mkdir(parents=True)
    (project / "pdca.toml").write_text("# the claims project\n", encoding="utf-8")
    (project / "definitions" / "loop.yaml").write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8"), "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    first = pdca_run(project, "definitions/loop.yaml")
    assert first.returncode == 0, first.stdout + first.stderr
    second = pdca_run(elsewhere, "../claims/definitions/loop.yaml")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "visit-loop · cycle 2" in second.stdout, second.stdout

    store = open_store(f"sqlite:///{project / '.pdca' / 'pdca.db'}")
    try:
        with store.read() as session:
            cycles = [(c.number, c.status) for c in session.scalars(select(Cycle).order_by(Cycle.number))]
    finally:
        store.dispose()
    assert cycles == [(1, "completed"), (2, "completed")]
    assert sorted(path.name for path in elsewhere.iterdir()) == ["steps.jsonl"]  # the test task's own log only
    assert not (project / "definitions" / ".pdca").exists()
