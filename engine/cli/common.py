"""What every ``pdca`` command shares: the exit codes, the consoles, the ``--db`` option, one-line errors.

An error a user can act on is one line (``error: ...``) or one block of located
diagnostics, never a traceback, and its exit code says what kind it was. Nothing
here imports the store, SQLAlchemy or Prefect at module level: ``pdca validate``
imports it and must stay fast (bench/cli_latency.py).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console, ConsoleDimensions

from pdcaflow.engine.definition.diagnostic_text import render_text, summary
from pdcaflow.engine.definition.validate import ValidatedDefinition, ValidationReport, discover, validate_paths
from pdcaflow.engine.errors import DefinitionError, Diagnostic, PdcaError
from pdcaflow.tasks.sdk.project_root import default_store, folder_root, prefect_home
from pdcaflow.tasks.sdk.registry import TaskRegistrationError


class ExitCode(IntEnum):
    """How a ``pdca`` command ended."""

    OK = 0
    FAILED = 1  # a run or check failed, the trail does not verify, or the store failed
    BAD_INPUT = 2  # an invalid definition, a wrong option, an unknown process, cycle or action
    SUSPENDED = 3  # a cycle waits for an approval (`pdca run`)
    INTERRUPTED = 130  # stopped by SIGINT (128 + 2)
    TERMINATED = 143  # stopped by SIGTERM (128 + 15)


PAGE_WIDTH = 80  # a saved log's width, and most terminals'


class PageConsole(Console):
    """rich's console, 80 columns wide when it does not write to a terminal (a saved log, a pipe).

    rich would take the width of whatever terminal the other standard streams are, so a log
    saved from a wide terminal would be as wide as that terminal. ``COLUMNS`` still sets it.
    """

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal or self._width is not None or os.environ.get("COLUMNS", "").isdigit():
            return size
        return ConsoleDimensions(PAGE_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:  # as rich's: a fixed width and height
        self._width, self._height = new_size


out = PageConsole(highlight=False, soft_wrap=True)
err = PageConsole(stderr=True, highlight=False, soft_wrap=True)

Db = Annotated[str | None, typer.Option(help="SQLAlchemy URL of the store [default: $PDCA_DATABASE_URL or "
                                             "sqlite:///.pdca/pdca.db]")]


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT, *, then: str | None = None) -> NoReturn:
    """Print ``error: message`` (and the line ``then``, if any) and end the command with ``code``."""
    err.print(f"error: {message}", markup=False)
    if then is not None:
        err.print(then, markup=False)
    raise typer.Exit(code) from None


def fail_with_diagnostics(diagnostics: Sequence[Diagnostic], files: Sequence[str] | None = None, *,
                          context: bool = True) -> NoReturn:
    """Print located problems (and, given the files read, their summary line) and exit 2."""
    err.print(render_text(list(diagnostics), context=context), markup=False)
    if files is not None:
        err.print(summary(diagnostics, files), markup=False)
    raise typer.Exit(ExitCode.BAD_INPUT)


def exit_code_for(error: Exception) -> ExitCode | None:
    """Print an error that escaped a command as one readable block and return its exit code (None: unexpected)."""
    if isinstance(error, DefinitionError):
        err.print(render_text(error.diagnostics), markup=False)
        return ExitCode.BAD_INPUT
    if isinstance(error, TaskRegistrationError | PdcaError):
        err.print(f"error: {error}", markup=False)
        return ExitCode.BAD_INPUT if isinstance(error, TaskRegistrationError) else ExitCode.FAILED
    return None


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Every expected failure of a store command as one line: bad input exits 2, a store failure 1."""
    from pdcaflow.engine.store.access import ReviewError  # SQLAlchemy only once a store command runs (start-up)

    try:
        yield
    except ReviewError as exc:
        fail(str(exc))
    except PdcaError as exc:
        fail(str(exc), ExitCode.FAILED)


