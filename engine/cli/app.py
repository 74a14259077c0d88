"""The ``pdca`` command line: parse, call one stage, map the outcome to an exit code.

Exit codes: 0 ok, 1 a run or check failed, 2 bad input (an invalid definition,
a wrong option), 3 a cycle waits for an approval and was suspended (``pdca run``),
130 / 143 a run stopped by SIGINT / SIGTERM (``pdcaflow.engine.cli.stop``).
Errors are one readable block, never a traceback; ``--verbose`` shows the traceback
of an unexpected failure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pdcaflow.engine.cli import approve, attest, serve  # noqa: F401  (attest registers audit keygen, sign, prove, check-proof)
from pdcaflow.engine.cli.actions import actions_app, override
from pdcaflow.engine.cli.audit import audit_app
from pdcaflow.engine.cli.common import (Db, ExitCode, choice, err, exit_code_for, existing_paths, fail,
                                        fail_with_diagnostics, one_line_errors, out, quiet_prefect, resolve_actor,
                                        note_other_store, use_project_prefect_home, validated_one,
                                        validation_report)
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.cli.db import db_app
from pdcaflow.engine.cli.demo import demo
from pdcaflow.engine.cli.init_project import init
from pdcaflow.engine.cli.plain_help import PlainHelpGroup
from pdcaflow.engine.cli.stop import RunStop
from pdcaflow.engine.cli.tasks import tasks_app
from pdcaflow.engine.definition.diagnostic_text import render_github, render_json, render_text, summary
from pdcaflow.engine.definition.project_tasks import tasks_for
from pdcaflow.engine.definition.validate import ValidatedDefinition

app = typer.Typer(
    name="pdca",
    cls=PlainHelpGroup,  # help texts as written: no bracketed word swallowed as rich markup
    help="pdcaflow: run business processes as plan-do-check-act cycles defined in YAML.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(tasks_app, name="tasks")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.command("init")(init)  # first in `pdca --help`: where a new user starts

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
    strict: Annotated[bool, typer.Option("--strict", help="exit 2 on warnings too (valid but probably "
                                                          "not meant, e.g. a cron with swapped fields)")] = False,
) -> None:
    """Check definitions without running anything; report every problem with file:line:col."""
    choice(output_format, ("text", "json", "github"))
    report = validation_report(existing_paths(paths))
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
            line = f"ok  {validated.document.path}  ({definition.id}: {counts})"
            if len(line) > 80:  # a saved log's width: what it holds goes on the next line
                line = f"ok  {validated.document.path}\n    {definition.id}: {counts}"
            out.print(line, markup=False)
        (err if report.diagnostics else out).print(summary(report.diagnostics, report.files), markup=False)
    raise typer.Exit(ExitCode.OK if report.ok and not (strict and report.warnings) else ExitCode.BAD_INPUT)


@app.command()
def graph(path: Annotated[Path, typer.Argument(help="a definition file")]) -> None:
    """Print the process as a Mermaid flowchart: one subgraph per PDCA phase, and the cycle edge."""
    from pdcaflow.engine.definition.graph import to_mermaid  # start-up speed: only when asked

    validated = validated_one(path)
    out.print(to_mermaid(validated), markup=False, end="")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="where to write; '-' for standard output [default: in a project (a pdca.toml or "
        "[tool.pdca] here or above) its .pdca/schema.json, else definitions/schema/process.schema.json]")] = None,
    check: Annotated[bool, typer.Option("--check", help="exit 1 if the file differs instead of writing it")] = False,
) -> None:
    """Write the JSON Schema of definitions, for editors; in a project, one that knows its own tasks."""
    # start-up speed: only when asked
    from pdcaflow.engine.definition.schema import (DEFAULT_SCHEMA_PATH, PROJECT_SCHEMA_PATH, project_root,
                                                   schema_comment, schema_text)

    root = project_root(Path.cwd()) if output is None else None
    target = output if output is not None else root / PROJECT_SCHEMA_PATH if root is not None else DEFAULT_SCHEMA_PATH
    # the tasks in effect where the schema is written (built-ins, entry points, that project's config)
    project = tasks_for(Path.cwd() if str(target) == "-" else target.resolve().parent if root is None else root,
                        report_at=str(target))
    if project.diagnostics:
        fail_with_diagnostics(project.diagnostics)
    text = schema_text(project.discovery.tasks)
    if str(target) == "-":
        out.print(text, markup=False, end="")
        return
    if check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            err.print(f"{target} is stale: run `{pdca_command()} schema` to regenerate it", markup=False)
            raise typer.Exit(ExitCode.FAILED)
        out.print(f"{target} is up to date", markup=False)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    out.print(f"wrote {target}", markup=False)
    if root is not None:
        out.print(f"It knows the own tasks of the project in {root}.\nMake this the first line of each definition "
                  f"(a path relative to its folder):\n  {schema_comment(target, Path.cwd())}", markup=False)


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
    show_all: Annotated[bool, typer.Option("--all", help="also list decisions that fired without changing the "
                                                         "plan")] = False,
    db: Db = None,
) -> None:
    """Run PDCA cycles as Prefect flow runs; each cycle starts from the previous one's carry-over."""
    reason = (reason or "").strip()
    if not reason:  # a run started by hand is a change to the record: say why (21 CFR Part 11)
        fail("pdca run needs --reason TEXT (or $PDCA_REASON): say why these cycles are run, "
             "e.g. --reason \"monthly review\"")
    validated = validated_one(path)  # bad input exits 2 here, before Prefect starts
    if not _State.verbose:
        quiet_prefect()
    use_project_prefect_home(validated.root)  # the project's, whatever the working folder
    note_other_store(validated.root, db)
    stop = RunStop(cycles)
    with stop.handling():  # SIGINT/SIGTERM: one line, exit 130/143 within seconds, the cycle resumable
        try:
            completed = _run_with_view(path, validated, cycles, stop, actor=actor, db=db, reason=reason, wait=wait,
                                       approval_wait=approval_wait, show_all=show_all)
        except BaseException:  # the interrupt, or whatever the run raised while it was being stopped
            stop.finish_if_requested()
            raise
    out.print(f"{completed} cycle(s) of {validated.definition.id} completed", markup=False)


