"""A KPI's history as a control chart: the data (`chart_data`) and a text chart for the terminal.

The chart shows what CHECK recorded, nothing recomputed: each cycle's value, the
target in force that cycle, the control limits of the latest cycle whose control
chart was tested (centre line, 3-sigma limits, the 1 and 2 sigma lines) and, marked,
the cycles where a rule fired. ``pdcaflow.engine.review.kpi_plot`` draws the same data with
matplotlib; this module imports no plotting library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from pdcaflow.tasks.sdk.display import bound as bound_text
from pdcaflow.tasks.sdk.display import fixed

HEIGHT = 13
MAX_COLUMNS = 60
STYLES = {"X": "bold red", "o": "cyan", "-": "red", ".": "blue", "~": "green"}


@dataclass(frozen=True)
class ChartData:
    """One KPI's chart: points (cycles with a value), targets, limits and signals.

    ``limits``: centre, ucl, lcl, the 1 and 2 sigma lines (as recorded by CHECK), or
    ``None`` when no cycle had a tested control chart; ``note`` says where they come
    from or why there are none. ``signals``: cycle -> the rules that fired on it.
    """

    kpi: str
    unit: str
    cycles: list[int]
    values: list[float]
    target_min: list[float | None]
    target_max: list[float | None]
    limits: dict[str, float] | None
    note: str
    signals: dict[int, list[str]] = field(default_factory=dict)
    decimals: int | None = None  # the KPI's, for the limits and centre line named on the right; None: .4g


def chart_data(kpi_id: str, points: Sequence[Mapping[str, Any]], decimals: int | None = None) -> ChartData:
    """The chart of one KPI from its history (``pdcaflow.engine.review.kpis.kpi_history`` entries, oldest first);
    ``decimals``: the KPI's (:mod:`pdcaflow.engine.review.kpi_labels`)."""
    plotted = [point for point in points if point["status"] != "no_data" and point["actual"] is not None]
    tested = [point for point in points if (point.get("control") or {}).get("status") == "tested"]
    limits, note = None, _no_limits_note(points)
    if tested:
        control = tested[-1]["control"]
        limits = {key: float(value) for key, value in control["limits"].items()
                  if key in ("centre", "ucl", "lcl", "upper_1sigma", "lower_1sigma", "upper_2sigma", "lower_2sigma")}
        first, last = (control.get("limit_cycles") or [None, None])[:2]
        fixed = f"baseline of {control['baseline']} cycles, " if control.get("baseline") else ""
        note = (f"limits as recorded in cycle {tested[-1]['cycle']} ({fixed}from cycles {first}-{last}; "
                f"rules {', '.join(control.get('rules') or [])})")
    return ChartData(
        kpi=kpi_id, unit=str(points[-1].get("unit") or "") if points else "",
        cycles=[int(point["cycle"]) for point in plotted], values=[float(point["actual"]) for point in plotted],
        target_min=[point["target"].get("min") for point in plotted],
        target_max=[point["target"].get("max") for point in plotted],
        limits=limits, note=note,
        signals={int(point["cycle"]): list(point["signals"]) for point in plotted if point.get("signals")},
        decimals=decimals)


def _no_limits_note(points: Sequence[Mapping[str, Any]]) -> str:
    controls = [control for point in points if (control := point.get("control"))]
    if not controls:
        return "no control limits: the KPI has no `control:` in the definition it ran"
    return f"no control limits yet: {controls[-1].get('message') or 'too few values'}"


