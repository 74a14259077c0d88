"""`pdca audit kpis PROCESS --chart [--out FILE.png|FILE.svg|DIR]`: each KPI's history as a control chart.

The store is written the way a cycle writes it: each cycle's KPI result comes from the real
``kpi.check`` over the history read back from the store, then recorded with its audit event.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.review.kpi_chart import chart_data, terminal_chart
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.kpi_baselines import kpi_baselines
from pdcaflow.engine.store.repository import complete_cycle, record_definition_version, record_kpi_results, start_cycle
from pdcaflow.engine.store.results import kpi_history
from pdcaflow.engine.pdca.check import check
from pdcaflow.tasks.sdk.registry import StepContext
from tests.engine.review.trail import PROCESS, V1, sha

# Satisfaction: eight steady cycles (the baseline), then the world shifts down at cycle 9.
SATISFACTION = [4.0, 4.2, 4.1, 4.3, 4.0, 4.2, 4.1, 4.3, 3.2, 3.3, 4.1]
CONTROL = {"chart": "xmr", "rules": ["we1", "we2", "we4"], "baseline": 8}

runner = CliRunner()


def record_cycles(url: str, values: list[float], control: dict[str, Any] | None = CONTROL,
                  history_limit: int = 100) -> None:
    store = open_store(url)
    try:
        for value in values:
            with store.transaction() as session:
                version = record_definition_version(session, PROCESS, V1, sha(V1), "alice")
                cycle = start_cycle(session, PROCESS, version, "manual", "alice", "host-a", 4242, reason="monthly",
                                    plan_inputs={"params": {}, "targets": {}, "carried_from_cycle": None})
                baselines = kpi_baselines(session, PROCESS, {"satisfaction": control["baseline"]}
                                          if control and control.get("baseline") else {})
                spec = {"unit": "score (1-5)", "direction": "up", "source": "serve.satisfaction",
                        "control": control, "target": {"min": 3.5}, "actual": value,
                        "baseline_history": baselines.get("satisfaction")}   # as pdcaflow.engine.runtime.cycle passes them
                context = StepContext(process_id=PROCESS, cycle=cycle.number, kpi_specs={"satisfaction": spec},
                                      history=kpi_history(session, PROCESS, limit=history_limit))
                results = check(context)["results"]
                record_kpi_results(session, cycle, results, "alice")
                complete_cycle(session, cycle, {"cycle": cycle.number, "kpis": results}, "alice")
    finally:
        store.dispose()


@pytest.fixture()
def charted(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'charted.db'}"
    record_cycles(url, SATISFACTION)
    return url


def audit_kpis(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["audit", "kpis", PROCESS, "--db", url, *args], env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_recorded_signal_is_on_the_shifted_cycle(charted: str) -> None:
    code, stdout, _ = audit_kpis(charted, "--format", "json")
    assert code == 0
    rows = json.loads(stdout)
    assert [(row["cycle"], row["signals"]) for row in rows if row["signals"]] == [(9, ["we1"]), (10, ["we1", "we2"])]
    ninth = rows[8]["control"]                 # 3.2 is below the LCL of the first eight cycles
    assert ninth["limit_cycles"] == [1, 8] and ninth["limits"]["lcl"] == pytest.approx(4.15 - 3 * (1.3 / 7) / 1.128)
    assert ninth["signals"][0]["cycles"] == [9] and ninth["signals"][0]["values"] == [3.2]


def test_a_baseline_stays_fixed_past_the_history_window(tmp_path: Path) -> None:
    """The engine reads the last 100 cycles; the baseline's first cycles come from their own query."""
    url = f"sqlite:///{tmp_path / 'window.db'}"
    record_cycles(url, SATISFACTION, history_limit=3)        # a window shorter than the 8-cycle baseline
    code, stdout, _ = audit_kpis(url, "--format", "json")
    rows = json.loads(stdout)
    assert rows[-1]["control"]["limit_cycles"] == [1, 8]
    assert rows[-1]["control"]["limits"]["centre"] == pytest.approx(4.15)
    assert [(row["cycle"], row["signals"]) for row in rows if row["signals"]] == [(9, ["we1"]), (10, ["we1", "we2"])]


