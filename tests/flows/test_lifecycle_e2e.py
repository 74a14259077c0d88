"""How a `pdca run` ends when it is killed or asked to stop: real processes, real signals.

- SIGKILL at different moments (before Prefect's embedded API server starts, while it
  starts, during a step) leaves no process behind and no open pipe: every child the run
  started carries a marker in its environment, and /proc is scanned for it.
- SIGTERM during a retry wait, and Ctrl-C (SIGINT to the process group, as a terminal
  sends it) while steps run in the thread pool, end the run within 5 s with one line
  and the signal's exit code; the next `pdca run` resumes the cycle and the audit chain
  verifies.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.slow
REASON = "lifecycle test"
STOP_SECONDS = 5.0  # the promise: a stop request ends a run within this


@pytest.fixture()
def marker() -> Iterator[tuple[str, str]]:
    """An environment variable every process a run starts inherits; whatever still has it is killed at the end."""
    mark = ("PDCA_LIFECYCLE_TEST_MARK", secrets.token_hex(6))
    yield mark
    for pid in marked_pids(mark):  # a failed test must not leave servers behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def marked_pids(mark: tuple[str, str]) -> list[int]:
    """Living processes whose environment carries ``mark`` (zombies have an empty environ)."""
    needle = f"{mark[0]}={mark[1]}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"


def start_run(workdir: Path, definition: str, mark: tuple[str, str], *,
              new_session: bool = False) -> subprocess.Popen[bytes]:
    """`pdca run DEFINITION | cat`: the run's stdout and stderr go into one pipe that the test reads."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("PREFECT_LOGGING_LEVEL", "PREFECT_API_URL")}
    env = {**inherited, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
           "PDCA_TEST_LOG": str(workdir / "steps.jsonl"), "PDCA_DATABASE_URL": f"sqlite:///{workdir / 'pdca.db'}",
           "PDCA_ACTOR": "tester", "COLUMNS": "160", mark[0]: mark[1]}
    return subprocess.Popen([sys.executable, "-m", "pdcaflow.engine.cli.app", "run", definition, "--reason", REASON],
                            cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=new_session)


def wait_until(what: str, check: Callable[[], Any], child: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert child.poll() is None, f"the run ended before {what}: {read_to_eof(child, 5)[0]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def read_to_eof(child: subprocess.Popen[bytes], timeout: float) -> tuple[str, bool]:
    """What the pipe held, and whether every writer closed it within ``timeout`` s (what `| cat` waits for)."""
    assert child.stdout is not None
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([child.stdout], [], [], left)
        if not ready:
            break
        chunk = os.read(child.stdout.fileno(), 65536)
        if not chunk:
            return b"".join(chunks).decode(errors="replace"), True
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace"), False


def step_events(workdir: Path, event: str) -> int:
    path = workdir / "steps.jsonl"
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return sum(1 for line in lines if json.loads(line)["event"] == event)


def children_of(pid: int, mark: tuple[str, str]) -> list[int]:
    return [other for other in marked_pids(mark) if other != pid]


def pdca(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
           "PDCA_TEST_LOG": str(workdir / "steps.jsonl"), "PDCA_DATABASE_URL": f"sqlite:///{workdir / 'pdca.db'}",
           "PDCA_ACTOR": "tester", "COLUMNS": "160"}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=180, check=False)