def terminal_chart(data: ChartData, height: int = HEIGHT) -> Text:
    """A text chart: values (``o``, ``X`` where a rule fired), limits (``-``), centre (``.``), target (``~``).

    The y axis on the left, the lines named on the right, cycle numbers below, then
    the signals and where the limits come from. At most the last 60 cycles.
    """
    title = f"{data.kpi}" + (f" ({data.unit})" if data.unit else "")
    if not data.values:
        return Text(f"{title}: no values recorded yet")
    start = max(0, len(data.values) - MAX_COLUMNS)
    cycles, values = data.cycles[start:], data.values[start:]
    mins, maxs = data.target_min[start:], data.target_max[start:]
    lines = dict(data.limits or {})
    low, high = _range([*values, *lines.values(), *(v for v in (*mins, *maxs) if v is not None)], height)
    row_of = _rows(low, high, height)
    grid = [[" "] * (3 * len(values)) for _ in range(height)]
    for name, char in (("upper_1sigma", ":"), ("lower_1sigma", ":"), ("upper_2sigma", ":"), ("lower_2sigma", ":"),
                       ("centre", "."), ("ucl", "-"), ("lcl", "-")):
        if name in lines:
            grid[row_of(lines[name])] = [char] * len(grid[0])
    for column, (low_target, high_target) in enumerate(zip(mins, maxs)):
        for bound in (low_target, high_target):
            if bound is not None:
                grid[row_of(bound)][3 * column:3 * column + 3] = ["~"] * 3
    for column, (cycle, value) in enumerate(zip(cycles, values)):
        crossed = [line for line in (lines.get("ucl"), lines.get("lcl"), mins[column], maxs[column]) if line is not None]
        grid[_point_row(value, crossed, row_of, height)][3 * column + 1] = "X" if cycle in data.signals else "o"
    labels = _labels(lines, mins[-1], maxs[-1], row_of, data.decimals)
    text = Text(f"{title}\n", style="bold")
    for row, cells in enumerate(grid):
        text.append(f"{_axis(high - (high - low) * row / (height - 1)):>9} |")
        label = labels.get(row, "")
        for cell in "".join(cells) if label else "".join(cells).rstrip():
            text.append(cell, style=STYLES.get(cell, "dim" if cell == ":" else ""))
        text.append(f" {label}\n" if label else "\n")
    text.append(" " * 10 + "+" + "-" * len(grid[0]) + "\n")
    text.append(" " * 11 + "".join(f"{cycle:>3}"[-3:] for cycle in cycles).rstrip() + "   cycle\n")
    text.append(_footer(data, len(data.values) - len(values)))
    return text


def _range(numbers: list[float], height: int = HEIGHT) -> tuple[float, float]:
    """The y range: the numbers plus one row of room above and below (for a point beyond a line)."""
    low, high = min(numbers), max(numbers)
    if high == low:
        return low - 1, high + 1
    pad = (high - low) / (height - 3)
    return low - pad, high + pad


def _point_row(value: float, lines: list[float], row_of: Any, height: int) -> int:
    """The value's row, kept strictly above every line it exceeds and below every line it is under.

    On a coarse grid a point just past the UCL (or a target) would round onto the
    line's own row and look inside it; a point past a line is never drawn on it.
    """
    row = row_of(value)
    for line in lines:
        if value > line:
            row = min(row, row_of(line) - 1)
        elif value < line:
            row = max(row, row_of(line) + 1)
    return max(0, min(height - 1, row))


def _rows(low: float, high: float, height: int) -> Any:
    def row_of(value: float) -> int:
        return max(0, min(height - 1, round((high - value) / (high - low) * (height - 1))))
    return row_of


def _labels(lines: Mapping[str, float], target_min: float | None, target_max: float | None, row_of: Any,
            decimals: int | None = None) -> dict[int, str]:
    def line(value: float) -> str:  # a limit or the centre line: with the KPI's decimals where known
        return _axis(value) if decimals is None else fixed(value, decimals)

    named = [(f"UCL {line(lines['ucl'])}", lines["ucl"]), (f"CL {line(lines['centre'])}", lines["centre"]),
             (f"LCL {line(lines['lcl'])}", lines["lcl"])] if lines else []
    named += [(f"target min {bound_text(value)}", value) for value in (target_min,) if value is not None]
    named += [(f"target max {bound_text(value)}", value) for value in (target_max,) if value is not None]
    labels: dict[int, str] = {}
    for label, value in named:
        row = row_of(value)
        labels[row] = f"{labels[row]}, {label}" if row in labels else label
    return labels


def _axis(value: float) -> str:
    return f"{value:.4g}"


def _footer(data: ChartData, hidden: int) -> str:
    legend = "o value  X signal  - control limits (3 sigma)  : 1 and 2 sigma  . centre line  ~ target"
    shown = [f"cycle {cycle}: {', '.join(rules)}" for cycle, rules in sorted(data.signals.items())]
    lines = [legend, "signals: " + ("; ".join(shown) if shown else "none"), data.note]
    if hidden:
        lines.append(f"(the first {hidden} cycle(s) with a value are not shown; `--format json` has them all)")
    return "\n".join(lines)
