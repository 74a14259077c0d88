"""Prefect's embedded API server, started so that it never outlives ``pdca`` and never holds its output.

Prefect 3 (no ``PREFECT_API_URL``) starts its API as a ``uvicorn`` subprocess the first
time a client is needed (``prefect.server.api.server.SubprocessASGIServer``), stopped by
an ``atexit`` hook. A SIGKILL of the parent skips that hook: the server (about 195 MB)
kept running, and since it inherited the parent's stdout and stderr, ``pdca run | tee``
never saw the end of its input.

:class:`GuardedServer` is the same server with three differences in how the child is
started: through ``flows/child_guard.py`` (a death signal from the kernel and a parent
watch, so it ends when ``pdca`` ends, however that happens), in its own session (a
Ctrl-C in the terminal reaches ``pdca`` alone, which then stops in order instead of
finding its API gone), and with its output in ``<PREFECT_HOME>/embedded-server.log``
instead of the parent's pipes. :func:`install` makes it the instance Prefect uses, the
way Prefect's own test harness substitutes its server (the ``None`` key of
``SubprocessASGIServer._instances``; checked against Prefect 3.8.8). Nothing else
changes: the server still starts lazily, on the first flow run, and Prefect still
stops it at exit.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import prefect
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_HOME, get_current_settings

from pdcaflow.flows.child_guard import guarded_command

LOG_NAME = "embedded-server.log"
# What `pdca run` sets to keep Prefect's log lines off the terminal (pdcaflow.engine.cli.common.QUIET_PREFECT):
# the server writes to its log file, where its errors (uvicorn's among them) belong.
_TERMINAL_ONLY = ("PREFECT_LOGGING_ROOT_LEVEL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL")


class GuardedServer(SubprocessASGIServer):
    """Prefect's embedded API server, started under the child guard with its output in a log file."""

    @property
    def log_path(self) -> Path:
        return Path(PREFECT_HOME.value()) / LOG_NAME

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        # The arguments and environment of SubprocessASGIServer._run_uvicorn_command (Prefect 3.8.8).
        uvicorn = ["uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                   "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
                   "--log-level", "error", "--lifespan", "on"]
        inherited = {name: value for name, value in os.environ.items() if name not in _TERMINAL_ONLY}
        env = {**inherited, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1",
               **get_current_settings().to_environment_variables(exclude_unset=True)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            return subprocess.Popen(guarded_command(uvicorn), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)


def install() -> SubprocessASGIServer:
    """Make :class:`GuardedServer` the embedded server Prefect starts (idempotent); returns the one in use.

    A server Prefect already started (before this was called) is left as it is.
    """
    current = SubprocessASGIServer._instances.get(None)
    if current is None:
        current = GuardedServer()  # SubprocessASGIServer.__new__ files it under the None key
    return current
