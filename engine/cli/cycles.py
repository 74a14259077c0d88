"""`pdca run` and `pdca status`: running cycles with a live view, and reading where a process stands.

``run`` imports ``flows`` (and so Prefect) only when it is called, so that the
definition commands of ``pdcaflow.engine.cli.app`` stay fast and Prefect-free.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text
from sqlalchemy import select

from pdcaflow.engine.cli.approve import approvals_table
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.runtime import approval_records
from pdcaflow.engine.runtime.action_cycle import follow_up_actions
from pdcaflow.engine.review.cycle_report import kpi_rows, no_effect_note
from pdcaflow.engine.review.kpi_labels import process_labels
from pdcaflow.engine.review.layout import Column, FitTable, Kind, paragraph
from pdcaflow.engine.review.periods import cycle_periods, with_period
from pdcaflow.engine.store.access import reading, require_process
from pdcaflow.engine.store.tables import Cycle
from pdcaflow.engine.store.repository import latest_carry_over, latest_cycle

_STATUS_STYLE = {"waiting": "dim", "running": "cyan", "completed": "green", "skipped": "yellow", "failed": "bold red",
                 "retrying": "yellow"}


class ProgressView:
    """The live table of one cycle's steps (phase, step, status), updated from Prefect's worker threads."""

    def __init__(self, console: Console, *, show_all: bool = False) -> None:
        self._console = console
        self._show_all = show_all  # decisions that changed nothing too
        self._rows: dict[str, list[str]] = {}
        self._title = ""
        self._lock = threading.Lock()
        self._live: Live | None = None

    def start_cycle(self, cycle_run: Any) -> None:
        self.stop()
        with self._lock:
            self._title = (f"{cycle_run.plan.process_id} · cycle {cycle_run.number}"
                           + (f" · {cycle_run.period}" if getattr(cycle_run, "period", None) else "")
                           + (" (resumed)" if cycle_run.resumed else ""))
            self._rows = {step.id: [step.phase.upper(), step.id, "waiting", ""] for step in cycle_run.plan.steps}
        self._live = Live(self._render(), console=self._console, refresh_per_second=8, transient=False)
        self._live.start()

    def update(self, step_id: str, status: str, detail: str) -> None:
        if status == "retrying":  # the whole reason on a line of its own (a retry wait can be long)
            self._console.print(detail, markup=False, soft_wrap=False)
            detail = detail.rsplit("; ", 1)[-1]  # the table keeps "retrying at HH:MM:SS (in ...), attempt n of m"
        with self._lock:
            if step_id in self._rows:
                self._rows[step_id][2:] = [status, detail]
        if self._live is not None:
            self._live.update(self._render())

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
            self._live = None
            self._console.print()

    def finish_cycle(self, result: Mapping[str, Any]) -> None:
        """End the live table of a completed cycle and print its KPIs and decisions under it."""
        self.stop()
        self._console.print(summary_renderable(result, show_all=self._show_all))

    def _render(self) -> FitTable:
        table = FitTable([Column("phase", Kind.ID), Column("step", Kind.ID), Column("status", Kind.ID),
                          Column("detail")], title=self._title, key=2, box=None, pad_edge=False)
        with self._lock:
            for phase, step, status, detail in self._rows.values():
                table.add_row(phase, step, Text(status, style=_STATUS_STYLE.get(status, "")), detail)
        return table


def kpi_table(rows: list[dict[str, str]], title: str) -> FitTable:
    # a KPI's title wraps between words, an id (one word) stays whole; the actions column counts them (the
    # actions table names them)
    table = FitTable([Column("KPI"), Column("actual", Kind.NUMBER), Column("target", Kind.ID),
                      Column("status", Kind.ID), Column("change", Kind.NUMBER), Column("unit"), Column("actions")],
                     title=title, key=1)
    for row in rows:
        style = {"met": "green", "missed": "red"}.get(row["status"], "yellow")
        table.add_row(row.get("name", row["kpi"]), row["actual"], row["target"], Text(row["status"], style=style),
                      row["change"], row["unit"], row.get("actions_brief", row.get("actions", "-")))
    return table


def decisions_table(decisions: list[Mapping[str, Any]], *, show_all: bool = False) -> FitTable | Group | str:
    """The policies that fired; those whose effects changed nothing only with ``show_all`` (a line counts them)."""
    fired = [d for d in decisions if d.get("fired")]
    shown = fired if show_all else [d for d in fired if d.get("effects")]
    hidden = no_effect_note(len(fired) - len(shown))
    if not shown:
        return "No policy fired." if not fired else hidden
    table = FitTable([Column("policy", Kind.ID), Column("why"), Column("effect")], title="Decisions", key=1)
    for decision in shown:
        table.add_row(str(decision.get("policy")), str(decision.get("reason")),
                      "; ".join(decision.get("effects", [])) or "(no effect)")
    return Group(table, Text(hidden)) if hidden else table


def summary_renderable(result: Mapping[str, Any], *, show_all: bool = False) -> Group:
    """A completed cycle's KPI table and the decisions ACT took."""
    title = f"KPIs · {result['process']} cycle {result['cycle']}" + (f" · {result['period']}"
                                                                     if result.get("period") else "")
    return Group(kpi_table(result["kpis"], title), decisions_table(result["decisions"], show_all=show_all),
                 actions_table(result.get("open_actions", [])))


