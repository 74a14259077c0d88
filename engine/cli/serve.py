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
from typing import Annotated

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
SUPERVISE_POLL_SECONDS = 0.5


class _Stop(Exception):
    pass


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _scheduled_files(paths: list[Path]) -> list[Path]:
    """The definition files among ``paths`` that validate and have a schedule; reports the others."""
    from pdcaflow.engine.definition.diagnostic_text import render_text, summary
    from pdcaflow.engine.definition.validate import validate_paths

    report = validate_paths(paths)
    if not report.files:
        _fail(f"no definitions (*.yaml, *.yml) found in {', '.join(map(str, paths))}")
    if report.diagnostics:
        err.print(render_text(report.diagnostics, context=False), markup=False)
        err.print(summary(report.diagnostics, report.files) + "; serving the valid ones", markup=False)
    scheduled = [Path(v.document.path) for v in report.valid if v.definition.schedule is not None]
    for validated in report.valid:
        if validated.definition.schedule is None:
            out.print(f"skip  {validated.document.path}  ({validated.definition.id}: no schedule)", markup=False)
    if not scheduled:
        _fail("no valid definition with a `schedule:` to serve")
    return scheduled


def serve(
    paths: Annotated[list[Path] | None, typer.Argument(help="definition files or folders [default: definitions/]")] = None,
) -> None:
    """Run every valid definition that has a `schedule:` on that schedule, until Ctrl-C or SIGTERM."""
    targets = paths or [Path("definitions")]
    missing = [str(path) for path in targets if not path.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    files = _scheduled_files(targets)
    from pdcaflow.flows.child_guard import guarded_command
    from pdcaflow.flows.local_server import LocalServer, ServerStartError, child_environment, stop_tree

    environ = child_environment(os.environ)
    server = None
    if not environ.get("PREFECT_API_URL"):
        server = LocalServer(home=Path.cwd() / ".pdca" / "server")
        out.print(f"starting a local Prefect server on {server.api_url} (database and log in {server.home})",
                  markup=False)
        started = time.monotonic()
        server.start(environ)
        try:
            server.wait_healthy()
        except (ServerStartError, KeyboardInterrupt) as exc:
            server.stop()
            _fail(f"{exc}" if isinstance(exc, ServerStartError) else "interrupted while starting", EXIT_FAILED)
        out.print(f"Prefect server ready in {time.monotonic() - started:.1f} s; UI at "
                  f"{server.api_url.removesuffix('/api')}", markup=False)
        environ["PREFECT_API_URL"] = server.api_url
    runner = subprocess.Popen(guarded_command(["pdcaflow.flows.serve", *map(str, files)]), env=environ,  # ends with us
                              start_new_session=True, stdin=subprocess.DEVNULL)

    def stop(_signum: int, _frame: object) -> None:
        raise _Stop

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    code = 0
    try:
        while True:
            if runner.poll() is not None:
                err.print(f"error: the runner exited with code {runner.returncode}", markup=False)
                code = EXIT_FAILED
                break
            if server is not None and not server.alive():
                err.print(f"error: the Prefect server stopped:\n{server.log_tail()}", markup=False)
                code = EXIT_FAILED
                break
            time.sleep(SUPERVISE_POLL_SECONDS)
    except _Stop:
        out.print("stopping: the runner, its flow runs, then the server", markup=False)
    finally:
        for signum in previous:  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stopping = time.monotonic()
        stop_tree(runner.pid, root_signal=signal.SIGINT)  # Prefect's Runner handles SIGINT more quietly
        runner.wait()
        runner_seconds, stopping = time.monotonic() - stopping, time.monotonic()
        if server is not None:
            server.stop()
        out.print(f"stopped (runner {runner_seconds:.1f} s, server {time.monotonic() - stopping:.1f} s)",
                  markup=False)
    raise typer.Exit(code)


def schedule(
    path: Annotated[Path, typer.Argument(help="a definition file")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=1000, help="how many run times")] = 5,
    after: Annotated[str | None, typer.Option(help="list the times after this ISO moment [default: now]")] = None,
) -> None:
    """Print the next run times of a definition's schedule (its timezone and UTC); starts nothing."""
    from pdcaflow.engine.cli.app import _validated_one
    from pdcaflow.engine.runtime.schedule import ScheduleError, describe, next_times

    validated = _validated_one(path)
    definition = validated.definition
    if definition.schedule is None:
        _fail(f"{path}: {definition.id} has no `schedule:`")
    start = datetime.now(UTC)
    if after is not None:
        try:
            start = datetime.fromisoformat(after)
        except ValueError:
            _fail(f"--after '{after}' is not an ISO date-time, e.g. 2026-01-31T08:00:00+08:00")
        start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    try:
        times = next_times(definition.schedule, start, count)
        text = describe(definition.schedule)
    except ScheduleError as exc:
        _fail(f"{path}: {exc}")
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
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}")
    if api:
        os.environ["PREFECT_API_URL"] = api
    if not os.environ.get("PREFECT_API_URL"):
        _fail("pdca deploy needs a Prefect server: --api URL or $PREFECT_API_URL "
              "(e.g. http://prefect.example:4200/api)")
    from pdcaflow.engine.definition.diagnostic_text import render_text, summary
    from pdcaflow.engine.definition.validate import validate_paths

    report = validate_paths(paths)
    if not report.files:
        _fail(f"no definitions (*.yaml, *.yml) found in {', '.join(map(str, paths))}")
    if not report.ok:  # deploy all or nothing: a half-deployed set is harder to reason about
        err.print(render_text(report.diagnostics, context=False), markup=False)
        _fail(summary(report.diagnostics, report.files) + "; nothing deployed")
    from pdcaflow.engine.runtime.schedule import ScheduleError, describe

    for validated in report.valid:
        try:
            if validated.definition.schedule is not None:
                describe(validated.definition.schedule)
        except ScheduleError as exc:
            _fail(f"{validated.document.path}: {exc}; nothing deployed")
    from pdcaflow.flows.deploy import DeployError, deploy_definitions

    try:
        for line in deploy_definitions(report.valid, pool):
            out.print(line, markup=False)
    except DeployError as exc:
        _fail(str(exc), EXIT_FAILED)
