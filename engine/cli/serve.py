"""``pdca serve``, ``pdca schedule`` and ``pdca deploy``: cycles on their schedules, locally or on workers.

``pdca serve`` is a supervisor that never imports Prefect itself: with no
``PREFECT_API_URL`` it starts a local ``prefect server start`` (``pdcaflow.flows.local_server``,
database under ``.pdca/server/``), then the runner child ``python -m pdcaflow.flows.serve``; it
stops both, with every process they started, on Ctrl-C or SIGTERM, or when either dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pdcaflow.engine.cli.common import ExitCode, err, existing_paths, fail, out, validated_one, validation_report
from pdcaflow.engine.definition.diagnostic_text import render_text, summary

if TYPE_CHECKING:
    from pdcaflow.flows.local_server import LocalServer

SUPERVISE_POLL_SECONDS = 0.5


class _Stop(Exception):
    pass


def _scheduled_files(paths: list[Path]) -> list[Path]:
    """The definition files among ``paths`` that validate and have a schedule; reports the others."""
    report = validation_report(paths)
    if report.diagnostics:
        err.print(render_text(report.diagnostics, context=False), markup=False)
        err.print(summary(report.diagnostics, report.files) + "; serving the valid ones", markup=False)
    scheduled = [Path(v.document.path) for v in report.valid if v.definition.schedule is not None]
    for validated in report.valid:
        if validated.definition.schedule is None:
            out.print(f"skip  {validated.document.path}  ({validated.definition.id}: no schedule)", markup=False)
    if not scheduled:
        fail("no valid definition with a `schedule:` to serve")
    return scheduled


def serve(
    paths: Annotated[list[Path] | None, typer.Argument(help="definition files or folders [default: definitions/]")] = None,
) -> None:
    """Run every valid definition that has a `schedule:` on that schedule, until Ctrl-C or SIGTERM."""
    files = _scheduled_files(existing_paths(paths))
    # the runner's command and its environment only once serving starts (start-up speed of the other commands)
    from pdcaflow.flows.child_guard import guarded_command
    from pdcaflow.flows.local_server import child_environment

    environ = child_environment(os.environ)
    server = None if environ.get("PREFECT_API_URL") else _start_server(environ)
    runner = subprocess.Popen(guarded_command(["pdcaflow.flows.serve", *map(str, files)]), env=environ,  # ends with us
                              start_new_session=True, stdin=subprocess.DEVNULL)
    raise typer.Exit(_supervise(runner, server))


def _start_server(environ: dict[str, str]) -> LocalServer:
    """A local Prefect server for the runner (no ``PREFECT_API_URL`` given); sets ``environ`` to use it."""
    from pdcaflow.flows.local_server import LocalServer, ServerStartError  # as in `serve`: start-up speed

    server = LocalServer(home=Path.cwd() / ".pdca" / "server")
    out.print(f"starting a local Prefect server on {server.api_url} (database and log in {server.home})",
              markup=False)
    started = time.monotonic()
    server.start(environ)
    try:
        server.wait_healthy()
    except (ServerStartError, KeyboardInterrupt) as exc:
        server.stop()
        fail(f"{exc}" if isinstance(exc, ServerStartError) else "interrupted while starting", ExitCode.FAILED)
    out.print(f"Prefect server ready in {time.monotonic() - started:.1f} s; UI at "
              f"{server.api_url.removesuffix('/api')}", markup=False)
    environ["PREFECT_API_URL"] = server.api_url
    return server


def _supervise(runner: subprocess.Popen[bytes], server: LocalServer | None) -> ExitCode:
    """Wait until Ctrl-C, SIGTERM or the death of the runner or the server; then stop both."""
    def stop(_signum: int, _frame: object) -> None:
        raise _Stop

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    code = ExitCode.OK
    try:
        code = _watch(runner, server)
    except _Stop:
        out.print("stopping: the runner, its flow runs, then the server", markup=False)
    finally:
        for signum in previous:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        _stop_all(runner, server)
    return code


def _watch(runner: subprocess.Popen[bytes], server: LocalServer | None) -> ExitCode:
    """Poll the runner and the server; the exit code once either has died."""
    while True:
        if runner.poll() is not None:
            err.print(f"error: the runner exited with code {runner.returncode}", markup=False)
            return ExitCode.FAILED
        if server is not None and not server.alive():
            err.print(f"error: the Prefect server stopped:\n{server.log_tail()}", markup=False)
            return ExitCode.FAILED
        time.sleep(SUPERVISE_POLL_SECONDS)


def _stop_all(runner: subprocess.Popen[bytes], server: LocalServer | None) -> None:
    """Stop the runner with every process it started, then the server; say how long each took."""
    from pdcaflow.flows.local_server import stop_tree  # as in `serve`: start-up speed

    stopping = time.monotonic()
    stop_tree(runner.pid, root_signal=signal.SIGINT)  # Prefect's Runner handles SIGINT more quietly
    runner.wait()
    runner_seconds, stopping = time.monotonic() - stopping, time.monotonic()
    if server is not None:
        server.stop()
    out.print(f"stopped (runner {runner_seconds:.1f} s, server {time.monotonic() - stopping:.1f} s)",
              markup=False)


def schedule(
    path: Annotated[Path, typer.Argument(help="a definition file")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000, help="how many run times")] = 5,
    after: Annotated[str | None, typer.Option(help="list the times after this ISO moment [default: now]")] = None,
) -> None:
    """Print the next run times of a definition's schedule (its timezone and UTC); starts nothing."""
    # start-up speed: loaded only when this command runs
    from pdcaflow.engine.runtime.schedule import ScheduleError, describe, next_times

    validated = validated_one(path)
    definition = validated.definition
    if definition.schedule is None:
        fail(f"{path}: {definition.id} has no `schedule:`")
    start = datetime.now(UTC)
    if after is not None:
        try:
            start = datetime.fromisoformat(after)
        except ValueError:
            fail(f"--after '{after}' is not an ISO date-time, e.g. 2026-01-31T08:00:00+08:00")
        start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    try:
        times = next_times(definition.schedule, start, count)
        text = describe(definition.schedule)
    except ScheduleError as exc:
        fail(f"{path}: {exc}")
    out.print(f"{definition.id}: {text}, catchup {definition.schedule.catchup}", markup=False)
    zone = definition.schedule.timezone
    for moment in times:
        local = moment.isoformat(timespec="seconds")
        utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        out.print(f"{local}  ({zone})   {utc}", markup=False)


