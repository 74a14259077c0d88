"""A local ``prefect server start`` that ``pdca serve`` starts, supervises and stops; process-tree helpers.

No ``prefect`` import here: the server is a child process (``python -m prefect server
start``), bound to 127.0.0.1 on a free port, with its SQLite database and log under
``.pdca/server/``. It runs in its own session (process group), so stopping it reaches
its workers too, and under ``flows/child_guard.py``, so it ends when ``pdca serve``
ends, SIGKILL included. :func:`stop_tree` ends every descendant of a child, including
those that started their own session (Prefect's flow-run subprocesses), first with
SIGTERM and then, after a grace period, with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pdcaflow.flows.child_guard import guarded_command
from pdcaflow.flows.settings import EMBEDDED_DEFAULTS

HEALTH_TIMEOUT_SECONDS = 180.0
STOP_GRACE_SECONDS = 15.0
# Scheduling needs the server's scheduler (and late-run marking); pdcaflow's embedded
# defaults switch those off for `pdca run`, so the server child gets them back explicitly.
SERVER_SETTINGS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "true",
}


class ServerStartError(RuntimeError):
    """The local Prefect server exited or did not answer its health check in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables pdcaflow's embedded mode set (they are not the user's)."""
    return {name: value for name, value in environ.items()
            if not (name in EMBEDDED_DEFAULTS and EMBEDDED_DEFAULTS[name] == value)}


@dataclass
class LocalServer:
    """One ``prefect server start`` child: start it, wait until it answers, stop it with its children."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def start(self, environ: Mapping[str, str]) -> None:
        """Start the server in its own session; its output goes to ``<home>/server.log``."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**child_environment(environ), "PREFECT_HOME": str(self.home), **SERVER_SETTINGS}
        env.pop("PREFECT_API_URL", None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # under the child guard: it ends with `pdca serve`, however that ends
                guarded_command(["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.home,
                start_new_session=True)

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT_SECONDS) -> float:
        """Poll ``/api/health`` until it answers; returns the seconds it took since this call."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerStartError(f"the Prefect server exited with code {self.process.returncode}:\n"
                                       f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise ServerStartError(f"the Prefect server did not answer on {self.api_url} within {timeout:g} s:\n"
                               f"{self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        if self.process is not None:
            stop_tree(self.process.pid, grace)
            self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def stop_tree(pid: int, grace: float = STOP_GRACE_SECONDS, root_signal: int = signal.SIGTERM) -> None:
    """Signal ``pid`` (``root_signal``) and SIGTERM its descendants; SIGKILL whatever is left after ``grace`` s."""
    tree = [pid, *descendants(pid)]
    _signal_all(tree[:1], root_signal)
    _signal_all(tree[1:], signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        tree = [p for p in dict.fromkeys([*tree, *_descendants_of_all(tree)]) if _alive(p)]
        if not tree:
            return
        time.sleep(0.1)
    _signal_all(tree, signal.SIGKILL)


def _descendants_of_all(pids: list[int]) -> list[int]:
    return [child for pid in pids for child in descendants(pid)]


def _signal_all(pids: list[int], signum: int) -> None:
    for target in pids:
        try:
            os.kill(target, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":  # a zombie: exited, waiting for its parent to reap it
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True
