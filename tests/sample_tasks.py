"""Small real tasks for engine tests, registered like a user's own (``PDCA_TASK_MODULES``).

The "world" is a file of numbers (``world.json`` beside the definition's working
directory) so that a fresh process sees what an earlier one did, and so a test
can make a step fail on purpose.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import TypedDict

from pdcaflow.tasks.sdk.registry import StepContext, task


class PlanOutputs(TypedDict):
    visits: int
    planned_in_cycle: int


class ServeOutputs(TypedDict):
    satisfaction: float
    visits_done: int


def _log(event: str, **values: object) -> None:
    """Append what a step saw to ``$PDCA_TEST_LOG`` (JSON lines), for tests to read back."""
    path = os.environ.get("PDCA_TEST_LOG")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, **values}) + "\n")


@task("testing.plan_visits")
def plan_visits(context: StepContext, *, visits: int) -> PlanOutputs:
    """Plan a number of visits (records the value it received)."""
    _log("plan", cycle=context.cycle, visits=visits, pid=os.getpid())
    return {"visits": visits, "planned_in_cycle": context.cycle}


@task("testing.serve")
def serve(context: StepContext, *, visits: int, base: float = 3.6, per_visit: float = 0.2,
          fail_marker: str = "", sleep_marker: str = "") -> ServeOutputs:
    """Serve customers: satisfaction = base + per_visit x visits.

    If ``fail_marker`` names a file that exists, the first attempt fails and deletes it
    (a transient failure that a retry or a resumed run gets past). If ``sleep_marker``
    names a file that exists, the step sleeps until the file is removed (so a test can
    kill the process mid-step).
    """
    _log("serve", cycle=context.cycle, visits=visits, pid=os.getpid())
    if fail_marker and Path(fail_marker).exists():
        Path(fail_marker).unlink()
        raise RuntimeError("the delivery system was unreachable")
    while sleep_marker and Path(sleep_marker).exists():
        time.sleep(0.05)
    return {"satisfaction": round(base + per_visit * visits, 3), "visits_done": visits}


class RendezvousOutputs(TypedDict):
    partners: int


_BARRIER = threading.Barrier(2)


@task("testing.rendezvous")
def rendezvous(name: str) -> RendezvousOutputs:
    """Wait (up to 20 s) until a second step reaches the same point: passes only if two steps run at once."""
    _log("rendezvous", name=name)
    _BARRIER.wait(timeout=20)
    return {"partners": 1}