def deploy(
    paths: Annotated[list[Path], typer.Argument(help="definition files or folders")],
    pool: Annotated[str, typer.Option("--pool", help="the work pool the deployments go to (created if missing)")],
    api: Annotated[str | None, typer.Option("--api", help="the Prefect API URL [default: $PREFECT_API_URL]")] = None,
) -> None:
    """Create one Prefect deployment per process on a server's work pool; workers run the cycles."""
    existing_paths(paths)
    if api:
        os.environ["PREFECT_API_URL"] = api
    if not os.environ.get("PREFECT_API_URL"):
        fail("pdca deploy needs a Prefect server: --api URL or $PREFECT_API_URL "
             "(e.g. http://prefect.example:4200/api)")
    report = validation_report(paths)
    if not report.ok:  # deploy all or nothing: a half-deployed set is harder to reason about
        err.print(render_text(report.diagnostics, context=False), markup=False)
        fail(summary(report.diagnostics, report.files) + "; nothing deployed")
    # start-up speed: loaded only when this command runs
    from pdcaflow.engine.runtime.schedule import ScheduleError, describe

    for validated in report.valid:
        try:
            if validated.definition.schedule is not None:
                describe(validated.definition.schedule)
        except ScheduleError as exc:
            fail(f"{validated.document.path}: {exc}; nothing deployed")
    # start-up speed: flows (and so Prefect) load only when this runs
    from pdcaflow.flows.deploy import DeployError, deploy_definitions

    try:
        for line in deploy_definitions(report.valid, pool):
            out.print(line, markup=False)
    except DeployError as exc:
        fail(str(exc), ExitCode.FAILED)
