"""An approval answered from another process: `pdca run` waits, `pdca approve` in a child process resumes it.

The waiting `pdca run` has its own embedded Prefect API that no other process can reach;
the answer travels through the audit store (SQLite here; the in-process tests cover PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import AuditEvent
from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.slow
ANSWER = ("approve", "approved-visits", "1", "plan_visits")


def _env(workdir: Path, db_url: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ("PREFECT_LOGGING_LEVEL", "PDCA_ACTOR")}
    return {**inherited, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
            "PDCA_DATABASE_URL": db_url, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}


def pdca(workdir: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *args], cwd=workdir, env=_env(workdir, db_url),
                          capture_output=True, text=True, timeout=120, check=False)


def approval_events(db_url: str) -> list[tuple[str, str, str | None, int | None]]:
    store = open_store(db_url)
    try:
        with store.read() as session:
            rows = session.execute(select(AuditEvent.kind, AuditEvent.actor, AuditEvent.reason, AuditEvent.payload)
                                   .where(AuditEvent.kind.like("approval.%")).order_by(AuditEvent.seq)).all()
            assert verify_chain(session).ok
    finally:
        store.dispose()
    return [(kind, actor, reason, payload.get("level")) for kind, actor, reason, payload in rows]


def wait_for_request(db_url: str, runner: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if Path(db_url.removeprefix("sqlite:///")).exists() and \
                sum(kind == "approval.requested" for kind, *_ in approval_events(db_url)) >= count:
            return
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.3)
    raise AssertionError("the run never asked for an approval")


def test_a_waiting_run_is_answered_from_another_process(tmp_path: Path) -> None:
    (tmp_path / "approval.yaml").write_text((FIXTURES / "runnable/approval.yaml").read_text("utf-8"), "utf-8")
    db_url = f"sqlite:///{tmp_path / 'pdca.db'}"
    runner = subprocess.Popen(
        [sys.executable, "-m", "pdcaflow.engine.cli.app", "run", "approval.yaml", "--reason", "approval e2e", "--actor",
         "scheduler", "--approval-wait", "90"],
        cwd=tmp_path, env=_env(tmp_path, db_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_request(db_url, runner, 1)
        status = pdca(tmp_path, db_url, "status", "approved-visits")
        assert status.returncode == 0, status.stderr
        assert "Waiting for approval" in status.stdout and "1/2 self" in status.stdout
        assert "inspector" in status.stdout

        refused = pdca(tmp_path, db_url, *ANSWER, "--actor", "dept-head", "--reason", "looks fine")
        assert refused.returncode == 2
        assert "'dept-head' may not answer level 1/2 (self)" in refused.stderr and "Traceback" not in refused.stderr
        assert [kind for kind, *_ in approval_events(db_url)] == ["approval.requested"]  # nothing recorded

        first = pdca(tmp_path, db_url, *ANSWER, "--actor", "inspector", "--reason", "one visit suffices")
        assert first.returncode == 0, first.stderr
        assert "next: level 2/2 (department) waits for dept-head, deputy-head" in first.stdout
        second = pdca(tmp_path, db_url, *ANSWER, "--actor", "dept-head", "--reason", "agreed with the inspector")
        assert second.returncode == 0, second.stderr

        stdout, stderr = runner.communicate(timeout=90)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 0, stderr
    assert "1 cycle(s) of approved-visits completed" in stdout
    assert approval_events(db_url) == [
        ("approval.requested", "scheduler", None, None),
        ("approval.approved", "inspector", "one visit suffices", 1),
        ("approval.approved", "dept-head", "agreed with the inspector", 2)]

    # The next cycle's gate, with no wait: the cycle is suspended, exit 3, and `pdca approvals` lists it.
    suspended = pdca(tmp_path, db_url, "run", "approval.yaml", "--reason", "approval e2e", "--actor", "scheduler")
    assert suspended.returncode == 3, suspended.stderr
    assert "cycle 2 of 'approved-visits' waits for the approval of step 'plan_visits'" in suspended.stderr
    assert "pdca approve approved-visits 2 plan_visits --actor NAME --reason TEXT" in suspended.stderr
    listed = pdca(tmp_path, db_url, "approvals")
    assert listed.returncode == 0 and "approved-visits" in listed.stdout and "plan_visits" in listed.stdout
    status = pdca(tmp_path, db_url, "status", "approved-visits")
    assert "cycle 2 waiting for approval (suspended)" in status.stdout
