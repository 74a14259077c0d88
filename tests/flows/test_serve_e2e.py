"""`pdca serve` for real: two serve processes, each with its own local Prefect server, race on one store.

Each `pdca serve` starts `prefect server start` (SQLite, under its own .pdca/server/) and a
runner; both fire the same 5-second slots (the interval is anchored, not "every 5 s from
when I started"). The store must give one cycle per slot, never two cycles at once, each
starting from the previous one's carry-over; an edited file is a new definition version at
the next cycle; a file that stops validating is refused and recorded while serving goes
on; SIGTERM stops each serve process with everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from tests.conftest import FIXTURES, REPO, run_pdca

pytestmark = pytest.mark.slow
INTERVAL = 5
TIMEOUT = 300.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def marked_processes(marker: str) -> list[str]:
    """Command lines of living processes whose environment carries ``marker`` (anything a serve started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


class Store:
    def __init__(self, url: str) -> None:
        self.url = url

    def facts(self) -> dict[str, Any]:
        if not Path(self.url.removeprefix("sqlite:///")).exists():  # the first cycle creates it
            return {"cycles": [], "started": [], "refused": [], "chain_ok": True}
        store = open_store(self.url)
        try:
            with store.read() as session:
                cycles = session.scalars(select(Cycle).order_by(Cycle.number)).all()
                events = session.scalars(select(AuditEvent).where(AuditEvent.kind.in_(
                    ["cycle.started", "cycle.refused"])).order_by(AuditEvent.seq)).all()
                return {"cycles": [(c.number, c.status, c.trigger, c.definition_version_id, c.started_at,
                                    c.finished_at) for c in cycles],
                        "started": [(e.cycle_number, e.reason, e.payload["plan"]) for e in events
                                    if e.kind == "cycle.started"],
                        "refused": [e.payload for e in events if e.kind == "cycle.refused"],
                        "chain_ok": verify_chain(session).ok}
        finally:
            store.dispose()

    def completed(self) -> list[tuple[Any, ...]]:
        return [c for c in self.facts()["cycles"] if c[1] == "completed"]


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Two `pdca serve` processes on one definition folder and one SQLite store, stopped by the test."""
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    loop = definitions / "loop.yaml"
    loop.write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8")
                    + f"schedule:\n  interval: {INTERVAL}s\n", "utf-8")
    marker = f"PDCA_SERVE_TEST_MARK={secrets.token_hex(6)}"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_LOGGING_LEVEL")}
    env.update({"PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
                "PDCA_TEST_LOG": str(tmp_path / "steps.jsonl"), "PDCA_DATABASE_URL": f"sqlite:///{tmp_path / 'pdca.db'}",
                "PREFECT_RUNNER_POLL_FREQUENCY": "1", marker.split("=")[0]: marker.split("=")[1]})
    processes = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        with (tmp_path / f"{name}.out").open("wb") as output:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "pdcaflow.engine.cli.app", "serve", str(definitions)], cwd=tmp_path / name, env=env,
                stdout=output, stderr=subprocess.STDOUT))
    try:
        yield {"loop": loop, "store": Store(env["PDCA_DATABASE_URL"]), "processes": processes, "marker": marker,
               "log": tmp_path / "steps.jsonl", "outputs": [tmp_path / "a.out", tmp_path / "b.out"]}
    finally:
        for process in processes:  # a failed test must not leave servers behind either
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()


def test_two_serve_processes_run_each_slot_once_in_order_and_stop_cleanly(served: dict[str, Any]) -> None:
    store: Store = served["store"]
    loop: Path = served["loop"]
    wait_for("the first scheduled cycle", lambda: store.completed())
    loop.write_text(loop.read_text("utf-8").replace("title: Visit loop (test)", "title: Visit loop (edited)"), "utf-8")
    first_version = store.completed()[0][3]
    wait_for("a cycle of the edited definition", lambda: [c for c in store.completed() if c[3] != first_version])
    loop.write_text(loop.read_text("utf-8") + "bogus: 1\n", "utf-8")
    wait_for("the refusal of the invalid definition", lambda: store.facts()["refused"])

    for process in served["processes"]:
        process.send_signal(signal.SIGTERM)
    codes = [process.wait(timeout=90) for process in served["processes"]]
    outputs = [path.read_text("utf-8", errors="replace") for path in served["outputs"]]
    assert codes == [0, 0], outputs
    assert marked_processes(served["marker"]) == [], "processes left behind"

    facts = store.facts()
    cycles = [c for c in facts["cycles"] if c[1] == "completed"]
    numbers = [c[0] for c in facts["cycles"]]
    assert numbers == list(range(1, len(numbers) + 1)) and len(cycles) >= 2
    assert {c[2] for c in facts["cycles"]} == {"schedule"}
    for before, after in zip(facts["cycles"], facts["cycles"][1:], strict=False):
        assert before[5] is not None and after[4] >= before[5], "two cycles of one process overlapped"
    slots = [datetime.fromisoformat(plan["scheduled_for"]) for _, _, plan in facts["started"]]
    assert len(set(slots)) == len(slots), "a slot ran twice"
    assert all(slot.timestamp() % INTERVAL == 0 for slot in slots)
    assert all(c[4] >= slot for c, slot in zip(facts["cycles"], slots, strict=True))  # none ran early
    assert all(reason.startswith(f"scheduled: every {INTERVAL}s at ") for _, reason, _ in facts["started"])
    assert facts["started"][1][2]["carried_from_cycle"] == 1
    planned = [json.loads(line) for line in served["log"].read_text("utf-8").splitlines()]
    visits = {entry["cycle"]: entry["visits"] for entry in planned if entry["event"] == "plan"}
    assert (visits[1], visits[2]) == (1, 2)  # cycle 1's ACT added a visit; cycle 2 started from it
    assert "PDCA101" in facts["refused"][0]["diagnostics"] and "bogus" in facts["refused"][0]["diagnostics"]
    assert facts["chain_ok"]
    verified = run_pdca("audit", "verify", "--db", store.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert any("Prefect server ready in" in output for output in outputs)