def _run_with_view(path: Path, validated: ValidatedDefinition, cycles: int, stop: RunStop, *, actor: str | None,
                   db: str | None, reason: str, wait: float, approval_wait: float, show_all: bool = False) -> int:
    """`pdca run`'s cycles with the live view; an outcome other than success is one message and an exit code."""
    # start-up speed: the store, the cycle and Prefect load only when this runs (bench/cli_latency.py)
    from pdcaflow.engine.cli.cycles import ProgressView
    from pdcaflow.engine.runtime.approval_gate import ApprovalPending, ApprovalSettings
    from pdcaflow.engine.runtime.cycle import CycleBusyError, CycleFailedError
    from pdcaflow.flows.runner import run_cycles

    view = ProgressView(out, show_all=show_all)
    done: list[object] = []

    def observe(step_id: str, status: str, detail: str) -> None:
        stop.step(step_id, status, detail)
        view.update(step_id, status, detail)

    def started(cycle_run: object) -> None:
        stop.start_cycle(cycle_run)
        view.start_cycle(cycle_run)

    def finished(result: object) -> None:
        stop.cycle_completed(result)
        done.append(result)
        view.finish_cycle(result)  # type: ignore[arg-type]

    try:
        results = run_cycles(validated, cycles, actor=resolve_actor(actor), db_url=db, observer=observe,
                             on_cycle=started, on_result=finished, reason=reason, wait=wait,
                             approvals=ApprovalSettings(wait=approval_wait))
    except ApprovalPending as exc:
        view.stop()
        err.print(approve.suspended_message(exc, str(path)), markup=False)
        raise typer.Exit(ExitCode.SUSPENDED) from None
    except CycleBusyError as exc:
        view.stop()
        fail(str(exc), ExitCode.FAILED, then=f"{len(done)} of {cycles} cycle(s) completed before that; nothing "
                                             "else was recorded." if done else None)
    except CycleFailedError as exc:
        view.stop()
        fail(str(exc), ExitCode.FAILED, then="The cycle is recorded as failed; run the same command again to "
                                             "resume it (completed steps are not run again).")
    finally:
        view.stop()
    return len(results)


@app.command()
def status(
    process: Annotated[str | None, typer.Argument(help="a process id [default: every process in the store]")] = None,
    db: Db = None,
) -> None:
    """Show the latest cycle of each process, its KPI results and the open actions."""
    from pdcaflow.engine.cli.cycles import status_renderables  # start-up speed: the store only when asked

    with one_line_errors():  # no store there, or its schema needs `pdca db upgrade`
        renderables = status_renderables(db, process)
    for renderable in renderables:
        out.print(renderable)


app.command("demo")(demo)
app.add_typer(actions_app, name="actions")
app.command("override")(override)
app.command("approve")(approve.approve)
app.command("reject")(approve.reject)
app.command("approvals")(approve.pending)
app.command("serve")(serve.serve)
app.command("schedule")(serve.schedule)
app.command("deploy")(serve.deploy)


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def main() -> None:
    """Console entry point: run the app, never letting a traceback reach the user."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # the last line of defence: one readable line, details on request
        code = exit_code_for(exc)
        if code is None:
            if _State.verbose:
                raise
            err.print(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)",
                      markup=False)
        sys.exit(ExitCode.FAILED if code is None else code)


if __name__ == "__main__":
    main()
