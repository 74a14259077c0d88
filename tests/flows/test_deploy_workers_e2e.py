"""Scale-out for real: a Prefect server on PostgreSQL, `pdca deploy` to a process work pool, two workers.

Runs triggered at the same time through Prefect (as people do from the UI or with
`prefect deployment run`) must give distinct cycles 1, 2, 3 of the one process, each
from the previous one's carry-over, in the team's PostgreSQL store, with an audit
chain that `pdca audit verify` accepts; stopping the workers and the server leaves
no process behind. The deployment carries the definition's text, so the workers run
in a folder without the file.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select

from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from pdcaflow.flows.local_server import LocalServer, stop_tree
from tests.conftest import FIXTURES, REPO
from tests.flows.test_serve_e2e import marked_processes, wait_for
from tests.engine.store.conftest import PG_HOST, PG_PORT, _pg_admin_user

pytestmark = pytest.mark.slow
# What `prefect deployment run` does, for several runs from one process (each CLI call costs seconds of imports).
TRIGGER = """
import sys
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    deployment = client.read_deployment_by_name("pdca-cycle/visit-loop")
    for _ in range(int(sys.argv[1])):
        client.create_flow_run_from_deployment(deployment.id)
"""
POOL = "pdca-test-pool"
RUNS = 3


@pytest.fixture()
def databases() -> Iterator[dict[str, str]]:
    """Two fresh PostgreSQL databases: Prefect's (with pg_trgm) and the pdcaflow store; dropped at the end."""
    user, token = _pg_admin_user(), secrets.token_hex(4)
    names = {"prefect": f"prefect_test_{token}", "store": f"pdca_store_{token}"}
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname="test", user=user, autocommit=True) as admin:
        for name in names.values():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=names["prefect"], user=user, autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    try:
        yield {"prefect": f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{names['prefect']}",
               "store": f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{names['store']}"}
    finally:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname="test", user=user, autocommit=True) as admin:
            for name in names.values():
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture()
def cluster(tmp_path: Path, databases: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The Prefect server on PostgreSQL and the environment its clients and workers use; all stopped at the end."""
    marker = f"pdca_{secrets.token_hex(6)}"
    base = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")}
    base["PDCA_WORKERS_TEST_MARK"] = marker
    server = LocalServer(home=tmp_path / "server")
    server.start({**base, "PREFECT_SERVER_DATABASE_CONNECTION_URL": databases["prefect"],
                  "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "1"})
    workers: list[subprocess.Popen[bytes]] = []
    try:
        server.wait_healthy()
        env = {**base, "PREFECT_API_URL": server.api_url, "PYTHONPATH": str(REPO),
               "PDCA_TASK_MODULES": "tests.sample_tasks", "PDCA_DATABASE_URL": databases["store"],
               "PDCA_TEST_LOG": str(tmp_path / "steps.jsonl"), "PREFECT_WORKER_QUERY_SECONDS": "1",
               "PREFECT_HOME": str(tmp_path / "client")}
        yield {"env": env, "workers": workers, "tmp": tmp_path, "store": databases["store"], "marker": marker,
               "server": server}
    finally:
        for worker in workers:
            stop_tree(worker.pid)
            worker.wait()
        server.stop()


def _run(env: dict[str, str], *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180, check=False)


def _cycles(url: str) -> list[dict[str, Any]]:
    store = open_store(url)
    try:
        with store.read() as session:
            cycles = session.scalars(select(Cycle).order_by(Cycle.number)).all()
            starts = {e.cycle_number: e for e in session.scalars(
                select(AuditEvent).where(AuditEvent.kind == "cycle.started"))}
            return [{"number": c.number, "status": c.status, "trigger": c.trigger, "flow_run": c.flow_run_id,
                     "started": c.started_at, "finished": c.finished_at, "host_pid": (c.owner_host, c.owner_pid),
                     "reason": starts[c.number].reason, "from": starts[c.number].payload["plan"]["carried_from_cycle"]}
                    for c in cycles]
    finally:
        store.dispose()


def test_two_workers_run_concurrent_triggers_as_ordered_cycles(cluster: dict[str, Any]) -> None:
    env, tmp = cluster["env"], cluster["tmp"]
    definition = tmp / "loop.yaml"
    definition.write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8")
                          + "schedule:\n  cron: '0 0 1 1 *'\n", "utf-8")  # yearly: never fires during the test
    deployed = _run(env, "pdcaflow.engine.cli.app", "deploy", str(definition), "--pool", POOL, "--api", env["PREFECT_API_URL"])
    assert deployed.returncode == 0, deployed.stderr
    assert f"created work pool '{POOL}' (type process)" in deployed.stdout
    assert "deployed visit-loop" in deployed.stdout and "cron '0 0 1 1 *' (UTC)" in deployed.stdout
    definition.unlink()  # the workers get the text from the deployment, not the file

    workdir = tmp / "workers"
    workdir.mkdir()
    for name in ("w1", "w2"):
        with (tmp / f"{name}.out").open("wb") as output:
            cluster["workers"].append(subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", name],
                env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True))
    triggered = subprocess.run([sys.executable, "-c", TRIGGER, str(RUNS)], env=env, cwd=workdir, capture_output=True,
                               text=True, timeout=180, check=False)  # all runs queued at once, before any starts
    assert triggered.returncode == 0, triggered.stderr

    def all_completed() -> list[dict[str, Any]] | None:
        found = _cycles(cluster["store"])
        return found if sum(c["status"] == "completed" for c in found) >= RUNS else None

    cycles = wait_for(f"{RUNS} completed cycles", all_completed, timeout=300, every=1.0)
    assert [(c["number"], c["status"], c["trigger"]) for c in cycles] == [
        (n, "completed", "manual") for n in range(1, RUNS + 1)]
    assert [c["from"] for c in cycles] == [None, *range(1, RUNS)]  # each from the previous carry-over
    assert len({c["flow_run"] for c in cycles}) == RUNS  # one Prefect flow run per cycle
    assert all(c["reason"].startswith("run from Prefect deployment 'visit-loop' (flow run ") for c in cycles)
    for before, after in zip(cycles, cycles[1:], strict=False):
        assert after["started"] >= before["finished"], "two cycles of one process overlapped"

    verified = _run(env, "pdcaflow.engine.cli.app", "audit", "verify", "--db", cluster["store"])
    assert verified.returncode == 0, verified.stdout + verified.stderr

    for worker in cluster["workers"]:
        stop_tree(worker.pid)
        worker.wait()
    cluster["server"].stop()
    assert marked_processes(cluster["marker"]) == []
