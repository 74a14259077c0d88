"""`pdca audit show PROCESS CYCLE` as readable sections (rich renderables)."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from pdcaflow.engine.review.cycle_report import target_text
from pdcaflow.engine.review.cycle_view import CycleView, flatten
from pdcaflow.engine.review.render import STATUS_STYLE, styled, when
from pdcaflow.engine.store.audit import canonical_json

_OUTPUT_WIDTH = 90


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
        lines.append(f"{verb} by [bold]{event.actor}[/] at {when(event.at)} UTC (seq {event.seq}): "
                     + (f"reason: {event.reason}" if event.reason else "[yellow]no reason recorded[/]"))
    if cycle.error:
        lines.append(f"[red]error: {cycle.error}[/]")
    return "\n".join(lines)


def _plan(view: CycleView) -> RenderableType:
    source = "recorded on its start event" if view.plan_recorded else \
        "rebuilt from the definition and the previous carry-over (not recorded by this older cycle)"
    came_from = view.carry_in.get("from_cycle")
    table = Table(title=f"Plan inputs ({source}; carried over from "
                        + (f"cycle {came_from})" if came_from else "no earlier cycle)"), title_justify="left")
    for column in ("input", "name", "value"):
        table.add_column(column, overflow="fold")
    for name, value in flatten(view.carry_in.get("params", {})).items():
        table.add_row("param", name, _text(value))
    for kpi, target in view.carry_in.get("targets", {}).items():
        table.add_row("target", kpi, target_text(target))
    for action in view.carry_in.get("actions", []):
        table.add_row("open action", str(action.get("id")), f"{action.get('title')} ({action.get('owner')}, "
                                                           f"due {action.get('due')})")
    return table


def _steps(view: CycleView) -> RenderableType:
    if not view.steps:
        return "No step recorded."
    table = Table(title="Steps", title_justify="left")
    for column in ("step", "status", "attempts", "started (UTC)", "seconds", "outputs / error"):
        table.add_column(column, overflow="fold", justify="right" if column in ("attempts", "seconds") else "left")
    for step in view.steps:
        seconds = (step.finished_at - step.started_at).total_seconds() if step.started_at and step.finished_at else None
        detail = Text(step.error, style="red") if step.error else Text(_text(step.output, _OUTPUT_WIDTH))
        table.add_row(step.step_id, styled(step.status), str(step.attempts), when(step.started_at),
                      "-" if seconds is None else f"{seconds:.2f}", detail)
    return table


def _kpis(view: CycleView) -> RenderableType:
    if not view.kpis:
        return "No KPI results."
    table = Table(title="KPIs", title_justify="left")
    ids = [len(str(result["kpi"])) + 2 for result in view.kpis]  # `Title (id)` wraps; the `(id)` stays whole
    for column in ("KPI", "actual", "target", "status", "change", "unit", "signals"):
        table.add_column(column, justify="right" if column in ("actual", "change") else "left",
                         overflow="fold" if column == "KPI" else "ellipsis",
                         min_width=max(ids, default=None) if column == "KPI" else None)
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
    table = Table(title="Decisions (every policy tested, with the rule and the numbers it was tested on)",
                  title_justify="left")
    for column in ("policy", "fired", "why", "effects", "rule", "on"):
        table.add_column(column, overflow="fold")
    for decision in view.decisions:
        measured = decision.get("kpi_result") or {}
        label = view.labels.of(str(decision.get("kpi")), measured)
        on = (f"{decision.get('kpi')} {label.in_text(measured.get('actual'))} vs "
              f"{label.target(measured.get('target'))} ({measured.get('status')})") if measured else (
            decision.get("kpi") or "-")
        table.add_row(decision["policy"], Text("yes", style="bold") if decision["fired"] else Text("no", style="dim"),
                      decision["reason"], "; ".join(decision.get("effects") or []) or "-",
                      _text(decision.get("rule"), 60) if decision.get("rule") else "-", on)
    return table


def _actions(view: CycleView) -> RenderableType:
    if not view.actions_opened and not view.action_changes:
        return "No action opened or changed in this cycle."
    table = Table(title="Actions", title_justify="left")
    for column in ("action", "event", "owner / by", "due / reason", "title / change"):
        table.add_column(column, overflow="fold")
    for action in view.actions_opened:
        table.add_row(str(action["id"]), "opened", str(action["owner"]), str(action["due"]), str(action["title"]))
    for event in view.action_changes:
        table.add_row(str(event.payload.get("action_key")), "status", event.actor, event.reason or "-",
                      f"{event.payload.get('from')} -> {event.payload.get('to')}")
    return table


def _carry_out(view: CycleView) -> RenderableType:
    if view.carry_out is None:
        return Text("No carry-over: the cycle did not complete (the next run resumes it).", style="yellow")
    table = Table(title="Carry-over out (what the next cycle starts from)", title_justify="left")
    for column in ("output", "name", "value"):
        table.add_column(column, overflow="fold")
    for name, value in flatten(view.carry_out.get("params", {})).items():
        table.add_row("param", name, _text(value))
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
    table = Table(title="Carry-over in vs out", title_justify="left")
    for column in ("change", "name", "in", "out"):
        table.add_column(column, overflow="fold")
    for what, name, before, after in view.changes:
        shown = target_text if what == "target" else _text
        table.add_row(what, name, "-" if before is None else shown(before), "-" if after is None else shown(after))
    return table


def _footer(view: CycleView) -> str:
    if view.event_range is None:
        return "No events recorded for this cycle."
    first, last = view.event_range
    return (f"{view.event_count} events, seq {first}-{last}: `pdca audit log --process {view.cycle.process_id} "
            f"--cycle {view.cycle.number} --limit 0` lists them")


def _text(value: Any, width: int | None = None) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"
