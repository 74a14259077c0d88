"""`pdca run`'s SIGTERM handler stays in charge while Prefect runs a flow.

Prefect 3.8's flow engine replaces the SIGTERM handler for the duration of every flow
run (``prefect.utilities.engine.capture_sigterm``) with one that only raises
``TerminationSignal`` in the main thread. Our handler (``pdcaflow.engine.cli.stop.RunStop``)
never ran then, so its deadline was never armed: a step running in the thread pool, or
waiting for its retry (``retry_delay: 5m``), kept the process alive until it finished,
because unwinding the flow waits for the pool (measured: 266 s after SIGTERM).

``outer_sigterm_handler`` wraps Prefect's handler so that the handler the caller had
installed runs first (it arms the deadline and raises its own interrupt); Prefect's
runs only when there was none (deployments, ``pdca serve``'s runner), so a runner's
cancellation keeps working. Prefect looks its handler up by this module attribute
each time it installs or checks it, which is why replacing the attribute is enough
(pinned: prefect>=3.8.8,<3.9; ``tests/flows/test_lifecycle_e2e.py`` fails if a
Prefect release changes this).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import prefect.utilities.engine as prefect_engine

_PREFECT_HANDLER: Callable[..., Any] = prefect_engine._prefect_sigterm_handler  # noqa: SLF001
_outer: Callable[[int, Any], Any] | None = None


def _bridge(signum: int, frame: Any = None) -> Any:
    if _outer is not None:
        return _outer(signum, frame)
    return _PREFECT_HANDLER(signum, frame)


# Prefect types its handler as never returning (it raises); the bridge returns when the outer handler does.
prefect_engine._prefect_sigterm_handler = _bridge  # type: ignore[assignment]  # noqa: SLF001


@contextmanager
def outer_sigterm_handler() -> Iterator[None]:
    """Inside the block, the SIGTERM handler installed now also handles SIGTERM during flow runs."""
    global _outer
    current = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    previous = _outer
    if callable(current) and current is not _bridge:
        _outer = current
    try:
        yield
    finally:
        _outer = previous
