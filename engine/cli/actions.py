"""`pdca actions list|show|update|close` and `pdca override`: people changing the record, each with a reason.

Every change needs ``--reason`` (and names its ``--actor``, default ``$PDCA_ACTOR`` or
the OS user) and is an audit event: an action's change is an ``action_update`` row
with its ``action.status`` event (``pdcaflow.engine.store.action_history``); an override is a
``plan.override`` event the next cycle applies (``pdcaflow.engine.runtime.action_cycle``). Exit codes:
0 done, 2 bad input (no reason, unknown action or process, a bad value; nothing is
recorded), 1 a change the action's status does not allow.

Like ``pdcaflow.engine.cli.audit``, nothing here imports the store at module level.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
import yaml

from pdcaflow.engine.cli.common import Db, ExitCode, fail, out, resolve_actor
from pdcaflow.engine.cli.hints import pdca_command
from pdcaflow.engine.review.layout import Column, FitTable, Kind

PERSON_STATUSES = ("in_progress", "done", "cancelled")
ACTION_STATUSES = ("open", "in_progress", "done", "verified", "ineffective", "cancelled")
# (pdcaflow.engine.store.tables.ACTION_STATUSES: the store, SQLAlchemy and the models load only when a command runs,
# because `pdca validate` imports pdcaflow.engine.cli.app and must stay fast; tests/engine/cli/test_cli_actions.py keeps them equal.)

actions_app = typer.Typer(help="Corrective actions: list them, show one's history, update or close them.",
                          no_args_is_help=True)
Actor = Annotated[str | None, typer.Option(help="who makes the change [default: $PDCA_ACTOR or the OS user]")]
Reason = Annotated[str | None, typer.Option(help="why (required; recorded with the change)")]


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        fail("a change to the record needs --reason TEXT: say why, e.g. --reason \"routes re-planned\"")
    return text


@actions_app.command("list")
def list_command(
    process: Annotated[str | None, typer.Option(help="only this process's actions")] = None,
    status: Annotated[list[str] | None, typer.Option(help="only actions in this status (repeatable) "
                                                     "[default: open, in_progress, done]")] = None,
    owner: Annotated[str | None, typer.Option(help="only actions this owner holds now")] = None,
    all_statuses: Annotated[bool, typer.Option("--all", help="every status, closed ones too")] = False,
    db: Db = None,
) -> None:
    """List corrective actions in their current state (the latest update's status, owner and due date)."""
    unknown = [name for name in status or () if name not in ACTION_STATUSES]
    if unknown:
        fail(f"unknown status {', '.join(unknown)}: use one of {', '.join(ACTION_STATUSES)}")
    wanted = None if all_statuses else tuple(status or ("open", "in_progress", "done"))
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import ReviewError, reading, require_process
    from pdcaflow.engine.store.action_history import list_actions

    try:
        with reading(db) as (_store, session):
            if process is not None:
                require_process(session, process)
            rows = list_actions(session, process_id=process, statuses=wanted, owner=owner)
    except ReviewError as exc:
        fail(str(exc))
    if not rows:
        out.print("No actions match.", markup=False)
        return
    out.print(actions_list_table(rows))


def actions_list_table(rows: list[dict[str, Any]], title: str = "Corrective actions") -> FitTable:
    """Actions as a table: id, status, owner, due, KPI, title."""
    # the id is what `pdca actions update` takes: whole on its line, never cut short
    table = FitTable([Column("action", Kind.ID), Column("status", Kind.ID), Column("owner", Kind.ID),
                      Column("due", Kind.ID), Column("KPI", Kind.ID), Column("title")], title=title, key=1)
    for row in rows:
        table.add_row(str(row["id"]), str(row["status"]), str(row["owner"]), str(row["due"]),
                      str(row.get("kpi") or "-"), str(row["title"]))
    return table


@actions_app.command("show")
def show_command(action: Annotated[str, typer.Argument(help="the action's id, e.g. 'retail#3/call_back'")],
                 db: Db = None) -> None:
    """Show one action and its whole history: every change, who made it, when, why, from -> to."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import ReviewError, reading
    from pdcaflow.engine.store.action_history import ActionStateError, action_history

    try:
        with reading(db) as (_store, session):
            state, history = action_history(session, action)
    except (ReviewError, ActionStateError) as exc:
        fail(str(exc))
    out.print(f"{state['id']}: {state['title']}", markup=False)
    out.print(f"  status {state['status']} · owner {state['owner']} · due {state['due']} · KPI "
              f"{state.get('kpi') or '-'} · opened in cycle {state['opened_cycle']} by policy {state['policy']}"
              + (f" · verified {state['verify_after']} cycle(s) after done" if state.get("verify_after") else ""),
              markup=False)
    if state.get("escalation"):
        out.print(f"  escalation chain: {' -> '.join(state['escalation'])}", markup=False)
    table = FitTable([Column("when (UTC)", Kind.ID), Column("who", Kind.ID), Column("by", Kind.ID),
                      Column("status"), Column("owner"), Column("due"), Column("why")], title="History", key=1)
    for change in history:
        table.add_row(change["at"][:19].replace("T", " "), change["actor"], change["source"],
                      _arrow(change["status"]), _arrow(change["owner"]), _arrow(change["due"]), change["reason"])
    out.print(table if history else "  no change since it was opened")


def _arrow(pair: list[str]) -> str:
    return pair[1] if pair[0] == pair[1] else f"{pair[0]} -> {pair[1]}"


@actions_app.command("update")
def update_command(
    action: Annotated[str, typer.Argument(help="the action's id")],
    status: Annotated[str | None, typer.Option(help="in_progress, done or cancelled")] = None,
    owner: Annotated[str | None, typer.Option(help="hand the action to this owner")] = None,
    due: Annotated[str | None, typer.Option(help="a new due date, YYYY-MM-DD")] = None,
    actor: Actor = None, reason: Reason = None, db: Db = None,
) -> None:
    """Change an action's status, owner or due date (one audit event, with your reason)."""
    if status is None and owner is None and due is None:
        fail("say what changes: --status, --owner and/or --due")
    if status is not None and status not in PERSON_STATUSES:
        fail(f"--status {status} is not one a person sets: use {', '.join(PERSON_STATUSES)} "
             "(verified and ineffective are ACT's verdicts)")
    if owner is not None and not owner.strip():
        fail("--owner cannot be empty")
    if due is not None:
        try:
            date.fromisoformat(due)
        except ValueError:
            fail(f"--due {due} is not a date: write YYYY-MM-DD")
    _change(action, actor, _reason(reason), db, status=status, owner=owner, due=due)


@actions_app.command("close")
def close_command(action: Annotated[str, typer.Argument(help="the action's id")],
                  actor: Actor = None, reason: Reason = None, db: Db = None) -> None:
    """Mark an action done (ACT verifies it after its policy's verify_after cycles)."""
    _change(action, actor, _reason(reason), db, status="done")


def _change(action: str, actor: str | None, reason: str, db: str | None, **change: Any) -> None:
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import ReviewError, opened
    from pdcaflow.engine.store.action_history import ActionStateError, record_action_update

    try:
        with opened(db) as store, store.transaction() as session:
            update = record_action_update(session, action, resolve_actor(actor), reason, **change)
            moved = (update.from_status, update.status, update.from_owner, update.owner, update.due)
    except ReviewError as exc:
        fail(str(exc))
    except ActionStateError as exc:
        unknown = str(exc).startswith("no action ")
        fail(f"{exc}" + (f"; `{pdca_command()} actions list --all` shows them" if unknown else ""),
             ExitCode.BAD_INPUT if unknown else ExitCode.FAILED)
    from_status, to_status, from_owner, to_owner, to_due = moved
    out.print(f"{action}: {_arrow([from_status, to_status])} · owner {_arrow([from_owner, to_owner])} · "
              f"due {to_due.isoformat()}", markup=False)


def override(
    process: Annotated[str, typer.Argument(help="the process id")],
    target: Annotated[str | None, typer.Option(help="override this KPI's target (with --min and/or --max)")] = None,
    minimum: Annotated[float | None, typer.Option("--min", help="the target's new min")] = None,
    maximum: Annotated[float | None, typer.Option("--max", help="the target's new max")] = None,
    param: Annotated[str | None, typer.Option(help="override a param: PATH=VALUE (VALUE read as YAML)")] = None,
    actor: Actor = None, reason: Reason = None, db: Db = None,
) -> None:
    """Override a KPI's target or a param for the next cycle by hand (an audit event, with your reason)."""
    text = _reason(reason)
    if (target is None) == (param is None):
        fail("name exactly one of --target KPI (with --min/--max) or --param PATH=VALUE")
    if target is not None and minimum is None and maximum is None:
        fail(f"--target {target} needs --min, --max or both")
    if minimum is not None and maximum is not None and minimum > maximum:
        fail(f"--min {minimum:g} is above --max {maximum:g}")
    if param is not None and "=" not in param:
        fail(f"--param {param}: write PATH=VALUE, e.g. --param visits_per_month.B=3")
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.runtime.action_cycle import OVERRIDE_EVENT
    from pdcaflow.engine.store.access import ReviewError, opened, require_process
    from pdcaflow.engine.store.audit import append_event, lock_head
    from pdcaflow.engine.store.repository import latest_carry_over

    try:
        with opened(db) as store, store.transaction() as session:
            lock_head(session)
            require_process(session, process)
            payload = _override_payload(latest_carry_over(session, process), process, target, minimum, maximum,
                                        param)
            event = append_event(session, kind=OVERRIDE_EVENT, actor=resolve_actor(actor), process_id=process,
                                 reason=text, payload=payload)
    except ReviewError as exc:
        fail(str(exc))
    out.print(f"recorded override (event {event.seq}): {_describe(payload)}; the next cycle of {process} starts "
              "from it", markup=False)


def _override_payload(carry: dict[str, Any] | None, process: str, target: str | None, minimum: float | None,
                      maximum: float | None, param: str | None) -> dict[str, Any]:
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import ReviewError

    if carry is None:
        raise ReviewError(f"process '{process}' has no completed cycle yet: there is no plan to override")
    if target is not None:
        targets = carry.get("targets", {})
        if target not in targets:
            raise ReviewError(f"process '{process}' has no KPI '{target}'; its KPIs: {', '.join(sorted(targets))}")
        was = targets[target]
        low = minimum if minimum is not None else was.get("min")
        high = maximum if maximum is not None else was.get("max")
        if low is not None and high is not None and low > high:
            raise ReviewError(f"target {target} would have min {low:g} above max {high:g}")
        return {"target": target, "min": low, "max": high, "was": was}
    assert param is not None
    path, _, raw = param.partition("=")
    value: Any = carry.get("params", {})
    for part in path.strip().split("."):
        if not isinstance(value, dict) or part not in value:
            raise ReviewError(f"process '{process}' has no param '{path.strip()}'")
        value = value[part]
    try:
        new = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ReviewError(f"--param {param}: the value does not read as YAML ({exc.__class__.__name__})") from exc
    if new is None:
        raise ReviewError(f"--param {param}: give a value after '='")
    return {"param": path.strip(), "value": new, "was": value}


def _describe(payload: dict[str, Any]) -> str:
    if "target" in payload:
        bounds = " and ".join(f"{name} {payload[name]:g}" for name in ("min", "max") if payload[name] is not None)
        return f"target {payload['target']}: {bounds}"
    return f"param {payload['param']} = {payload['value']!r} (was {payload['was']!r})"


__all__ = ["actions_app", "actions_list_table", "override"]
