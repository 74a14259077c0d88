"""How ``pdca run`` stops on SIGTERM or Ctrl-C: within seconds, with one line, the cycle left resumable.

The first SIGINT or SIGTERM raises ``KeyboardInterrupt`` in the main thread, so the run
unwinds in order (Prefect marks the flow run crashed, nothing half-written is
committed), and arms a deadline: if the unwinding has not ended the process after
``GRACE_SECONDS`` (a step still running in the thread pool, a retry wait, a slow
server), the process exits anyway. A second signal exits at once. Either way the exit
is ``os._exit`` with 130 (SIGINT) or 143 (SIGTERM) after one line such as::

    interrupted: cycle 3 of visit-loop stopped during step serve; run pdca run again to resume it

Exiting without unwinding is safe for the record: each step's result is committed in
its own transaction with its audit event, so an exit at any moment leaves the cycle as
a SIGKILL would, ``running`` with a pid that no longer exists, which the next
``pdca run`` resumes (README, "Failed and interrupted cycles"). Prefect's embedded
server ends with this process (``pdcaflow.flows.embedded_server``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from pdcaflow.engine.cli.common import ExitCode
from pdcaflow.engine.cli.hints import pdca_command

GRACE_SECONDS = 3.0
EXIT_CODES = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGTERM: ExitCode.TERMINATED}
ACTIVE = ("running", "retrying", "waiting")  # statuses the observer reports for a step that is under way
SHOW_CURSOR = b"\x1b[?25h"  # a live view hides the terminal's cursor until it is stopped


class RunStop:
    """What the run is doing (for the last line) and the signal handlers that end it."""

    def __init__(self, total_cycles: int) -> None:
        self.total_cycles = total_cycles
        self.signum: int | None = None
        self._cycle: tuple[str, int] | None = None
        self._steps: dict[str, str] = {}
        self._completed = 0
        self._exiting = threading.RLock()  # re-entrant: a second signal may arrive while the main thread exits

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM inside the block (enter it in the main thread); the previous handlers after."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in EXIT_CODES}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def start_cycle(self, cycle_run: Any) -> None:
        self._cycle = (cycle_run.plan.process_id, cycle_run.number)
        self._steps = {step.id: "" for step in cycle_run.plan.steps}

    def step(self, step_id: str, status: str, _detail: str) -> None:
        self._steps[step_id] = status  # called from worker threads: one atomic assignment, no lock

    def cycle_completed(self, _result: Any) -> None:
        self._completed += 1
        self._cycle = None

    def message(self) -> str:
        """The one line that says what was stopped and what to do next."""
        done = (f" ({self._completed} of {self.total_cycles} cycles completed before)"
                if self._completed else "")
        if self._cycle is None:
            return (f"interrupted before any step ran{done}; run {pdca_command()} run again to start or resume the "
                    "cycle")
        process_id, number = self._cycle
        active = [step_id for step_id, status in dict(self._steps).items() if status in ACTIVE]
        return (f"interrupted: cycle {number} of {process_id} stopped {_during(active)}{done}; "
                f"run {pdca_command()} run again to resume it")

    def finish_if_requested(self) -> None:
        """Exit with the stop line if a signal came (what is being raised is its interrupt or a consequence)."""
        if self.signum is not None:
            self.finish()

    def finish(self) -> NoReturn:
        """Print the stop line and end the process now with the signal's exit code (no unwinding)."""
        self._exiting.acquire()  # the first caller exits; any other waits here for that exit
        if threading.current_thread() is threading.main_thread():
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
        # os.write: no lock of Python's streams, which the interrupted thread may hold
        if sys.stdout.isatty():
            os.write(1, SHOW_CURSOR)
        os.write(2, f"\n{self.message()}\n".encode())
        os._exit(EXIT_CODES.get(signal.Signals(self.signum or signal.SIGINT), ExitCode.INTERRUPTED))

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.signum is not None:  # a second request: no more waiting
            self.finish()
        self.signum = signum
        threading.Thread(target=self._deadline, name="pdca-stop-deadline", daemon=True).start()
        raise KeyboardInterrupt

    def _deadline(self) -> None:
        time.sleep(GRACE_SECONDS)
        self.finish()


def _during(steps: list[str]) -> str:
    if not steps:
        return "between steps"
    if len(steps) == 1:
        return f"during step {steps[0]}"
    return f"during steps {', '.join(steps[:-1])} and {steps[-1]}"