def status_renderables(db_url: str | None, process_id: str | None) -> list[Any]:
    """The latest cycle of each process (or of one), with its KPI results and the open actions.

    Raises:
        ReviewError: no store there (none is created), its schema is not this pdcaflow's newest, or it has
            no process ``process_id`` (the message lists those it has).
    """
    with reading(db_url) as (_store, session):
        if process_id:
            require_process(session, process_id)
        processes = [process_id] if process_id else sorted(set(session.scalars(select(Cycle.process_id))))
        out: list[Any] = []
        for name in processes:
            cycle = latest_cycle(session, name)
            if cycle is None:
                out.append(f"[yellow]{name}: no cycles recorded[/]")
                continue
            shown = cycle.status
            if shown == "running" and approval_records.is_suspended(session, name, cycle.number):
                shown = "waiting for approval (suspended)"
            periods = cycle_periods(session, name)
            out.append(paragraph(f"[bold]{name}[/]: cycle {with_period(cycle.number, periods)} "
                                 f"[{_STATUS_STYLE.get(cycle.status, '')}]"
                                 f"{shown}[/] · started {cycle.started_at:%Y-%m-%d %H:%M} by {escape(cycle.actor)}"
                                 + (f"\n  error: {escape(cycle.error)}" if cycle.error else "")))
            carry = latest_carry_over(session, name)
            if carry:  # the actions as they are now: people may have updated them since
                current = {**carry, "actions": follow_up_actions(session, name)}
                out.append(kpi_table(kpi_rows(current, process_labels(session, name)),
                                     f"KPIs of cycle {with_period(carry.get('cycle'), periods)} (the last completed)"))
                out.append(actions_table(current["actions"]))
        waiting = approval_records.waiting_requests(session, process_id)
        if waiting:
            out.append(approvals_table(waiting))
        return out or ["no cycles recorded in this store"]


ACTIONS_SHOWN = 15


def actions_table(actions: list[Mapping[str, Any]], limit: int = ACTIONS_SHOWN) -> FitTable | str:
    """The actions still followed up; the first ``limit`` of them, policies' before complaints' ones."""
    if not actions:
        return "No open actions."
    ordered = sorted(actions, key=lambda action: action.get("complaint_id") is not None)
    hidden = len(ordered) - limit
    title = "Actions until closed (open, in progress, done waiting for verification)"
    if hidden > 0:
        title += f": {limit} of {len(ordered)} shown, `{pdca_command()} actions list` lists them all"
    # the id is what `pdca actions update` takes: whole on its line, never cut short
    table = FitTable([Column("action", Kind.ID), Column("status", Kind.ID), Column("owner", Kind.ID),
                      Column("due", Kind.ID), Column("title")], title=title, key=1)
    for action in ordered[:limit]:
        table.add_row(str(action.get("id")), str(action.get("status", "open")), str(action.get("owner")),
                      str(action.get("due")), str(action.get("title")))
    return table