def choice(value: str, allowed: tuple[str, ...], option: str = "--format") -> None:
    """Exit 2 unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        fail(f"unknown {option} '{value}': use {', '.join(allowed[:-1])} or {allowed[-1]}")


def resolve_actor(explicit: str | None) -> str:
    """Who is acting: ``--actor``, else ``PDCA_ACTOR``, else the operating-system user."""
    if explicit:
        return explicit
    if os.environ.get("PDCA_ACTOR"):
        return os.environ["PDCA_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# Every way a Prefect log line reaches the terminal (Prefect's logging.yml, 3.8), closed by quiet_prefect().
QUIET_PREFECT = {
    "PREFECT_LOGGING_LEVEL": "CRITICAL",  # the prefect.* loggers
    "PREFECT_INTERNAL_LOGGING_LEVEL": "CRITICAL",  # prefect._internal, which has a stderr handler of its own
    # Prefect puts its console handler on the root logger, and loggers outside prefect.* reach it too: the
    # EventsWorker's and APILogWorker's (named after their class) say "Still processing items" while they
    # drain at exit; prefect.server.* has a level of its own. The root level and the handler's close them all.
    "PREFECT_LOGGING_ROOT_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
}


def quiet_prefect() -> None:
    """Our view of a run and no Prefect log line, unless ``--verbose`` or ``PREFECT_LOGGING_LEVEL`` asks for them.

    Set in the environment before Prefect is imported (it reads them when it configures logging), so the
    processes a run starts are as quiet; the embedded server's own log file is not affected
    (``pdcaflow.flows.embedded_server``).
    """
    if "PREFECT_LOGGING_LEVEL" in os.environ:  # the user asked for Prefect's logs at that level
        os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
        return
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)


def use_project_prefect_home(root: Path) -> None:
    """Prefect's home under the project root ``root`` for a run, unless ``$PREFECT_HOME`` or a server is set.

    Called before ``pdcaflow.flows`` is imported (which would take the working folder's project root).
    """
    if os.environ.get("PREFECT_API_URL") or os.environ.get("PREFECT_HOME"):
        return
    home = prefect_home(root)
    home.mkdir(parents=True, exist_ok=True)  # Prefect creates its home without parents
    os.environ["PREFECT_HOME"] = str(home)


def note_other_store(root: Path, db: str | None) -> None:
    """Say so when the working folder's project has a store other than the one a run of ``root`` records into.

    A split history must never be silent: a store made before this project got its root (a
    ``pdca.toml``), or a run started in another project's folder.
    """
    if db or os.environ.get("PDCA_DATABASE_URL", "").strip():
        return
    here, used = default_store(folder_root()), default_store(root.resolve())
    if here.is_file() and here != used:
        err.print(f"note: this run records into {used} (its definition's project root), not into {here} of "
                  "the working folder; to keep one history, put a pdca.toml where the store should be, or name "
                  "it with --db", markup=False)


def existing_paths(paths: Sequence[Path] | None) -> list[Path]:
    """The definition files or folders named (default ``definitions/``); exit 2 if one does not exist."""
    targets = list(paths or [Path("definitions")])
    missing = [str(path) for path in targets if not path.exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}")
    return targets


def validation_report(paths: list[Path]) -> ValidationReport:
    """Validate the definitions under ``paths``; exit 2 if there are none."""
    report = validate_paths(paths)
    if not report.files:
        fail(f"no definitions (*.yaml, *.yml) found in {', '.join(map(str, paths))}")
    return report


def validated_one(path: Path) -> ValidatedDefinition:
    """The one valid definition in the file ``path``; its problems and exit 2 otherwise."""
    if path.is_dir() or len(discover([path])) != 1:
        fail(f"{path}: name one definition file")
    report = validate_paths([path])
    if not report.ok:
        fail_with_diagnostics(report.diagnostics, report.files)
    show_warnings(report)
    return report.valid[0]


def show_warnings(report: ValidationReport) -> None:
    """Print the warnings of valid definitions (valid but probably not meant); they never stop a command."""
    if report.warnings:
        err.print(render_text(report.warnings, context=False), markup=False)
        err.print(summary(report.warnings, report.files), markup=False)
