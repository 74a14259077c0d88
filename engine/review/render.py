"""Readable tables for `pdca audit log`, `kpis`, `versions` and `diff` (rich renderables)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from pdcaflow.engine.review.cycle_report import target_text
from pdcaflow.engine.review.events import summary
from pdcaflow.engine.review.kpi_labels import KpiLabel, KpiLabels
from pdcaflow.engine.review.kpis import met_summary
from pdcaflow.engine.review.layout import Column, FitTable, Kind, paragraph
from pdcaflow.engine.review.periods import with_period
from pdcaflow.engine.review.versions import Change, VersionInfo
from pdcaflow.engine.store.tables import AuditEvent

STATUS_STYLE = {"met": "green", "missed": "red", "no_data": "yellow", "completed": "green", "failed": "bold red",
                "running": "cyan", "skipped": "yellow"}


def when(moment: datetime | None) -> str:
    """A stored instant as ``2026-11-22 17:36:20`` (UTC; the table headers say so)."""
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def styled(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def log_table(events: list[AuditEvent], title: str) -> FitTable:
    """One row per event: seq, time, actor, kind, where (process #cycle · step), and what it records and why."""
    table = FitTable([Column("seq", Kind.NUMBER), Column("at (UTC)", Kind.ID), Column("actor", Kind.ID),
                      Column("kind", Kind.ID), Column("where"), Column("what · why")],
                     title=title, key=5, box=box.SIMPLE_HEAD, pad_edge=False)
    for event in events:
        where = event.process_id + (f" #{event.cycle_number}" if event.cycle_number is not None else "") + \
            (f" · {event.step_id}" if event.step_id else "")
        what = Text(summary(event.kind, event.payload))
        if event.reason:
            what.append(f"\nwhy: {event.reason}", style="italic")
        table.add_row(str(event.seq), when(event.at), event.actor, event.kind, where, what)
    return table


def kpi_tables(process_id: str, history: dict[str, list[dict[str, Any]]], labels: KpiLabels | None = None,
               periods: Mapping[int, str] | None = None) -> list[RenderableType]:
    """One table per KPI, in the definition's order: each cycle (with its period) and its actual against the
    target in force, met or missed, change; titles and decimals from ``labels``."""
    if not history:
        return [f"{process_id}: no KPI results recorded yet"]
    labels, periods = labels or KpiLabels(), periods or {}
    out: list[RenderableType] = []
    for kpi_id in labels.ordered(history):
        points = history[kpi_id]
        unit = points[-1]["unit"]
        label = labels.of(kpi_id, points[-1])
        table = FitTable([Column("cycle", Kind.NUMBER), Column("version", Kind.ID),
                          Column("finished (UTC)", Kind.ID), Column("actual", Kind.NUMBER),
                          Column("target", Kind.ID), Column("status", Kind.ID), Column("change", Kind.NUMBER),
                          Column("signals")],
                         title=f"{process_id} · {label.full_name}" + (f" ({unit})" if unit else ""),
                         caption=met_summary(points))
        for point in points:
            table.add_row(with_period(point["cycle"], periods), f"v{point['version']}" if point["version"] else "-",
                          when(point["finished_at"]), label.value(point["actual"]), label.target(point["target"]),
                          styled(point["status"]), label.change(point["delta"]), ", ".join(point["signals"]))
        out.append(table)
    return out


def versions_table(process_id: str, versions: list[VersionInfo]) -> FitTable:
    table = FitTable([Column("version", Kind.ID), Column("sha256", Kind.ID), Column("first run (UTC)", Kind.ID),
                      Column("by", Kind.ID), Column("cycles", Kind.NUMBER), Column("first", Kind.NUMBER),
                      Column("last", Kind.NUMBER), Column("lines", Kind.NUMBER)],
                     title=f"{process_id} · definition versions",
                     caption="`pdca audit diff PROCESS V1 V2` compares two of them")
    for version in versions:
        table.add_row(f"v{version.number}", version.sha256[:12], when(version.first_seen_at), version.actor or "-",
                      str(version.cycles), number(version.first_cycle), number(version.last_cycle),
                      str(len(version.yaml_text.splitlines())))
    return table


def diff_renderables(process_id: str, old: VersionInfo, new: VersionInfo, changes: list[Change],
                     effect: dict[str, dict[str, list[dict[str, Any]]]], unified: list[str],
                     labels: KpiLabels | None = None) -> list[RenderableType]:
    """The semantic summary, the KPI results before and after, then the unified YAML diff."""
    header = (f"[bold]{process_id}[/]: v{old.number} ({old.sha256[:12]}, {_span(old)}) -> "
              f"v{new.number} ({new.sha256[:12]}, {_span(new)})")
    out: list[RenderableType] = [paragraph(header)]
    if changes:
        table = FitTable([Column("change"), Column("name", Kind.ID), Column("before"), Column("after")],
                         title="What changed", key=2)
        for change in changes:
            table.add_row(change.what, change.name, _value(change.before), _value(change.after))
        out.append(table)
    else:
        out.append("No semantic change (comments or formatting only)." if unified else "The two versions are identical.")
    out.append(_effect_table(old, new, effect, labels or KpiLabels()))
    if unified:
        out.append(Group(*(_diff_line(line) for line in unified)))
    return out


def _effect_table(old: VersionInfo, new: VersionInfo, effect: dict[str, dict[str, list[dict[str, Any]]]],
                  labels: KpiLabels) -> RenderableType:
    if not effect:
        return "No KPI results in the cycles of either version."
    table = FitTable([Column("KPI"), Column(f"v{old.number} cycles", Kind.NUMBER), Column("met", Kind.NUMBER),
                      Column(f"last on v{old.number}"), Column(f"v{new.number} cycles", Kind.NUMBER),
                      Column("met", Kind.NUMBER), Column(f"first on v{new.number}")],
                     title="KPI results of the cycles before and after", key=1)
    for kpi_id in labels.ordered(effect):
        before, after = effect[kpi_id]["before"], effect[kpi_id]["after"]
        label = labels.of(kpi_id, (after or before or [{}])[-1])
        table.add_row(label.full_name, _cycles(before), _met(before), _point(before[-1] if before else None, label),
                      _cycles(after), _met(after), _point(after[0] if after else None, label))
    return table


def _point(point: dict[str, Any] | None, label: KpiLabel) -> Text:
    if point is None:
        return Text("-")
    text = Text(f"#{point['cycle']}: {label.in_text(point['actual'])} vs {label.target(point['target'])} ")
    text.append(point["status"], style=STATUS_STYLE.get(point["status"], ""))
    return text


def _cycles(points: list[dict[str, Any]]) -> str:
    if not points:
        return "-"
    first, last = points[0]["cycle"], points[-1]["cycle"]
    return str(first) if first == last else f"{first}-{last}"


def _met(points: list[dict[str, Any]]) -> str:
    return f"{sum(1 for p in points if p['status'] == 'met')}/{len(points)}" if points else "-"


def _span(version: VersionInfo) -> str:
    if not version.cycles:
        return "no cycles"
    return f"cycles {version.first_cycle}-{version.last_cycle}" if version.cycles > 1 else f"cycle {version.first_cycle}"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and set(value) <= {"min", "max"}:
        return target_text(value)
    return str(value)


def _diff_line(line: str) -> Text:
    style = ("bold" if line.startswith(("---", "+++")) else "green" if line.startswith("+")
             else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else "")
    return Text(line, style=style)
