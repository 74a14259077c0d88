"""`pdca audit ...`: review the audit trail from the command line (the queries live in pdcaflow.engine.review).

Who changed what, when, why, and what it did to the KPIs; whether the record is
intact. Exit codes as everywhere: 0 ok, 1 the trail does not verify (or the store
failed), 2 bad input (an unknown process, cycle or version, a bad date, a missing
or corrupt export). Nothing here imports the store or SQLAlchemy at module level:
``pdca validate`` imports this module and must stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pdcaflow.engine.cli.common import Db, ExitCode, choice, err, fail, one_line_errors, out, resolve_actor

LOG_FORMATS = ("table", "json", "jsonl", "csv")

audit_app = typer.Typer(help="Review the audit trail: who changed what, when, why, and what it did to the KPIs; "
                             "verify it was not edited; export it.", no_args_is_help=True)
Process = Annotated[str, typer.Argument(help="a process id (`pdca status` lists them)")]


@audit_app.command("log")
def log(
    process: Annotated[str | None, typer.Option(help="only this process")] = None,
    cycle: Annotated[int | None, typer.Option(min=1, help="only this cycle number")] = None,
    step: Annotated[str | None, typer.Option(help="only this step id")] = None,
    kind: Annotated[str | None, typer.Option(help="only this kind, e.g. decision; 'step.*' for a prefix")] = None,
    actor: Annotated[str | None, typer.Option(help="only events by this actor")] = None,
    since: Annotated[str | None, typer.Option(
        help="from this ISO date or datetime (UTC unless an offset is given)")] = None,
    until: Annotated[str | None, typer.Option(help="up to this ISO date (the whole day) or datetime")] = None,
    limit: Annotated[int, typer.Option(min=0, help="the last N matching events; 0 = all")] = 50,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl or csv")] = "table",
    db: Db = None,
) -> None:
    """The events that match, oldest first: who, when, what kind, which process/cycle/step, why, and what."""
    choice(output_format, LOG_FORMATS)
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.events import EventFilter, check_filter, last_events, parse_moment, stream_events
    from pdcaflow.engine.review.event_records import event_record, write_csv, write_json, write_jsonl

    with one_line_errors():
        wanted = EventFilter(process, cycle, step, kind, actor, parse_moment(since, "--since"),
                             parse_moment(until, "--until", end=True))
        with reading(db) as (_store, session):
            check_filter(session, wanted)
            if output_format == "table":
                # start-up speed: the table renderer loads only for --format table
                from pdcaflow.engine.review.render import log_table

                events = last_events(session, wanted, limit)
                scope = ", ".join(f"{name} {value}" for name, value in (
                    ("process", process), ("cycle", cycle), ("step", step), ("kind", kind), ("actor", actor),
                    ("since", since), ("until", until)) if value is not None) or "all processes"
                out.print(log_table(events, f"Audit log · {scope}"))
                if not events:
                    out.print("no events match", markup=False)
                elif limit and len(events) == limit:
                    out.print(f"the last {limit} matching events; --limit 0 shows all", markup=False)
                return
            chosen = stream_events(session, wanted) if limit == 0 else iter(last_events(session, wanted, limit))
            records = (event_record(event) for event in chosen)
            writer = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv}[output_format]
            writer(records, sys.stdout)


@audit_app.command("show")
def show(process: Process, cycle: Annotated[int, typer.Argument(min=1, help="the cycle number")], db: Db = None) -> None:
    """One cycle, whole: plan inputs, each step, the KPIs, the decisions and why, the carry-over in vs out."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.cycle_view import load_cycle
    from pdcaflow.engine.review.render_cycle import cycle_renderables

    with one_line_errors(), reading(db) as (_store, session):
        for renderable in cycle_renderables(load_cycle(session, process, cycle)):
            out.print(renderable)


