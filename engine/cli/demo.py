"""`pdca demo`: the flagship seven-step model run on a generated retail world, cycle by cycle.

The demo directory holds everything a reviewer needs afterwards: a copy of the
flagship definition (``retail-customer-service.yaml``), the sample world under
``data/retail/``, the cycles' work files under ``.pdca/work/`` and the audit
store ``.pdca/pdca.db``, so ``pdca audit ...`` and ``pdca status`` work there.
Running the demo again in the same directory continues with the next cycles.

Like ``pdcaflow.engine.cli.cycles``, this module imports the store, the world and Prefect
only inside the command, so ``pdca validate`` never pays for them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the models (pydantic) load only when a demo runs: `pdca --help` stays fast
    from pdcaflow.engine.definition.validate import ValidatedDefinition

FLAGSHIP = "retail-customer-service.yaml"
# The demo runs unattended: it signs approval gates itself, recorded as actor `demo` with this reason
# (and the approvers it stood in for), so the trail never passes a demo answer off as a person's.
DEMO_APPROVAL = ("demo", "pdca demo answers approvals itself: an unattended demonstration on a simulated world")
WORLD_DIR = Path("data") / "retail"
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def flagship_definition() -> Path:
    """The flagship definition shipped with pdcaflow."""
    return Path(__file__).resolve().parents[2] / "definitions" / FLAGSHIP


def demo(
    customers: Annotated[int, typer.Option(min=50, max=1_000_000, help="retail customers in the generated city")] = 5000,
    cycles: Annotated[int, typer.Option("--cycles", "-n", min=1, max=120, help="monthly cycles to run")] = 6,
    seed: Annotated[int, typer.Option(help="seed of the generated world (same seed, same world)")] = 7,
    directory: Annotated[Path, typer.Option("--dir", help="where the world, the work files and the audit store go")]
    = Path("pdca-demo"),
    actor: Annotated[str | None, typer.Option(help="who runs it [default: $PDCA_ACTOR or the OS user]")] = None,
) -> None:
    """Run the seven-step retail customer-service model on a generated city of retail customers.

    Generates the sample world (a simulation for demonstration: see docs/sample-world.md),
    runs the flagship definition for the given number of monthly cycles, prints each
    cycle's KPI table and decisions, then what changed the plan and what it did to the KPIs.
    """
    definition = _prepare(directory.resolve(), customers, seed)
    validated = _validate(definition)
    os.chdir(directory.resolve())  # the definition's sources, the work files, the store and Prefect's home
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    from pdcaflow.engine.cli.cycles import ProgressView, resolve_actor, summary_renderable
    from pdcaflow.engine.runtime.cycle import CycleFailedError
    from pdcaflow.engine.errors import PdcaError
    from pdcaflow.engine.runtime.approval_gate import ApprovalSettings
    from pdcaflow.flows.runner import run_cycles

    view = ProgressView(out)
    results: list[dict[str, Any]] = []

    def finished(result: dict[str, Any]) -> None:
        view.stop()
        results.append(result)
        out.print(summary_renderable(result))

    try:
        run_cycles(validated, cycles, actor=resolve_actor(actor), db_url=None, observer=view.update,
                   on_cycle=view.start_cycle, on_result=finished,
                   reason=f"pdca demo: sample world of {customers} customers, seed {seed}",
                   approvals=ApprovalSettings(auto_answer=DEMO_APPROVAL))
    except KeyboardInterrupt:
        view.stop()
        err.print("interrupted: run the same command again to resume the unfinished cycle", markup=False)
        raise typer.Exit(130) from None
    except (CycleFailedError, PdcaError) as exc:
        view.stop()
        err.print(f"error: {exc}", markup=False)
        err.print(f"The cycle is recorded as failed; `pdca demo --dir {directory}` again resumes it.", markup=False)
        raise typer.Exit(EXIT_FAILED) from exc
    finally:
        view.stop()
    for renderable in closing_summary(results):
        out.print(renderable)
    out.print(f"\nThe audit trail is in {directory / '.pdca' / 'pdca.db'}. Review it with, for example:\n"
              f"  cd {directory} && pdca audit log --limit 20 && pdca audit kpis retail-customer-service",
              markup=False)


def _prepare(directory: Path, customers: int, seed: int) -> Path:
    """Copy the flagship definition and generate the world, unless the directory already has them."""
    source = flagship_definition()
    if not source.is_file():
        _fail(f"the flagship definition {source} is missing from this installation", EXIT_BAD_INPUT)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        definition = directory / FLAGSHIP
        if not definition.exists():
            shutil.copyfile(source, definition)
        world = directory / WORLD_DIR
        info_file = world / "world.json"
        if info_file.is_file():
            info = json.loads(info_file.read_text(encoding="utf-8"))
            if (info.get("customers"), info.get("seed")) != (customers, seed):
                _fail(f"{directory} already holds a world of {info.get('customers')} customers with seed "
                      f"{info.get('seed')}; use another --dir, or the same --customers and --seed to continue it",
                      EXIT_BAD_INPUT)
            out.print(f"continuing in {directory} (world of {customers} customers, seed {seed})", markup=False)
        else:
            from pdcaflow.tasks.sample_world import generate_world

            with out.status(f"generating a city of {customers} retail customers (seed {seed}) ..."):
                generate_world(world, customers=customers, seed=seed)
            out.print(f"generated the sample world in {world}", markup=False)
    except OSError as exc:
        _fail(f"cannot prepare the demo directory {directory}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    return definition


def _validate(definition: Path) -> ValidatedDefinition:
    """The demo's copy of the definition may have been edited: check it before anything runs."""
    from pdcaflow.engine.definition.diagnostic_text import render_text, summary
    from pdcaflow.engine.definition.validate import validate_paths

    report = validate_paths([definition])
    if not report.ok:
        err.print(render_text(report.diagnostics), markup=False)
        err.print(summary(report.diagnostics, report.files), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    return report.valid[0]


def closing_summary(results: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Each KPI cycle by cycle, then the policies that changed the plan and when."""
    if not results:
        return []
    table = Table(title=f"KPIs over {len(results)} cycle(s) (green met, red missed)", title_justify="left")
    table.add_column("KPI", no_wrap=True)  # the numbers wrap first; a KPI name is never cut
    for result in results:
        table.add_column(f"c{result['cycle']}", justify="right")
    table.add_column("target now", justify="right")
    table.add_column("first -> last", justify="right")
    last = results[-1]
    for kpi_id in last.get("kpi_values", {}):
        cells = []
        values = []
        for result in results:
            value = result.get("kpi_values", {}).get(kpi_id, {})
            actual = value.get("actual")
            values.append(actual)
            style = {"met": "green", "missed": "red"}.get(str(value.get("status")), "yellow")
            cells.append(f"[{style}]{_fmt(actual)}[/]")
        known = [v for v in values if isinstance(v, int | float)]
        movement = f"{known[-1] - known[0]:+.3g}" if len(known) >= 2 else "-"
        target = next((row["target"] for row in last["kpis"] if row["kpi"] == kpi_id), "-")
        table.add_row(kpi_id, *cells, target, movement)
    changes = Table(title="What changed the plan", title_justify="left")
    for column in ("cycle", "policy", "effect"):
        changes.add_column(column)
    for result in results:
        grouped: dict[str, list[str]] = {}
        for decision in result.get("decisions", []):
            grouped.setdefault(str(decision.get("policy")), []).extend(decision.get("effects", []) or ["(no effect)"])
        for policy, effects in grouped.items():
            shown = effects if len(effects) <= 2 else [effects[0], f"... and {len(effects) - 1} more like it"]
            for effect in shown:
                changes.add_row(str(result["cycle"]), policy, str(effect))
    open_actions = last.get("open_actions", [])
    owners = sorted({str(action.get("owner")) for action in open_actions})
    actions_line = (f"{len(open_actions)} corrective action(s) open after cycle {last['cycle']}"
                    + (f" (owners: {', '.join(owners)})" if owners else ""))
    return [table, changes if changes.row_count else "No policy changed the plan.", actions_line]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def _fail(message: str, code: int) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)