def test_terminal_chart_of_a_known_history(charted: str) -> None:
    code, stdout, stderr = audit_kpis(charted, "--chart")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "satisfaction (score (1-5))"
    grid = lines[1:14]
    axis = [float(line.split("|")[0]) for line in grid]
    assert axis == sorted(axis, reverse=True)                       # y axis: top row the highest
    rows = {name: next(i for i, line in enumerate(grid) if name in line) for name in
            ("UCL 4.64", "CL 4.15", "LCL 3.66", "target min 3.5")}  # a score: two decimals
    assert rows["UCL 4.64"] < rows["CL 4.15"] < rows["LCL 3.66"] < rows["target min 3.5"]
    assert set(grid[rows["UCL 4.64"]].split("|")[1].split(" UCL")[0]) == {"-"}
    assert set(grid[rows["LCL 3.66"]].split("|")[1].split(" LCL")[0]) == {"-"}
    columns = [line.split("|")[1] for line in grid]
    marks = {(row, col // 3) for row, text in enumerate(columns) for col, ch in enumerate(text) if ch in "oX"}
    assert len(marks) == len(SATISFACTION)                          # one mark per cycle, in its own column
    signal_columns = sorted(col for row, text in enumerate(columns) for col, ch in enumerate(text) if ch == "X")
    assert [col // 3 for col in signal_columns] == [8, 9]           # cycles 9 and 10
    assert lines[15].split() == [str(n) for n in range(1, 12)] + ["cycle"]
    assert "signals: cycle 9: we1; cycle 10: we1, we2" in stdout
    assert "limits as recorded in cycle 11 (baseline of 8 cycles, from cycles 1-8; rules we1, we2, we4)" in stdout


def test_terminal_chart_content_exactly() -> None:
    points = [{"cycle": n, "actual": v, "status": "met", "unit": "h", "target": {"min": None, "max": 5.0},
               "signals": ["we1"] if n == 4 else [],
               "control": {"status": "tested", "baseline": None, "rules": ["we1"], "limit_cycles": [1, 4],
                           "limits": {"centre": 2.0, "ucl": 4.0, "lcl": 0.0, "upper_1sigma": 2.6667,
                                      "lower_1sigma": 1.3333, "upper_2sigma": 3.3333, "lower_2sigma": 0.6667}}}
              for n, v in ((1, 2.0), (2, 1.0), (3, 3.0), (4, 4.5))]
    text = terminal_chart(chart_data("resolution", points)).plain
    assert text == (
        "resolution (h)\n"
        "      5.5 |\n"
        "        5 |~~~~~~~~~~~~ target max 5\n"
        "      4.5 |          X\n"                 # beyond the UCL: a signal, drawn above the line
        "        4 |------------ UCL 4\n"
        "      3.5 |::::::::::::\n"
        "        3 |       o\n"
        "      2.5 |::::::::::::\n"
        "        2 |.o.......... CL 2\n"
        "      1.5 |::::::::::::\n"
        "        1 |    o\n"
        "      0.5 |::::::::::::\n"
        "        0 |------------ LCL 0\n"
        "     -0.5 |\n"
        "          +------------\n"
        "             1  2  3  4   cycle\n"
        "o value  X signal  - control limits (3 sigma)  : 1 and 2 sigma  . centre line  ~ target\n"
        "signals: cycle 4: we1\n"
        "limits as recorded in cycle 4 (from cycles 1-4; rules we1)")


def test_png_and_svg_from_a_real_store(charted: str, tmp_path: Path) -> None:
    png, svg = tmp_path / "charts" / "satisfaction.png", tmp_path / "satisfaction.svg"
    code, stdout, stderr = audit_kpis(charted, "--chart", "--out", str(png))
    assert (code, stdout.strip()) == (0, f"wrote {png}"), stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    code, stdout, _ = audit_kpis(charted, "--out", str(svg))            # --out implies --chart
    assert code == 0
    root = ElementTree.parse(svg).getroot()
    ids = {element.get("id") for element in root.iter()}
    assert {"ucl", "lcl", "centre", "target_min", "values", "signals"} <= ids
    assert "satisfaction" in svg.read_text()


def test_a_folder_gets_one_png_per_kpi(charted: str, tmp_path: Path) -> None:
    code, stdout, _ = audit_kpis(charted, "--out", str(tmp_path / "out"))
    assert code == 0
    assert stdout.strip() == f"wrote {tmp_path / 'out' / f'{PROCESS}-satisfaction.png'}"


def test_a_kpi_without_control_is_charted_without_limits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    record_cycles(url, [4.0, 4.2, 4.1], control=None)
    code, stdout, _ = audit_kpis(url, "--chart")
    assert code == 0
    assert "no control limits: the KPI has no `control:` in the definition it ran" in stdout
    assert "UCL" not in stdout and "target min 3.5" in stdout


def test_too_few_points_is_said(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'young.db'}"
    record_cycles(url, [4.0, 4.2, 4.1])
    _, stdout, _ = audit_kpis(url, "--chart")
    assert ("no control limits yet: control limits need the 8-cycle baseline; 3 recorded so far: "
            "no rule tested") in stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--chart", "--format", "json"], "--chart draws charts; leave out --format json/csv"),
    (["--out", "chart.pdf"], "--out chart.pdf: give a .png or .svg file, or a folder"),
])
def test_bad_chart_options_exit_2(charted: str, args: list[str], message: str) -> None:
    code, stdout, stderr = audit_kpis(charted, *args)
    assert (code, stderr.strip()) == (2, f"error: {message}")


def test_missing_matplotlib_gives_the_install_hint(charted: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)     # what an install without the extra sees
    code, _, stderr = audit_kpis(charted, "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert stderr.strip() == ("error: --out draws the charts with matplotlib, which is not installed: "
                              "pip install 'pdcaflow[charts]'")


def test_matplotlib_is_imported_only_for_images() -> None:
    probe = ("import sys, pdcaflow.engine.cli.app, pdcaflow.engine.cli.audit, pdcaflow.engine.review.kpi_chart, pdcaflow.engine.pdca.check, pdcaflow;"
             "print('matplotlib' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