@audit_app.command("kpis")
def kpis(
    process: Process,
    kpi: Annotated[str | None, typer.Option(help="only this KPI")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table, json or csv")] = "table",
    chart: Annotated[bool, typer.Option("--chart", help="draw each KPI's history: target, control limits, "
                                                        "signals")] = False,
    out_path: Annotated[Path | None, typer.Option("--out", help="with --chart: write FILE.png, FILE.svg or "
                                                                "one PNG per KPI into a folder")] = None,
    db: Db = None,
) -> None:
    """Each KPI across cycles: actual vs the target in force, met or missed, change, control-chart signals."""
    choice(output_format, ("table", "json", "csv"))
    if (chart or out_path is not None) and output_format != "table":
        fail("--chart draws charts; leave out --format json/csv")
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.kpi_labels import process_labels
    from pdcaflow.engine.review.kpis import kpi_history
    from pdcaflow.engine.review.periods import cycle_periods

    with one_line_errors(), reading(db) as (_store, session):
        history = kpi_history(session, process, kpi)
        labels, periods = process_labels(session, process), cycle_periods(session, process)
    if chart or out_path is not None:
        with one_line_errors():
            _kpi_charts(process, history, out_path, labels)
        return
    if output_format == "table":
        # start-up speed: the table renderer loads only for --format table
        from pdcaflow.engine.review.render import kpi_tables

        for renderable in kpi_tables(process, history, labels, periods):
            out.print(renderable)
        return
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review.event_records import write_csv, write_json
    from pdcaflow.engine.store.audit import canonical_at

    rows = [{"kpi": kpi_id, **point, "finished_at": canonical_at(point["finished_at"]) if point["finished_at"] else None,
             "target_min": point["target"]["min"], "target_max": point["target"]["max"]}
            for kpi_id, points in history.items() for point in points]
    if output_format == "json":
        write_json(({k: v for k, v in row.items() if k not in ("target_min", "target_max")} for row in rows),
                   sys.stdout)
    else:
        write_csv(rows, sys.stdout, ("kpi", "cycle", "version", "finished_at", "actual", "target_min", "target_max",
                                     "status", "delta", "unit", "signals"))


def _kpi_charts(process: str, history: dict[str, list[dict[str, Any]]], out_path: Path | None, labels: Any) -> None:
    # start-up speed: the charts load only when asked for
    from pdcaflow.engine.review.kpi_chart import chart_data, terminal_chart

    charts = [chart_data(kpi_id, history[kpi_id], labels.of(kpi_id, history[kpi_id][-1]).places)
              for kpi_id in labels.ordered(history)]
    if not charts:
        out.print(f"{process}: no KPI results recorded yet", markup=False)
    elif out_path is None:
        for data in charts:
            out.print(terminal_chart(data), "")
    else:
        # start-up speed: the PNG/SVG writer (matplotlib) loads only with --out
        from pdcaflow.engine.review.kpi_plot import write_charts

        for path in write_charts(process, charts, out_path):
            out.print(f"wrote {path}", markup=False)


@audit_app.command("versions")
def versions(process: Process, db: Db = None) -> None:
    """The definition versions a process ran (exact YAML, sha256), with their first and last cycle."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.render import versions_table
    from pdcaflow.engine.review.versions import list_versions

    with one_line_errors(), reading(db) as (_store, session):
        out.print(versions_table(process, list_versions(session, process)))


@audit_app.command("diff")
def diff(
    process: Process,
    old: Annotated[str, typer.Argument(help="a version: 1, v1, or a sha256 prefix")],
    new: Annotated[str, typer.Argument(help="the other version")],
    db: Db = None,
) -> None:
    """What changed between two definition versions (steps, targets, params, policies), the KPI results of the
    cycles before and after, and the unified YAML diff."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.render import diff_renderables
    from pdcaflow.engine.review.kpi_labels import labels_from_yaml
    from pdcaflow.engine.review.versions import kpi_effect, list_versions, resolve, semantic_diff, unified_diff

    with one_line_errors(), reading(db) as (_store, session):
        known = list_versions(session, process)
        before, after = resolve(known, old, process), resolve(known, new, process)
        renderables = diff_renderables(process, before, after, semantic_diff(before.yaml_text, after.yaml_text),
                                       kpi_effect(session, before, after), unified_diff(before, after, process),
                                       labels_from_yaml(after.yaml_text))
    for renderable in renderables:
        out.print(renderable)


@audit_app.command("export")
def export(
    out_dir: Annotated[Path, typer.Option("--out", help="a new or empty folder")],
    output_format: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv")] = "jsonl",
    actor: Annotated[str | None, typer.Option(help="who exports [default: $PDCA_ACTOR or the OS user]")] = None,
    db: Db = None,
) -> None:
    """The whole trail (events and tables) as files, with a manifest of counts, the head hash and file sha256s;
    `pdca audit verify --export DIR` checks it again without the database."""
    choice(output_format, ("jsonl", "csv"))
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.export import export_trail
    from pdcaflow.engine.review.signed import store_signed_log

    with one_line_errors(), reading(db) as (store, session):
        log = store_signed_log(store.url, None, None)
        manifest = export_trail(session, out_dir, output_format, actor=resolve_actor(actor), store=store.display_url,
                                signed=log)
    events, verified = manifest["events"], manifest["store_verify"]
    out.print(f"exported {events['count']:,} events and {len(manifest['files']) - 1} tables to {out_dir}", markup=False)
    out.print(f"head seq {events['head_seq']} hash {events['head_hash']}", markup=False)
    if not verified["ok"]:
        err.print(f"warning: the store does not verify (seq {verified['first_bad_seq']}: {verified['what_differs']}); "
                  "the export holds the trail as it is, and the manifest says so", markup=False)
        raise typer.Exit(ExitCode.FAILED)


@audit_app.command("verify")
def verify(
    checkpoint: Annotated[Path | None, typer.Option(help="a checkpoint file (`pdca audit checkpoint --out`): the log "
                                                         "must still reach each checkpoint unchanged")] = None,
    export_dir: Annotated[Path | None, typer.Option("--export", help="verify this export folder instead of the "
                                                                     "store")] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="the public key of the signed "
                                                                         "checkpoints [default: the project "
                                                                         "config's]")] = None,
    signed_dir: Annotated[Path | None, typer.Option("--checkpoints", help="the signed checkpoint log [default: "
                                                                          "the config's, beside the store, or the "
                                                                          "export's]")] = None,
    db: Db = None,
) -> None:
    """Recompute the hash chain and check the signed checkpoints: print the count, the head hash and the events
    no checkpoint covers yet (exit 0), or the first broken sequence number and what differs (exit 1)."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review.checkpoint import read_checkpoints
    from pdcaflow.engine.review.signed import export_signed_log, signed_lines, store_signed_log, verify_signed_store

    with one_line_errors():
        checkpoints = read_checkpoints(checkpoint) if checkpoint is not None else []
        if export_dir is not None:
            _verify_export(export_dir, checkpoints, export_signed_log(export_dir, public_key, signed_dir))
            return
        # start-up speed: the store (SQLAlchemy) loads only when the store is verified
        from pdcaflow.engine.store.access import reading

        with reading(db) as (store, session):
            log = store_signed_log(store.url, public_key, signed_dir)
            report = verify_signed_store(session, log, checkpoints)
            where = store.display_url
    _print_report(report, where, len(checkpoints), rows=True)
    if not report.ok:
        raise typer.Exit(ExitCode.FAILED)
    for line in signed_lines(report, log):
        out.print(line, markup=False)


@audit_app.command("checkpoint")
def checkpoint(
    out_file: Annotated[Path | None, typer.Option("--out", help="append the checkpoint to this file (JSON lines) "
                                                                "instead of printing it")] = None,
    actor: Annotated[str | None, typer.Option(help="who takes it [default: $PDCA_ACTOR or the OS user]")] = None,
    db: Db = None,
) -> None:
    """Verify the chain and export its head (event count and last hash), to keep outside the database: a later
    truncation of the log then fails `pdca audit verify --checkpoint FILE`."""
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.store.access import reading
    from pdcaflow.engine.review.checkpoint import append_checkpoint, checkpoint_record
    from pdcaflow.engine.store.audit import canonical_json
    from pdcaflow.engine.store.verify import verify_chain

    with one_line_errors():
        with reading(db) as (store, session):
            report = verify_chain(session)
            where = store.display_url
        if not report.ok:
            _print_report(report, where, 0, rows=True)
            fail("no checkpoint taken: the chain does not verify", ExitCode.FAILED)
        record = checkpoint_record(report, actor=resolve_actor(actor), store=where)
        if out_file is None:
            out.print(canonical_json(record), markup=False)
            return
        append_checkpoint(record, out_file)
    out.print(f"checkpoint seq {record['seq']} hash {record['hash']} appended to {out_file}", markup=False)


def _verify_export(folder: Path, checkpoints: list[Any], log: Any) -> None:
    # start-up speed: the store (SQLAlchemy) loads only when this runs
    from pdcaflow.engine.review.export import verify_export
    from pdcaflow.engine.review.signed import signed_lines

    check = verify_export(folder, checkpoints, log)
    for problem in check.problems:
        out.print(f"file problem: {problem}", markup=False)
    _print_report(check.report, f"export {folder}", len(checkpoints), rows=False)
    if check.report.ok:
        out.print(f"matches the manifest's head (exported {check.manifest.get('exported_at')} from "
                  f"{check.manifest.get('store')})", markup=False)
        for line in signed_lines(check.report, log):
            out.print(line, markup=False)
    if not check.ok:
        raise typer.Exit(ExitCode.FAILED)


def _print_report(report: Any, where: str, checkpoints: int, *, rows: bool) -> None:
    if report.ok:
        out.print(f"ok: {report.count:,} events verified in {where}", markup=False)
        out.print(f"head seq {report.count} hash {report.head_hash}", markup=False)
        if checkpoints:
            out.print(f"checkpoints: {report.checkpoints} of {checkpoints} found unchanged in the log", markup=False)
        if rows:
            out.print("rows: cycles, step runs, carry-overs, KPI results, decisions, definition\n"
                      "      versions, actions and action updates match their events", markup=False)
        return
    at = f" at seq {report.first_bad_seq}" if report.first_bad_seq is not None else ""
    out.print(f"BROKEN{at}: {report.what_differs}", markup=False)
    if report.first_bad_seq is None or report.first_bad_seq <= report.count:  # the chain is whole; a row is not
        out.print(f"the chain of {report.count:,} events in {where} is intact; the row above differs from it",
                  markup=False)
        return
    out.print(f"{report.count:,} events verified before it in {where}; the last good hash is {report.head_hash}",
              markup=False)