def test_sigkill_at_any_moment_leaves_no_process_and_no_open_pipe(tmp_path: Path, marker: tuple[str, str]) -> None:
    (tmp_path / "loop.yaml").write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8"), "utf-8")
    (tmp_path / "visit-loop.sleep").write_text("hold", "utf-8")  # the serve step sleeps until it is removed
    moments: list[tuple[str, Callable[[subprocess.Popen[bytes]], bool]]] = [
        ("while Python starts", lambda child: True),
        ("as the server process appears", lambda child: bool(children_of(child.pid, marker))),
        ("while the server starts", lambda child: bool(children_of(child.pid, marker))),
        ("during a step", lambda child: step_events(tmp_path, "serve") >= 1),
        ("during the resumed cycle's step", lambda child: step_events(tmp_path, "serve") >= 2),
    ]
    for index, (moment, reached) in enumerate(moments):
        child = start_run(tmp_path, "loop.yaml", marker)
        wait_until(moment, lambda: reached(child), child)
        if moment == "while the server starts":
            time.sleep(1.5)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        output, closed = read_to_eof(child, 10)
        child.stdout.close()  # type: ignore[union-attr]
        assert closed, f"kill {index + 1} ({moment}): a reader of the run's output never saw its end"
        deadline = time.monotonic() + 10
        while (left := marked_pids(marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"kill {index + 1} ({moment}) left: {[command_line(pid) for pid in left]}"
        assert "Traceback" not in output


def _retrying_loop(workdir: Path) -> str:
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    text = text.replace("    retries: 0\n", "    retries: 2\n    retry_delay: 5m\n")
    (workdir / "retry.yaml").write_text(text, "utf-8")
    (workdir / "visit-loop.fail").write_text("fail once", "utf-8")  # the first attempt of serve fails
    return "retry.yaml"


def _stopped_within(child: subprocess.Popen[bytes], sent: float) -> tuple[str, float]:
    output, closed = read_to_eof(child, 30)
    took = time.monotonic() - sent
    child.stdout.close()  # type: ignore[union-attr]
    assert closed, f"the run did not end within 30 s of the signal:\n{output}"
    child.wait(timeout=30)
    return output, took


def test_sigterm_during_a_retry_wait_ends_the_run_within_5_s_and_the_cycle_resumes(
        tmp_path: Path, marker: tuple[str, str]) -> None:
    definition = _retrying_loop(tmp_path)
    child = start_run(tmp_path, definition, marker)
    wait_until("the first attempt of serve", lambda: step_events(tmp_path, "serve") >= 1, child)
    time.sleep(1.0)  # now in the 5-minute wait before attempt 2
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    output, took = _stopped_within(child, sent)
    assert took < STOP_SECONDS, f"SIGTERM took {took:.1f} s:\n{output}"
    assert child.returncode == 143, output
    assert "step 'serve' failed" in output and "attempt 2 of 3" in output, output  # the wait is not silent
    assert "interrupted: cycle 1 of visit-loop stopped during step serve; run pdca run again to resume it" in output
    assert "Traceback" not in output and "internal error" not in output, output
    _assert_resumes(tmp_path, definition, marker)


def _two_sleeping_steps(workdir: Path) -> str:
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    second = ("  - id: serve_more\n    phase: do\n    uses: testing.serve\n"
              "    with: {visits: 1, sleep_marker: \"${{ process.id }}.sleep\"}\n")
    text = text.replace("  - id: evaluate\n", second + "  - id: evaluate\n")
    (workdir / "pool.yaml").write_text(text, "utf-8")
    (workdir / "visit-loop.sleep").write_text("hold", "utf-8")
    return "pool.yaml"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_a_stop_while_steps_run_in_the_thread_pool_ends_within_5_s_and_the_cycle_resumes(
        tmp_path: Path, marker: tuple[str, str], how: str) -> None:
    definition = _two_sleeping_steps(tmp_path)
    child = start_run(tmp_path, definition, marker, new_session=True)  # its own group, like a terminal's job
    wait_until("both do steps running", lambda: step_events(tmp_path, "serve") >= 2, child)
    sent = time.monotonic()
    if how == "ctrl-c":
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C reaches every process of the foreground group
    else:  # while a flow runs, Prefect installs its own SIGTERM handler (pdcaflow.flows.sigterm_bridge)
        child.send_signal(signal.SIGTERM)
    output, took = _stopped_within(child, sent)
    assert took < STOP_SECONDS, f"{how} took {took:.1f} s:\n{output}"
    assert child.returncode == (130 if how == "ctrl-c" else 143), output
    assert "interrupted: cycle 1 of visit-loop stopped during steps serve and serve_more" in output, output
    assert "Traceback" not in output and "internal error" not in output, output
    (tmp_path / "visit-loop.sleep").unlink()
    _assert_resumes(tmp_path, definition, marker)


def _assert_resumes(workdir: Path, definition: str, marker: tuple[str, str]) -> None:
    deadline = time.monotonic() + 15
    while (left := marked_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"the stopped run left: {[command_line(pid) for pid in left]}"
    resumed = pdca(workdir, "run", definition, "--reason", REASON)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "cycle 1 (resumed)" in resumed.stdout, resumed.stdout
    verified = pdca(workdir, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_sigkill_of_pdca_serve_ends_its_server_and_runner(tmp_path: Path, marker: tuple[str, str]) -> None:
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "loop.yaml").write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8")
                                           + "schedule:\n  interval: 1h\n", "utf-8")
    inherited = {k: v for k, v in os.environ.items() if k not in ("PREFECT_LOGGING_LEVEL", "PREFECT_API_URL")}
    env = {**inherited, "PYTHONPATH": str(REPO), "PDCA_TASK_MODULES": "tests.sample_tasks",
           "PDCA_DATABASE_URL": f"sqlite:///{tmp_path / 'pdca.db'}", marker[0]: marker[1]}
    child = subprocess.Popen([sys.executable, "-m", "pdcaflow.engine.cli.app", "serve", str(definitions)], cwd=tmp_path, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def server_and_runner() -> bool:
        lines = [command_line(pid) for pid in children_of(child.pid, marker)]
        return any("server start" in line for line in lines) and any("pdcaflow.flows.serve" in line for line in lines)

    wait_until("the server and the runner", server_and_runner, child, timeout=240)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    _, closed = read_to_eof(child, 20)
    child.stdout.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 20
    while (left := marked_pids(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"pdca serve's SIGKILL left: {[command_line(pid) for pid in left]}"
    assert closed, "a reader of pdca serve's output never saw its end"
