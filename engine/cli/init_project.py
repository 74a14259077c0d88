"""``pdca init [DIR]``: a complete, minimal, runnable project to start from.

The project is copied from ``project_template/`` beside this module (package
data): a definition with a step in every phase, a KPI measured from a CSV file
without SQL, one policy, a ``pdca.toml`` (which makes the folder a project), the
project's own task, sample data and a short README. Then the editor schema is
written for the project, so it knows the project's own task. Nothing that
exists is ever overwritten: ``init`` names what is in the way and exits 2.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from pdcaflow.engine.cli.common import fail, fail_with_diagnostics, out

TEMPLATE = Path(__file__).resolve().parent / "project_template"
DEFINITION = "support-requests.yaml"
SCHEMA = ".pdca/schema.json"  # PROJECT_SCHEMA_PATH: where `pdca schema` writes it too
# what `pdca init` prints about each file it writes, in this order
ABOUT = {
    "README.md": "what is where, in five lines",
    "pdca.toml": "makes this folder a project; names the own task",
    DEFINITION: "the process: plan, do, check, act, a KPI, a policy",
    "support_tasks.py": "the project's own task (the DO step)",
    "data/requests.csv": "sample requests, one month a cycle",
    SCHEMA: "lets an editor complete and check the YAML",
}


def template_files() -> list[str]:
    """The template's files, relative to it, as ``/``-separated text in the order ``init`` lists them."""
    found = {path.relative_to(TEMPLATE).as_posix() for path in TEMPLATE.rglob("*")
             if path.is_file() and "__pycache__" not in path.parts}
    return [name for name in ABOUT if name in found] + sorted(found - set(ABOUT))


def init(directory: Annotated[Path, typer.Argument(
        help="the project folder, created if missing", show_default="the current folder")] = Path(".")) -> None:
    """Start a project: a runnable process with a KPI, a policy, its own task and sample data."""
    files = template_files()
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is a file, not a folder: name a new or empty folder, e.g. pdca init my-process")
    in_the_way = [name for name in [*files, SCHEMA] if (directory / name).exists()]
    if in_the_way:
        where = "this folder" if _is_cwd(directory) else str(directory)
        fail(f"{where} already has files pdca init writes, and it never overwrites one:",
             then="\n".join([*(f"  {name}" for name in in_the_way),
                             "Choose a new or empty folder, e.g. pdca init my-process"]))
    try:
        for name in files:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            with (directory / name).open("xb") as handle:  # "x": a file made meanwhile is not overwritten either
                handle.write((TEMPLATE / name).read_bytes())
        _write_schema(directory)
    except OSError as exc:
        fail(f"cannot write {exc.filename or directory}: {exc.strerror}")
    _print_summary(directory, [*files, SCHEMA])


def _write_schema(directory: Path) -> None:
    """The editor schema of the new project, as `pdca schema` writes it: the built-in tasks and the project's own."""
    from pdcaflow.engine.definition.schema import write_project_schema  # start-up speed: only when asked
    from pdcaflow.engine.errors import DefinitionError

    try:
        write_project_schema(directory.resolve())
    except DefinitionError as exc:
        fail_with_diagnostics(exc.diagnostics)


def _print_summary(directory: Path, written: list[str]) -> None:
    here = _is_cwd(directory)
    out.print(f"Created a pdcaflow project in {'this folder' if here else directory}:", markup=False)
    width = max(map(len, written))
    for name in written:
        out.print(f"  {name:<{width}}  {ABOUT.get(name, '')}".rstrip(), markup=False)
    out.print("Next:", markup=False)
    if not here:
        out.print(f"  cd {shlex.quote(str(directory))}", markup=False)
    out.print(f"  pdca validate {DEFINITION}", markup=False)
    out.print(f"  pdca run {DEFINITION} --cycles 3 --reason \"first try\"", markup=False)
    out.print("  pdca status", markup=False)


def _is_cwd(directory: Path) -> bool:
    return directory.resolve() == Path.cwd().resolve()
