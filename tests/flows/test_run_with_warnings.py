"""`pdca run` of a definition with only warnings: they are shown, and the cycle runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.slow


def test_run_shows_the_warning_and_runs(tmp_path: Path) -> None:
    loop = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    swapped = loop.replace("owner: quality-team\n", 'owner: quality-team\nschedule: {cron: "0 8 * 2 *"}\n')
    assert swapped != loop
    (tmp_path / "loop.yaml").write_text(swapped, "utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks", "PDCA_ACTOR": "tester",
           "PDCA_TEST_LOG": str(tmp_path / "steps.jsonl"), "COLUMNS": "160",
           "PDCA_DATABASE_URL": f"sqlite:///{tmp_path / 'pdca.db'}"}
    result = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", "loop.yaml", "--reason", "warned"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "loop.yaml:5:18: warning PDCA301 cron '0 8 * 2 *' runs at 08:00 every day in February" in result.stderr
    assert "1 cycle(s) of visit-loop completed" in result.stdout
