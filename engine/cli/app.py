"""The ``pdca`` command line: parse, call one stage, map the outcome to an exit code.

Exit codes: 0 ok, 1 a run or check failed, 2 bad input (an invalid definition,
a wrong option), 3 a cycle waits for an approval and was suspended (``pdca run``),
130 / 143 a run stopped by SIGINT / SIGTERM (``pdcaflow.engine.cli.stop``).
Errors are one readable block, never a traceback; ``--verbose`` shows the traceback
of an unexpected failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from pdcaflow.engine.cli import approve as cli_approve
from pdcaflow.engine.cli.actions import actions_app, override as override_command
from pdcaflow.engine.cli.audit import audit_app
from pdcaflow.engine.cli import attest as cli_attest  # noqa: F401  (registers audit keygen, sign, prove, check-proof)
from pdcaflow.engine.cli.db import db_app
from pdcaflow.engine.cli import serve as cli_serve
from pdcaflow.engine.cli.demo import demo as demo_command
from pdcaflow.engine.cli.stop import RunStop
from pdcaflow.engine.cli.tasks import tasks_app
from pdcaflow.engine.errors import DefinitionError, PdcaError
from pdcaflow.engine.definition.diagnostic_text import render_github, render_json, render_text, summary
from pdcaflow.tasks.sdk.registry import TaskRegistrationError

if TYPE_CHECKING:
    from pdcaflow.engine.definition.validate import ValidatedDefinition

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

app = typer.Typer(
    name="pdca",
    help="pdcaflow: run business processes as plan-do-check-act cycles defined in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(tasks_app, name="tasks")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PathsArg = Annotated[list[Path] | None, typer.Argument(help="definition files or folders [default: definitions/]")]


class _State:
    verbose = False


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show tracebacks of unexpected errors")] = False) -> None:
    _State.verbose = verbose


@app.command()
def validate(
    paths: PathsArg = None,
    output_format: Annotated[str, typer.Option(
        "--format", "-f", help="text, json, or github (workflow-command annotations for GitHub Actions)")] = "text",
    context: Annotated[bool, typer.Option(help="show the source lines around each problem")] = True,
) -> None:
    """Check definitions without running anything; report every problem with file:line:col."""
    if output_format not in ("text", "json", "github"):
        _fail_input(f"unknown --format '{output_format}': use text, json or github")
    from pdcaflow.engine.definition.validate import validate_paths  # pydantic and the models: not for `pdca audit`

    targets = _targets(paths)
    report = validate_paths(targets)
    if not report.files:
        _fail_input(f"no definitions (*.yaml, *.yml) found in {', '.join(map(str, targets))}")
    if output_format == "json":
        out.print(render_json(report.diagnostics, report.files), markup=False)
    elif output_format == "github":
        for line in render_github(report.diagnostics):
            out.print(line, markup=False)
    else:
        if report.diagnostics:
            err.print(render_text(report.diagnostics, context=context), markup=False)
            err.print()
        for validated in report.valid:
            definition = validated.definition
            counts = ", ".join(_count(len(items), noun) for items, noun in (
                (definition.steps, "step"), (definition.kpis, "KPI"), (definition.policies, "policy")))
            out.print(f"ok  {validated.document.path}  ({definition.id}: {counts})", markup=False)
        (err if report.diagnostics else out).print(summary(report.diagnostics, report.files), markup=False)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_BAD_INPUT)


@app.command()
def graph(path: Annotated[Path, typer.Argument(help="a definition file")]) -> None:
    """Print the process as a Mermaid flowchart: one subgraph per PDCA phase, and the cycle edge."""
    from pdcaflow.engine.definition.graph import to_mermaid

    validated = _validated_one(path)
    out.print(to_mermaid(validated), markup=False, end="")


@app.command()
def schema(
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write; '-' for standard output")] = Path(
        "definitions/schema/process.schema.json"),
    check: Annotated[bool, typer.Option("--check", help="exit 1 if the file differs instead of writing it")] = False,
) -> None:
    """Write the JSON Schema of definitions, for editors (`# yaml-language-server: $schema=...`)."""
    from pdcaflow.engine.definition.project_tasks import tasks_for
    from pdcaflow.engine.definition.schema import schema_text

    # the tasks in effect where the schema is written (built-ins, entry points, that project's config)
    project = tasks_for(Path.cwd() if str(output) == "-" else output.resolve().parent, report_at=str(output))
    if project.diagnostics:
        err.print(render_text(list(project.diagnostics)), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    text = schema_text(project.discovery.tasks)
    if str(output) == "-":
        out.print(text, markup=False, end="")
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            err.print(f"{output} is stale: run `pdca schema` to regenerate it", markup=False)
            raise typer.Exit(EXIT_FAILED)
        out.print(f"{output} is up to date", markup=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail_input(f"cannot write {output}: {exc.strerror}")
    out.print(f"wrote {output}", markup=False)


@app.command()
def run(
    path: Annotated[Path, typer.Argument(help="a definition file")],
    cycles: Annotated[int, typer.Option("--cycles", "-n", min=1, max=1000, help="how many cycles to run")] = 1,
    actor: Annotated[str | None, typer.Option(help="who runs it [default: $PDCA_ACTOR or the OS user]")] = None,
    reason: Annotated[str | None, typer.Option(
        envvar="PDCA_REASON", show_envvar=False,
        help="why you run it, recorded on each cycle's start event (required; or $PDCA_REASON)")] = None,
    wait: Annotated[float, typer.Option(min=0, help="seconds to wait for a cycle of the same process that another "
                                        "pdca process is running, instead of refusing at once")] = 0.0,
    approval_wait: Annotated[float, typer.Option(min=0, help="seconds to wait for an approval gate's answer before "
                                                 "suspending the cycle (exit 3)")] = 0.0,
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store [default: $PDCA_DATABASE_URL "
                                          "or sqlite:///.pdca/pdca.db]")] = None,
) -> None:
    """Run PDCA cycles as Prefect flow runs; each cycle starts from the previous one's carry-over."""
    reason = (reason or "").strip()
    if not reason:  # a run started by hand is a change to the record: say why (21 CFR Part 11)
        _fail_input("pdca run needs --reason TEXT (or $PDCA_REASON): say why these cycles are run, "
                    "e.g. --reason \"monthly review\"")
    validated = _validated_one(path)  # bad input exits 2 here, before Prefect starts
    if not _State.verbose:  # our view, not Prefect's log lines (also its internal services' ones)
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    stop = RunStop(cycles)
    with stop.handling():  # SIGINT/SIGTERM: one line, exit 130/143 within seconds, the cycle resumable
        try:
            completed = _run_with_view(path, validated, cycles, stop, actor=actor, db=db, reason=reason, wait=wait,
                                       approval_wait=approval_wait)
        except BaseException:  # the interrupt, or whatever the run raised while it was being stopped
            stop.finish_if_requested()
            raise
    out.print(f"{completed} cycle(s) of {validated.definition.id} completed", markup=False)


