"""`pdca run` prints its own view of a run and no Prefect log line, unless `--verbose` asks for them.

Prefect configures logging when it is imported: its console handler sits on the root logger, so loggers outside
``prefect.*`` reach the terminal too. The leak users saw was the EventsWorker's (a logger named after the class)
``Still processing items: N items remaining...`` while it drains its queue at exit, which depends on how far
behind the embedded server is. The step below logs that very record through that very logger (and one through
``prefect.server``'s, which has a level of its own) in the middle of a real run, so the test does not depend on
the machine being slow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

LEAKY_TASKS = '''
import logging

from pdcaflow.tasks.sdk.registry import StepContext, task
from tests.sample_tasks import PlanOutputs


@task("leaky.plan_visits")
def plan_visits(context: StepContext, *, visits: int) -> PlanOutputs:
    """Plan visits while Prefect's loggers say what they say when its services drain at exit."""
    logging.getLogger("EventsWorker").warning("Still processing items: 3 items remaining...")
    logging.getLogger("prefect.server.api.server").warning("server still busy")
    return {"visits": visits, "planned_in_cycle": context.cycle}
'''
PREFECT_LINE = re.compile(r"prefect|EventsWorker|Still processing|\| (DEBUG|INFO|WARNING|ERROR) ", re.IGNORECASE)


@pytest.fixture()
def leaky_project(tmp_path: Path) -> Path:
    (tmp_path / "leaky_tasks.py").write_text(LEAKY_TASKS, encoding="utf-8")
    loop = (FIXTURES / "runnable/loop.yaml").read_text(encoding="utf-8")
    (tmp_path / "loop.yaml").write_text(loop.replace("uses: testing.plan_visits", "uses: leaky.plan_visits"),
                                        encoding="utf-8")
    return tmp_path


def _run(project: Path, *verbose: str) -> str:
    environment = {name: value for name, value in os.environ.items() if name != "PREFECT_LOGGING_LEVEL"}
    environment.update({"PYTHONPATH": os.pathsep.join([str(REPO), str(project)]), "COLUMNS": "120",
                        "PDCA_TASK_MODULES": "tests.sample_tasks,leaky_tasks", "PDCA_ACTOR": "tester",
                        "PDCA_DATABASE_URL": f"sqlite:///{project / 'store.db'}"})
    result = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *verbose, "run", "loop.yaml",
                             "--reason", "quiet run test"], cwd=project, env=environment, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_a_run_prints_no_prefect_log_line_unless_verbose(leaky_project: Path) -> None:
    quiet = _run(leaky_project)
    assert "1 cycle(s) of visit-loop completed" in quiet
    assert [line for line in quiet.splitlines() if PREFECT_LINE.search(line)] == []
    verbose = _run(leaky_project, "--verbose")  # the same lines are there to be seen when asked for
    assert "2 cycle(s)" not in verbose and "1 cycle(s) of visit-loop completed" in verbose
    assert re.search(r"\| WARNING \| EventsWorker - Still processing items: 3 items remaining", verbose), verbose
