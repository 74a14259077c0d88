"""``pdca tasks`` / ``pdca tasks show NAME``: the tasks a definition may use, where each comes from, its help.

The tasks are those in effect for a project folder (``--project``, default the
working folder): the built-in library, installed ``pdcaflow.tasks`` entry points,
and the ``tasks`` modules of the project config found from there (see
``pdcaflow.tasks.sdk.project_config``). A task module that fails to import is reported with its
code (exit 2) after the list of what did load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pdcaflow.engine.cli.common import fail, fail_with_diagnostics, out
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.definition.project_tasks import ProjectTasks, tasks_for
from pdcaflow.engine.definition.shape_errors import models_in
from pdcaflow.tasks.sdk.registry import TaskParam

ProjectOption = Annotated[Path | None, typer.Option(
    "--project", "-p", help="a definition file or folder: use the project config (pdca.toml / [tool.pdca]) "
    "in effect there [default: the current folder]")]

tasks_app = typer.Typer(help="List the registered tasks a definition's `uses:` may name.", invoke_without_command=True)


@tasks_app.callback()
def tasks_list(ctx: typer.Context, project: ProjectOption = None) -> None:
    """List every registered task with its parameters and where it comes from."""
    ctx.obj = project
    if ctx.invoked_subcommand is not None:
        return
    found = _found(project)
    for name, spec in sorted(found.discovery.tasks.items()):
        phases = "/".join(spec.phases) + " phase" if spec.phases else "any phase"
        origin = found.discovery.origins[name]
        out.print(f"[bold]{name}[/bold]  [dim]({escape(f'{origin}: {spec.module}, {phases}')})[/dim]")
        out.print(f"  {spec.summary}", markup=False)
        params = ", ".join(p.name + ("" if p.required else "?") for p in spec.params) or "(none)"
        out.print(f"  with: {params}", markup=False)
        out.print(f"  outputs: {_outputs_text(spec.outputs_given({}), spec.outputs_for is not None)}", markup=False)
    config = found.config.path or "none found (pdca.toml or [tool.pdca] in pyproject.toml)"
    out.print(f"\n? = optional.  `{pdca_command()} tasks show NAME` describes one task.  Project config: {config}",
              markup=False)
    _exit_on_problems(found)


@tasks_app.command("show")
def tasks_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="a task name, e.g. demand.forecast")],
               project: ProjectOption = None) -> None:
    """Show one task's help: where it comes from, parameters, types, defaults and outputs."""
    found = _found(project or ctx.obj)
    spec = found.discovery.tasks.get(name)
    if spec is None:
        _exit_on_problems(found)
        fail(f"no task named '{name}'; `{pdca_command()} tasks` lists them")
    out.print(f"{spec.name}  ({spec.module})", markup=False)
    out.print(f"from: {found.discovery.origins[name]}", markup=False)
    out.print(f"phases: {', '.join(spec.phases or ('any',))}\n", markup=False)
    out.print(spec.doc or "(no description)", markup=False)
    out.print("\nwith:", markup=False)
    for param in spec.params:
        default = "required" if param.required else f"default {param.default!r}"
        where = "" if param.path is None else "; a path in the project" + (
            ", or connection:NAME" if param.path.connections else "")
        out.print(f"  {param.name}: {param.type_name}  ({default}{where})", markup=False)
        for model in models_in(param.annotation):
            fields = ", ".join(f"{field}: {_type_text(info.annotation)}" + ("" if info.is_required() else "?")
                               for field, info in model.model_fields.items())
            out.print(f"      {model.__name__}: {{{fields}}}", markup=False)
    out.print("\noutputs: " + _outputs_text(spec.outputs_given({}), spec.outputs_for is not None), markup=False)


def _found(project: Path | None) -> ProjectTasks:
    start = project or Path.cwd()
    if not start.exists():
        fail(f"no such file or folder: {start}")
    return tasks_for(start, report_at=str(start))


def _exit_on_problems(found: ProjectTasks) -> None:
    if found.diagnostics:
        fail_with_diagnostics(found.diagnostics)


def _outputs_text(outputs: tuple[str, ...] | None, depends_on_with: bool) -> str:
    if depends_on_with:
        return (", ".join(outputs or ()) + " + " if outputs else "") + "names given in its `with:` (see its help)"
    return ", ".join(outputs) if outputs else "(not declared)"


def _type_text(annotation: object) -> str:
    return TaskParam("", annotation, True).type_name