def _run_with_view(path: Path, validated: ValidatedDefinition, cycles: int, stop: RunStop, *, actor: str | None,
                   db: str | None, reason: str, wait: float, approval_wait: float) -> int:
    """`pdca run`'s cycles with the live view; an outcome other than success is one message and an exit code."""
    # The store, the cycle and Prefect are imported only here and in `status`: validate, graph and
    # schema answer in about half a second and never pay for them (bench/cli_latency.py).
    from pdcaflow.engine.cli.cycles import ProgressView, resolve_actor, summary_renderable
    from pdcaflow.engine.runtime.approval_gate import ApprovalPending, ApprovalSettings
    from pdcaflow.engine.runtime.cycle import CycleBusyError, CycleFailedError
    from pdcaflow.flows.runner import run_cycles

    view = ProgressView(out)
    done: list[object] = []

    def observe(step_id: str, status: str, detail: str) -> None:
        stop.step(step_id, status, detail)
        view.update(step_id, status, detail)

    def started(cycle_run: object) -> None:
        stop.start_cycle(cycle_run)
        view.start_cycle(cycle_run)

    def finished(result: object) -> None:
        stop.cycle_completed(result)
        view.stop()
        done.append(result)
        out.print(summary_renderable(result))  # type: ignore[arg-type]

    try:
        results = run_cycles(validated, cycles, actor=resolve_actor(actor), db_url=db, observer=observe,
                             on_cycle=started, on_result=finished, reason=reason, wait=wait,
                             approvals=ApprovalSettings(wait=approval_wait))
    except ApprovalPending as exc:
        view.stop()
        err.print(cli_approve.suspended_message(exc, str(path)), markup=False)
        raise typer.Exit(3) from None
    except CycleBusyError as exc:
        view.stop()
        err.print(f"error: {exc}", markup=False)
        if done:
            err.print(f"{len(done)} of {cycles} cycle(s) completed before that; nothing else was recorded.",
                      markup=False)
        raise typer.Exit(EXIT_FAILED) from exc
    except CycleFailedError as exc:
        view.stop()
        err.print(f"error: {exc}", markup=False)
        err.print("The cycle is recorded as failed; run the same command again to resume it "
                  "(completed steps are not run again).", markup=False)
        raise typer.Exit(EXIT_FAILED) from exc
    finally:
        view.stop()
    return len(results)


@app.command()
def status(
    process: Annotated[str | None, typer.Argument(help="a process id [default: every process in the store]")] = None,
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store")] = None,
) -> None:
    """Show the latest cycle of each process, its KPI results and the open actions."""
    from pdcaflow.engine.cli.cycles import status_renderables  # the store only when needed (see `run`)
    from pdcaflow.engine.store.access import ReviewError

    try:
        renderables = status_renderables(db, process)
    except ReviewError as exc:  # no store there, or its schema needs `pdca db upgrade`
        _fail_input(str(exc))
    for renderable in renderables:
        out.print(renderable)


app.command("demo")(demo_command)
app.add_typer(actions_app, name="actions")
app.command("override")(override_command)
app.command("approve")(cli_approve.approve)
app.command("reject")(cli_approve.reject)
app.command("approvals")(cli_approve.pending)
app.command("serve")(cli_serve.serve)
app.command("schedule")(cli_serve.schedule)
app.command("deploy")(cli_serve.deploy)


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def _targets(paths: list[Path] | None) -> list[Path]:
    targets = paths or [Path("definitions")]
    missing = [str(path) for path in targets if not path.exists()]
    if missing:
        _fail_input(f"no such file or folder: {', '.join(missing)}")
    return targets


def _validated_one(path: Path) -> ValidatedDefinition:
    from pdcaflow.engine.definition.validate import discover, validate_paths

    if path.is_dir() or len(discover([path])) != 1:
        _fail_input(f"{path}: name one definition file")
    report = validate_paths([path])
    if not report.ok:
        err.print(render_text(report.diagnostics), markup=False)
        err.print(summary(report.diagnostics, report.files), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    return report.valid[0]


def _fail_input(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def main() -> None:
    """Console entry point: run the app, never letting a traceback reach the user."""
    try:
        app()
    except DefinitionError as exc:
        err.print(render_text(exc.diagnostics), markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except TaskRegistrationError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_BAD_INPUT)
    except PdcaError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one readable line, details on request
        if _State.verbose:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", markup=False)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
