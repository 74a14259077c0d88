"""`pdca audit show PROCESS CYCLE` as readable sections (rich renderables)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.text import Text

from pdcaflow.engine.review.cycle_report import target_text
from pdcaflow.engine.review.cycle_view import CycleView, flatten
from pdcaflow.engine.review.layout import Column, FitTable, Kind, paragraph
from pdcaflow.engine.review.readable import readable
from pdcaflow.engine.review.render import STATUS_STYLE, styled, when

_OUTPUT_LINES = 12  # of a step's outputs (the JSON log holds them all)


def cycle_renderables(view: CycleView) -> list[RenderableType]:
    """Header, plan inputs, steps, KPIs, decisions, actions, carry-over out, and carry-over in vs out."""
    return [_header(view), _plan(view), _steps(view), _kpis(view), _decisions(view), _actions(view),
            _carry_out(view), _changes(view), _footer(view)]


def _header(view: CycleView) -> RenderableType:
    cycle = view.cycle
    finished = cycle.finished_at
    duration = f" · {(finished - cycle.started_at).total_seconds():.1f} s" if finished else ""
    lines = [f"[bold]{cycle.process_id} · cycle {cycle.number}[/]" + (f" · {view.period}" if view.period else "") + " "
             f"[{STATUS_STYLE.get(cycle.status, '')}]{cycle.status}[/] · trigger {cycle.trigger} · "
             f"definition v{view.version_number} ({view.sha256[:12]})",
             f"started {when(cycle.started_at)} UTC · finished {when(finished)} UTC{duration} · "
             f"on {cycle.owner_host} pid {cycle.owner_pid}"
             + (f" · flow run {cycle.flow_run_id}" if cycle.flow_run_id else "")]
    for event in view.starts:
        verb = "started" if event.kind == "cycle.started" else "resumed"
        # people's words are text, not markup: a "[urgent]" must show, a "[/]" must not break the page
        lines.append(f"{verb} by [bold]{escape(event.actor)}[/] at {when(event.at)} UTC (seq {event.seq}): "
                     + (f"reason: {escape(event.reason)}" if event.reason else "[yellow]no reason recorded[/]"))
    if cycle.error:
        lines.append(f"[red]error: {escape(cycle.error)}[/]")
    return paragraph("\n".join(lines))


def _plan(view: CycleView) -> RenderableType:
    source = "recorded on its start event" if view.plan_recorded else \
        "rebuilt from the definition and the previous carry-over (not recorded by this older cycle)"
    came_from = view.carry_in.get("from_cycle")
    table = FitTable([Column("input"), Column("name", Kind.ID), Column("value")],
                     title=f"Plan inputs ({source}; carried over from "
                           + (f"cycle {came_from})" if came_from else "no earlier cycle)"), key=2)
    for name, value in flatten(view.carry_in.get("params", {})).items():
        table.add_row("param", name, readable(value))
    for kpi, target in view.carry_in.get("targets", {}).items():
        table.add_row("target", kpi, target_text(target))
    for action in view.carry_in.get("actions", []):
        table.add_row("open action", str(action.get("id")), f"{action.get('title')} ({action.get('owner')}, "
                                                           f"due {action.get('due')})")
    return table


def _steps(view: CycleView) -> RenderableType:
    if not view.steps:
        return "No step recorded."
    table = FitTable([Column("step", Kind.ID), Column("status", Kind.ID), Column("attempts", Kind.NUMBER),
                      Column("started (UTC)", Kind.ID), Column("seconds", Kind.NUMBER),
                      Column("outputs / error")], title="Steps", key=1)
    for step in view.steps:
        seconds = (step.finished_at - step.started_at).total_seconds() if step.started_at and step.finished_at else None
        detail = Text(step.error, style="red") if step.error else _outputs(view, step.step_id, step.output)
        table.add_row(step.step_id, styled(step.status), str(step.attempts), when(step.started_at),
                      "-" if seconds is None else f"{seconds:.2f}", detail)
    return table


def _kpis(view: CycleView) -> RenderableType:
    if not view.kpis:
        return "No KPI results."
    table = FitTable([Column("KPI"), Column("actual", Kind.NUMBER), Column("target", Kind.ID),
                      Column("status", Kind.ID), Column("change", Kind.NUMBER), Column("unit"), Column("signals")],
                     title="KPIs", key=1)
    by_id = {str(result["kpi"]): result for result in view.kpis}
    for kpi_id in view.labels.ordered(by_id):  # the definition's order
        result = by_id[kpi_id]
        label = view.labels.of(kpi_id, result)
        table.add_row(label.full_name, label.value(result.get("actual")), label.target(result.get("target")),
                      styled(str(result.get("status"))), label.change(result.get("delta")),
                      str(result.get("unit") or ""), ", ".join(result.get("signals") or []))
    return table


def _decisions(view: CycleView) -> RenderableType:
    if not view.decisions:
        return "No decisions."
    table = FitTable([Column("policy", Kind.ID), Column("fired", Kind.ID), Column("why"), Column("effects"),
                      Column("rule"), Column("on")],
                     title="Decisions (every policy tested, with the rule and the numbers it was tested on)",
                     key=1)
    for decision in view.decisions:
        measured = decision.get("kpi_result") or {}
        label = view.labels.of(str(decision.get("kpi")), measured)
        on = (f"{decision.get('kpi')} {label.in_text(measured.get('actual'))} vs "
              f"{label.target(measured.get('target'))} ({measured.get('status')})") if measured else (
            decision.get("kpi") or "-")
        table.add_row(decision["policy"], Text("yes", style="bold") if decision["fired"] else Text("no", style="dim"),
                      decision["reason"], "; ".join(decision.get("effects") or []) or "-",
                      readable(decision.get("rule")) if decision.get("rule") else "-", on)
    return table


def _actions(view: CycleView) -> RenderableType:
    if not view.actions_opened and not view.action_changes:
        return "No action opened or changed in this cycle."
    table = FitTable([Column("action", Kind.ID), Column("event", Kind.ID), Column("owner / by", Kind.ID),
                      Column("due / reason"), Column("title / change")], title="Actions", key=1)
    for action in view.actions_opened:
        table.add_row(str(action["id"]), "opened", str(action["owner"]), str(action["due"]), str(action["title"]))
    for event in view.action_changes:
        table.add_row(str(event.payload.get("action_key")), "status", event.actor, event.reason or "-",
                      f"{event.payload.get('from')} -> {event.payload.get('to')}")
    return table


def _carry_out(view: CycleView) -> RenderableType:
    if view.carry_out is None:
        return Text("No carry-over: the cycle did not complete (the next run resumes it).", style="yellow")
    table = FitTable([Column("output"), Column("name", Kind.ID), Column("value")],
                     title="Carry-over out (what the next cycle starts from)", key=2)
    for name, value in flatten(view.carry_out.get("params", {})).items():
        table.add_row("param", name, readable(value))
    for kpi, target in view.carry_out.get("targets", {}).items():
        table.add_row("target", kpi, target_text(target))
    for action in view.carry_out.get("actions", []):
        table.add_row("action", str(action.get("id")), f"{action.get('status', 'open')}: {action.get('title')}")
    return table


def _changes(view: CycleView) -> RenderableType:
    if view.carry_out is None:
        return ""
    if not view.changes:
        return "Carry-over in vs out: nothing changed (same params, targets and open actions)."
    table = FitTable([Column("change"), Column("name", Kind.ID), Column("in"), Column("out")],
                     title="Carry-over in vs out", key=2)
    for what, name, before, after in view.changes:
        shown = target_text if what == "target" else readable
        table.add_row(what, name, "-" if before is None else shown(before), "-" if after is None else shown(after))
    return table


def _footer(view: CycleView) -> RenderableType:
    if view.event_range is None:
        return "No events recorded for this cycle."
    first, last = view.event_range
    return paragraph(f"{view.event_count} events, seq {first}-{last}: `pdca audit log --process "
                     f"{view.cycle.process_id} --cycle {view.cycle.number} --limit 0` lists them")


def _outputs(view: CycleView, step_id: str, output: Any) -> Text:
    """A step's outputs, the first lines of them: the step's event in the JSON log holds them all."""
    lines = readable(output).splitlines()
    shown = Text("\n".join(lines[:_OUTPUT_LINES]))
    if len(lines) > _OUTPUT_LINES:
        shown.append(f"\n({len(lines) - _OUTPUT_LINES} more lines: `pdca audit log --process {view.cycle.process_id} "
                     f"--cycle {view.cycle.number} --step {step_id} --format json` shows them all)", style="dim")
    return shown
