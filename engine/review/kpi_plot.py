"""KPI control charts as PNG or SVG files, drawn with matplotlib (in the base install).

Only ``pdca audit kpis --chart --out ...`` imports this module, and matplotlib is
imported inside :func:`write_charts`: no other command pays for it. The figures are
drawn on matplotlib's Agg canvas directly (no pyplot, no global state, no display).
The lines carry SVG ids (``ucl``, ``lcl``, ``centre``, ``target_min``,
``target_max``, ``values``, ``signals``) so tools can find them in an SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.review.kpi_chart import ChartData

IMAGE_SUFFIXES = (".png", ".svg")
INSTALL_HINT = "pip install 'pdcaflow[charts]'"


def output_paths(out: Path, process_id: str, kpi_ids: list[str]) -> dict[str, Path]:
    """KPI id -> the file its chart goes to.

    ``out`` ending in ``.png``/``.svg`` is the file (``NAME-KPI.png`` beside it when
    there are several KPIs); anything else is a folder (created when missing) that
    gets ``PROCESS-KPI.png`` per KPI.

    Raises:
        ReviewError: ``out`` has another suffix, or names a file where a folder is needed.
    """
    suffix = out.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if len(kpi_ids) == 1:
            return {kpi_ids[0]: out}
        return {kpi_id: out.with_name(f"{out.stem}-{kpi_id}{out.suffix}") for kpi_id in kpi_ids}
    if suffix and not out.is_dir():
        raise ReviewError(f"--out {out}: give a .png or .svg file, or a folder")
    if out.exists() and not out.is_dir():
        raise ReviewError(f"--out {out}: a file is in the way of the folder to write the charts into")
    return {kpi_id: out / f"{process_id}-{kpi_id}.png" for kpi_id in kpi_ids}


def write_charts(process_id: str, charts: list[ChartData], out: Path) -> list[Path]:
    """Write each KPI's chart as an image; returns the files written, in KPI order.

    Raises:
        ReviewError: matplotlib is not installed (with the install hint), or a bad ``out``.
    """
    paths = output_paths(out, process_id, [chart.kpi for chart in charts])
    figure_class, canvas_class = _matplotlib()
    written = []
    for chart in charts:
        path = paths[chart.kpi]
        path.parent.mkdir(parents=True, exist_ok=True)
        figure = figure_class(figsize=(9, 4.5), layout="constrained")
        canvas_class(figure)
        _draw(figure.add_subplot(), process_id, chart)
        try:
            figure.savefig(path, format=path.suffix[1:].lower(), metadata=_metadata(path))
        except OSError as exc:
            raise ReviewError(f"cannot write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def _matplotlib() -> tuple[Any, Any]:
    try:
        import matplotlib
    except ImportError:
        raise ReviewError(f"--out draws the charts with matplotlib, which is not installed: {INSTALL_HINT}") from None
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _metadata(path: Path) -> dict[str, Any]:
    # No creation date in the file: the same trail gives the same SVG.
    return {"Date": None} if path.suffix.lower() == ".svg" else {}


def _draw(axes: Any, process_id: str, chart: ChartData) -> None:
    axes.set_title(f"{process_id} · {chart.kpi}", loc="left")
    axes.set_xlabel("cycle")
    axes.set_ylabel(chart.unit or "value")
    limits = chart.limits or {}
    for name in ("upper_2sigma", "upper_1sigma", "lower_1sigma", "lower_2sigma"):
        if name in limits:
            axes.axhline(limits[name], color="0.75", linestyle=":", linewidth=0.8, gid=name)
    for name, label, style in (("ucl", "UCL", "--"), ("lcl", "LCL", "--"), ("centre", "centre", "-")):
        if name in limits:
            axes.axhline(limits[name], color="tab:red" if name != "centre" else "tab:blue", linestyle=style,
                         linewidth=1.2, gid=name, label=f"{label} {limits[name]:.4g}")
    for name, bounds in (("target_min", chart.target_min), ("target_max", chart.target_max)):
        if any(bound is not None for bound in bounds):
            axes.step(chart.cycles, [float("nan") if b is None else b for b in bounds], where="mid",
                      color="tab:green", linewidth=1.5, gid=name, label=name.replace("_", " "))
    if chart.cycles:
        axes.plot(chart.cycles, chart.values, marker="o", color="0.2", linewidth=1, gid="values", label="value")
    flagged = [(cycle, value) for cycle, value in zip(chart.cycles, chart.values) if cycle in chart.signals]
    if flagged:
        axes.scatter([c for c, _ in flagged], [v for _, v in flagged], marker="X", s=90, color="tab:red",
                     zorder=3, gid="signals", label="signal")
        for cycle, value in flagged:
            axes.annotate(", ".join(chart.signals[cycle]), (cycle, value), textcoords="offset points",
                          xytext=(4, 6), fontsize=8, color="tab:red")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="best", fontsize=8)
    axes.text(0, -0.2, chart.note, transform=axes.transAxes, fontsize=7, color="0.4", va="top")
