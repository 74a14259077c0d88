"""Real cycles as a user runs them: `pdca run` in fresh processes, on SQLite and on PostgreSQL.

Each `pdca run` is its own OS process with its own Prefect (embedded, in-process API),
so whatever cycle N+1 starts from was read back from the store, never from memory.
Each of these tests costs several Prefect start-ups, so each runs on one dialect: the
carry-over and the killed writer on SQLite (the default store, where WAL and the file
lock matter), the failed step's resume and two runs at once on PostgreSQL. The store
itself is tested on both dialects in tests/engine/store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import AuditEvent, CarryOver, Cycle, StepRun
from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.slow
PROCESS = "visit-loop"
REASON = "end-to-end test"


@pytest.fixture(scope="session")
def prefect_home() -> Path:
    """The session's Prefect home (tests/conftest.py): its database is migrated by the first run only."""
    return Path(os.environ["PREFECT_HOME"])


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "loop.yaml").write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8"), "utf-8")
    return tmp_path


def _env(workdir: Path, db_url: str, prefect_home: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"}  # the CLI's own default
    return {**inherited, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
            "PDCA_TEST_LOG": str(workdir / "steps.jsonl"), "PDCA_DATABASE_URL": db_url,
            "PREFECT_HOME": str(prefect_home), "PDCA_ACTOR": "tester", "COLUMNS": "160"}


def pdca_run(workdir: Path, db_url: str, prefect_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", "loop.yaml", "--reason", REASON, *args],
                          cwd=workdir,
                          env=_env(workdir, db_url, prefect_home), capture_output=True, text=True, timeout=300,
                          check=False)


def step_log(workdir: Path) -> list[dict[str, Any]]:
    path = workdir / "steps.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []


def store_facts(db_url: str) -> dict[str, Any]:
    store = open_store(db_url)
    try:
        with store.read() as session:
            cycles = session.scalars(select(Cycle).where(Cycle.process_id == PROCESS).order_by(Cycle.number)).all()
            steps = session.execute(select(Cycle.number, StepRun.step_id, StepRun.status)
                                    .join(StepRun, StepRun.cycle_id == Cycle.id)).all()
            kinds = session.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
            starts = session.execute(select(AuditEvent.actor, AuditEvent.reason).where(
                AuditEvent.kind == "cycle.started").order_by(AuditEvent.seq)).all()
            carry = session.scalars(select(CarryOver)).all()
            return {"cycles": [(c.number, c.status) for c in cycles], "steps": sorted(map(tuple, steps)),
                    "events": list(kinds), "carry_overs": len(carry), "chain": verify_chain(session),
                    "start_reasons": [tuple(row) for row in starts]}
    finally:
        store.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_three_cycles_carry_params_across_processes(workdir: Path, db_url: str, prefect_home: Path) -> None:
    first = pdca_run(workdir, db_url, prefect_home)
    assert first.returncode == 0, first.stdout + first.stderr
    rest = pdca_run(workdir, db_url, prefect_home, "--cycles", "2")
    assert rest.returncode == 0, rest.stdout + rest.stderr

    plans = [(entry["cycle"], entry["visits"], entry["pid"]) for entry in step_log(workdir) if entry["event"] == "plan"]
    assert [(cycle, visits) for cycle, visits, _ in plans] == [(1, 1), (2, 2), (3, 3)]
    assert plans[0][2] != plans[1][2], "cycle 2 must run in a fresh process"
    assert "more_visits_when_missed" in rest.stdout and "param visits: 1 -> 2" in first.stdout
    assert "3 cycle" not in first.stdout and "2 cycle(s) of visit-loop completed" in rest.stdout

    facts = store_facts(db_url)
    assert facts["cycles"] == [(1, "completed"), (2, "completed"), (3, "completed")]
    assert facts["carry_overs"] == 3
    assert facts["chain"].ok and facts["chain"].count == len(facts["events"])
    assert facts["start_reasons"] == [("tester", REASON)] * 3

    # The review side on what real runs recorded (no Prefect: about a second each).
    env = _env(workdir, db_url, prefect_home)
    verified = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "audit", "verify"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
    assert verified.returncode == 0 and f"ok: {facts['chain'].count} events verified" in verified.stdout
    shown = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "audit", "show", PROCESS, "2"], cwd=workdir, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "started by tester at" in shown.stdout and f"reason: {REASON}" in shown.stdout
    assert "Plan inputs (recorded on its start event; carried over from cycle 1)" in shown.stdout
    decisions = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "audit", "log", "--process", PROCESS, "--cycle",
                                "2", "--kind", "decision", "--format", "jsonl"], cwd=workdir, env=env,
                               capture_output=True, text=True, timeout=60, check=False)
    decision = json.loads(decisions.stdout)  # one line: the rule that fired and the numbers it fired on
    assert decision["payload"]["rule"]["when"] == {"kpi": "satisfaction", "missed": True, "cycles": 1}
    assert decision["payload"]["kpi_result"]["actual"] == 4.0 and decision["payload"]["fired"] is True
    changes = shown.stdout[shown.stdout.index("Carry-over in vs out"):]
    assert "│ param  │ visits │ 2  │ 3   │" in changes


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_runs_started_at_once_take_turns_on_postgresql(workdir: Path, db_url: str, prefect_home: Path) -> None:
    """Two `pdca run` processes at once on one PostgreSQL: with --wait both finish, cycles 1-4, one valid chain."""
    runs = [subprocess.Popen([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", "loop.yaml", "--cycles", "2",
                              "--wait", "240", "--actor", actor, "--reason", f"run by {actor}"], cwd=workdir,
                             env=_env(workdir, db_url, prefect_home), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for actor in ("ann", "ben")]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("2 cycle(s) of visit-loop completed" in stdout for stdout, _ in outputs)
    facts = store_facts(db_url)
    assert facts["cycles"] == [(1, "completed"), (2, "completed"), (3, "completed"), (4, "completed")]
    assert sorted(facts["start_reasons"]) == [("ann", "run by ann")] * 2 + [("ben", "run by ben")] * 2
    assert facts["chain"].ok and facts["chain"].count == len(facts["events"])
    plans = [(entry["cycle"], entry["visits"]) for entry in step_log(workdir) if entry["event"] == "plan"]
    # each cycle starts from the one before, whoever ran it (cycle 3 met the target: visits stay 3)
    assert sorted(plans) == [(1, 1), (2, 2), (3, 3), (4, 3)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_failed_step_is_resumed_without_redoing_completed_steps(workdir: Path, db_url: str, prefect_home: Path) -> None:
    (workdir / f"{PROCESS}.fail").write_text("fail once", "utf-8")
    failed = pdca_run(workdir, db_url, prefect_home)
    assert failed.returncode == 1
    assert "cycle 1 of 'visit-loop' failed: step 'serve'" in failed.stderr
    assert "run the same command again to resume it" in failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    assert store_facts(db_url)["cycles"] == [(1, "failed")]

    resumed = pdca_run(workdir, db_url, prefect_home)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "cycle 1 (resumed)" in resumed.stdout

    events = [(entry["event"], entry["cycle"]) for entry in step_log(workdir)]
    assert events == [("plan", 1), ("serve", 1), ("serve", 1)], "plan_visits must not run twice"
    facts = store_facts(db_url)
    assert facts["cycles"] == [(1, "completed")]
    assert facts["steps"] == sorted([(1, "plan_visits", "completed"), (1, "serve", "failed"),
                                     (1, "serve", "completed"), (1, "evaluate", "completed"),
                                     (1, "improve", "completed")])
    assert facts["carry_overs"] == 1
    assert facts["events"].count("cycle.completed") == 1
    assert facts["chain"].ok


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_killed_run_is_resumed_and_the_chain_stays_valid(workdir: Path, db_url: str, prefect_home: Path) -> None:
    marker = workdir / f"{PROCESS}.sleep"
    marker.write_text("hold", "utf-8")
    child = subprocess.Popen([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", "loop.yaml", "--reason", REASON],
                             cwd=workdir,
                             env=_env(workdir, db_url, prefect_home), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not any(entry["event"] == "serve" for entry in step_log(workdir)):
            assert child.poll() is None, "the run ended before reaching the step"
            assert time.monotonic() < deadline, "the run never reached the serve step"
            time.sleep(0.2)
        os.killpg(child.pid, signal.SIGKILL)  # the whole group: pdca and Prefect's server subprocess
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    marker.unlink()
    assert store_facts(db_url)["cycles"] == [(1, "running")]

    resumed = pdca_run(workdir, db_url, prefect_home)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "cycle 1 (resumed)" in resumed.stdout
    assert [entry["event"] for entry in step_log(workdir)] == ["plan", "serve", "serve"]
    facts = store_facts(db_url)
    assert facts["cycles"] == [(1, "completed")]
    assert [step for step in facts["steps"] if step[1] == "plan_visits"] == [(1, "plan_visits", "completed")]
    assert facts["events"].count("cycle.resumed") == 1
    assert facts["chain"].ok
