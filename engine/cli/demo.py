"""`pdca demo`: the flagship seven-step model run on a generated retail world, cycle by cycle.

The demo directory is a project (a ``pdca.toml`` makes it the project root) and holds
everything a reviewer needs afterwards: a copy of the
flagship definition (``retail-customer-service.yaml``), the sample world under
``data/retail/``, the cycles' work files under ``.pdca/work/`` and the audit
store ``.pdca/pdca.db``, so ``pdca audit ...`` and ``pdca status`` work there.
Running the demo again in the same directory continues with the next cycles.
The world is the field: the cycles run with the world's ``before_task`` hook
(``pdcaflow.tasks.sample_world.field``), which simulates each month just before
``service.deliver`` reads its records (the retail library itself only reads them).

Like ``pdcaflow.engine.cli.cycles``, this module imports the store, the world and Prefect
only inside the command, so ``pdca validate`` never pays for them.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.text import Text

from pdcaflow.engine.cli.demo_models import MODELS, DemoModel, generate, hook, model_named, model_names, world_info
from pdcaflow.engine.cli.common import ExitCode, err, fail, out, quiet_prefect, resolve_actor, validated_one
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.definition.validate import ValidatedDefinition
from pdcaflow.engine.review.cycle_report import no_effect_note
from pdcaflow.engine.review.kpi_labels import KpiLabels, labels_of
from pdcaflow.engine.errors import PdcaError
from pdcaflow.tasks.sdk.project_config import CONFIG_FILE
from pdcaflow.engine.review.layout import Column, FitTable, Kind, paragraph

FLAGSHIP = "retail-customer-service.yaml"
# The demo runs unattended: it signs approval gates itself, recorded as actor `demo` with this reason
# (and the approvers it stood in for), so the trail never passes a demo answer off as a person's.
DEMO_APPROVAL = ("demo", "pdca demo answers approvals itself: an unattended demonstration on a simulated world")
DEMO_MARKER = Path(".pdca") / "demo-model"  # the model a demo folder holds
DEMO_CONFIG = ("# The demo's project config: this folder is the project root, so its store, work files and\n"
               "# Prefect's home stay in .pdca/ here, whatever folder a pdca command is started in.\n")


def flagship_definition() -> Path:
    """The flagship definition shipped with pdcaflow."""
    return Path(__file__).resolve().parents[2] / "definitions" / FLAGSHIP


def demo(
    model_name: Annotated[str, typer.Option("--model", "-m", help="the model to run: retail (the seven-step "
                                            "flagship), service-system (the nine-element system) or complaints "
                                            "(complaint handling alone)")] = "retail",
    customers: Annotated[int | None, typer.Option(min=50, max=1_000_000, help="customers in the generated world "
                                                  "[default: 5000 retail, 2000 water brand]")] = None,
    cycles: Annotated[int, typer.Option("--cycles", "-n", min=1, max=120, help="cycles to run (a month each for "
                                        "retail, a quarter each for the water brand)")] = 6,
    seed: Annotated[int, typer.Option(help="seed of the generated world (same seed, same world)")] = 7,
    directory: Annotated[Path | None, typer.Option("--dir", help="where the world, the work files and the audit "
                                                   "store go [default: pdca-demo, pdca-demo-service-system, "
                                                   "pdca-demo-complaints]")] = None,
    actor: Annotated[str | None, typer.Option(help="who runs it [default: $PDCA_ACTOR or the OS user]")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="also list decisions that fired without changing the "
                                                         "plan")] = False,
) -> None:
    """Run a shipped model cycle by cycle on a generated sample world.

    Models: retail (the seven-step flagship on a city of retail customers, a month a cycle; the default),

    service-system (the nine-element system of a bottled-water brand with its complaint sub-process, a quarter a cycle),

    complaints (complaint handling on its own, on the same brand's complaints, a quarter a cycle).

    The worlds are simulations for demonstration (docs/sample-world.md, docs/water-world.md).

    Prints each cycle's KPIs and decisions, then what changed the plan and what it did to the KPIs.
    """
    model = model_named(model_name)
    if model is None:
        fail(f"there is no demo model '{model_name}'; the models are: {model_names()}", ExitCode.BAD_INPUT)
    customers = customers or model.customers
    directory = directory or Path(model.default_dir)
    definition = _prepare(model, directory.resolve(), customers, seed)
    validated = validated_one(definition)  # the demo's copy may have been edited: check it before anything runs
    os.chdir(directory.resolve())  # the definition's sources, the work files, the store and Prefect's home
    quiet_prefect()
    results = _run_cycles(validated, cycles, directory, model, actor=resolve_actor(actor),
                          reason=f"pdca demo: {model.name} model, sample world of {customers} customers, seed {seed}",
                          show_all=show_all)
    for renderable in closing_summary(results, labels_of(validated.definition), show_all=show_all):
        out.print(renderable)
    sentence, commands = closing_hint(directory, model.process_id).split("\n", 2)[1:]
    out.print(f"\n{sentence}", markup=False, soft_wrap=False)  # the sentence wraps at 80 columns
    out.print(commands, markup=False)  # one command a line, never wrapped: each can be copied whole


def closing_hint(directory: Path, process_id: str = "retail-customer-service") -> str:
    """Where the audit trail is and the commands that review it, each one that works when pasted."""
    pdca = pdca_command()
    return (f"\nThe audit trail is in {directory / '.pdca' / 'pdca.db'}. Review it with, for example:\n"
            f"  cd {shlex.quote(str(directory))}\n  {pdca} audit log --limit 20\n"
            f"  {pdca} audit kpis {process_id}")


def _run_cycles(definition: ValidatedDefinition, cycles: int, directory: Path, model: DemoModel, *, actor: str,
                reason: str, show_all: bool = False) -> list[dict[str, Any]]:
    """The demo's cycles with the live view, each one's KPIs and decisions printed when it completes."""
    # the store, the cycle and Prefect only once the demo runs (start-up speed of the other commands)
    from pdcaflow.engine.cli.cycles import ProgressView
    from pdcaflow.engine.runtime.approval_gate import ApprovalSettings
    from pdcaflow.engine.runtime.cycle import CycleFailedError
    from pdcaflow.flows.runner import run_cycles

    view = ProgressView(out, show_all=show_all)
    results: list[dict[str, Any]] = []

    def finished(result: dict[str, Any]) -> None:
        results.append(result)
        view.finish_cycle(result)

    try:
        run_cycles(definition, cycles, actor=actor, db_url=None, observer=view.update, on_cycle=view.start_cycle,
                   on_result=finished, reason=reason, approvals=ApprovalSettings(auto_answer=DEMO_APPROVAL),
                   before_task=hook(model))  # the sample world simulates each period before it is read
    except KeyboardInterrupt:
        view.stop()
        err.print("interrupted: run the same command again to resume the unfinished cycle", markup=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except (CycleFailedError, PdcaError) as exc:
        view.stop()
        fail(str(exc), ExitCode.FAILED, then=f"The cycle is recorded as failed; `{pdca_command()} demo --model "
                                             f"{model.name} --dir {directory}` again resumes it.")
    finally:
        view.stop()
    return results


def _prepare(model: DemoModel, directory: Path, customers: int, seed: int) -> Path:
    """Copy the model's definitions and generate its world, unless the directory already has them."""
    shipped = flagship_definition().parent
    for name in model.definitions:
        if not (shipped / name).is_file():
            fail(f"the definition {shipped / name} is missing from this installation")
    try:
        _other_model_refused(model, directory)
        directory.mkdir(parents=True, exist_ok=True)
        marker = directory / DEMO_MARKER
        marker.parent.mkdir(exist_ok=True)
        marker.write_text(model.name + "\n", encoding="utf-8")
        for name in model.definitions:
            if not (directory / name).exists():
                shutil.copyfile(shipped / name, directory / name)
        config = directory / CONFIG_FILE  # makes the directory the project root, wherever it is
        if not config.exists():
            config.write_text(DEMO_CONFIG, encoding="utf-8")
        world = directory / model.world
        info = world_info(model, world)
        if info is not None:
            if (info.get("customers"), info.get("seed")) != (customers, seed):
                fail(f"{directory} already holds a world of {info.get('customers')} customers with seed "
                     f"{info.get('seed')}; use another --dir, or the same --customers and --seed to continue it")
            out.print(f"continuing in {directory} (world of {customers} customers, seed {seed})", markup=False,
                      soft_wrap=False)
        else:
            with out.status(f"generating the sample world for {model.title} ({customers} customers, seed {seed}) ..."):
                generate(model, world, customers=customers, seed=seed)
            out.print(f"generated the sample world in {world}", markup=False, soft_wrap=False)
    except OSError as exc:
        fail(f"cannot prepare the demo directory {directory}: {exc.strerror or exc}")
    return directory / model.definitions[0]


def _other_model_refused(model: DemoModel, directory: Path) -> None:
    """One model a demo directory: its store's cycles and its world belong to that model."""
    marker = directory / DEMO_MARKER
    named = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    others = ([MODELS[named]] if named in MODELS and named != model.name else
              [] if named == model.name else
              [other for other in MODELS.values() if other.name != model.name
               and (directory / other.definitions[0]).is_file()])  # a demo folder from before the marker
    if others:
        fail(f"{directory} holds the {others[0].name} demo; run the {model.name} model in another --dir "
             f"(default: {model.default_dir})", ExitCode.BAD_INPUT)


def closing_summary(results: Sequence[Mapping[str, Any]], labels: KpiLabels | None = None, *,
                    show_all: bool = False) -> list[Any]:
    """Each KPI cycle by cycle (its title, its decimals, the definition's order), then the policies that changed
    the plan and when (decisions that changed nothing only with ``show_all``)."""
    if not results:
        return []
    labels, last = labels or KpiLabels(), results[-1]
    # too many cycles for the page: the table is split into parts that each repeat the KPI column; a KPI's
    # title wraps between words, its id (one word) stays whole, a number is never cut
    table = FitTable([Column("KPI"), *(Column(f"c{result['cycle']}", Kind.NUMBER) for result in results),
                      Column("target", Kind.NUMBER), Column("change", Kind.NUMBER)],
                     title=f"KPIs over {len(results)} cycle(s) (green met, red missed; change: first to last)",
                     key=1, split=True)
    for kpi_id in labels.ordered(last.get("kpi_values", {})):
        label = labels.of(kpi_id, last["kpi_values"][kpi_id])
        cells = []
        values = []
        for result in results:
            value = result.get("kpi_values", {}).get(kpi_id, {})
            actual = value.get("actual")
            values.append(actual)
            style = {"met": "green", "missed": "red"}.get(str(value.get("status")), "yellow")
            cells.append(Text(label.value(actual), style=style))
        known = [v for v in values if isinstance(v, int | float)]
        movement = label.change(known[-1] - known[0]) if len(known) >= 2 else "-"
        target = next((row["target"] for row in last["kpis"] if row["kpi"] == kpi_id), "-")
        table.add_row(label.name, *cells, target, movement)
    open_actions = last.get("open_actions", [])
    owners = sorted({str(action.get("owner")) for action in open_actions})
    actions_line = (f"{len(open_actions)} corrective action(s) open after cycle {last['cycle']}"
                    + (f" (owners: {', '.join(owners)})" if owners else ""))
    return [table, plan_changes(results, show_all=show_all), paragraph(actions_line)]


def plan_changes(results: Sequence[Mapping[str, Any]], *, show_all: bool = False) -> Any:
    """"What changed the plan": each cycle's policies and their effects; those that changed nothing are
    counted under it, and listed only with ``show_all``."""
    changes = FitTable([Column("cycle", Kind.NUMBER), Column("policy", Kind.ID), Column("effect")],
                       title="What changed the plan", key=2)
    hidden = 0
    for result in results:
        grouped: dict[str, list[str]] = {}
        for decision in result.get("decisions", []):
            if not decision.get("effects") and not show_all:
                hidden += 1
                continue
            grouped.setdefault(str(decision.get("policy")), []).extend(decision.get("effects", []) or ["(no effect)"])
        for policy, effects in grouped.items():
            shown = effects if len(effects) <= 2 else [effects[0], f"... and {len(effects) - 1} more like it"]
            for effect in shown:
                changes.add_row(str(result["cycle"]), policy, str(effect))
    table: Any = changes if changes.row_count else "No policy changed the plan."
    return Group(table, Text(no_effect_note(hidden))) if hidden else table
