"""Tables at 80 and 60 columns (engine/review/layout.py): ids and numbers whole, text wrapped, rows stacked
when nothing else fits; recorded values as key: value lines; the console's width when it writes to a file."""

from __future__ import annotations

import io
import os

import pytest
from rich.console import Console
from rich.text import Text

from pdcaflow.engine.cli import common
from pdcaflow.engine.review.layout import Column, FitTable, Kind, fit_widths
from pdcaflow.engine.review.readable import pairs, readable

LONG_ID = "retail-customer-service#12/complaint-K202601-00016"  # 50 characters
TITLE = "Resolve complaint K202601-00016 (stockout) of customer C000233 and confirm with the customer"


def shown(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, soft_wrap=True, file=io.StringIO())  # soft wrap, as `pdca` prints
    console.print(renderable)
    return console.export_text()


def assert_fits(text: str, width: int) -> None:
    assert all(len(line) <= width for line in text.splitlines()), text
    assert "…" not in text, text


def actions(*ids: str) -> FitTable:
    table = FitTable([Column("action", Kind.ID), Column("status", Kind.ID), Column("owner", Kind.ID),
                      Column("due", Kind.ID), Column("title")], title="Corrective actions", key=1)
    for action_id in ids:
        table.add_row(action_id, "open", "service-manager", "2026-12-06", TITLE)
    return table


def kpis() -> FitTable:
    table = FitTable([Column("KPI", Kind.ID), Column("actual", Kind.NUMBER), Column("target", Kind.ID),
                      Column("status", Kind.ID), Column("change", Kind.NUMBER), Column("unit")], title="KPIs", key=1)
    table.add_row("complaint_resolution_p90", "261.6", "<= 48", Text("missed", style="red"), "-80.57", "hours")
    table.add_row("inspection_score", "90.81", "-5 .. 5", "met", "-0.0234", "points (0-100)")
    return table


# ----- widths --------------------------------------------------------------------------------------
def test_columns_keep_their_natural_width_when_it_fits() -> None:
    assert fit_widths([10, 20, 5], [10, 3, 5], 40) == [10, 20, 5]


def test_the_widest_columns_are_narrowed_first_never_below_their_minimum() -> None:
    assert fit_widths([10, 30, 20], [10, 12, 8], 46) == [10, 18, 18]
    assert fit_widths([10, 30, 20], [10, 12, 18], 40) == [10, 12, 18]


def test_no_widths_when_even_the_minimums_do_not_fit() -> None:
    assert fit_widths([10, 30], [10, 25], 34) is None


# ----- tables at 80 and 60 -------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 60])
def test_ids_and_numbers_are_never_cut_and_lines_fit(width: int) -> None:
    text = shown(actions(LONG_ID, "p#1/a1"), width)
    assert_fits(text, width)
    for whole in (LONG_ID, "p#1/a1", "2026-12-06", "service-manager", "K202601-00016", "C000233"):
        assert whole in text, (whole, text)  # an id in a title is wrapped before, never split
    text = shown(kpis(), width)
    assert_fits(text, width)
    for whole in ("complaint_resolution_p90", "261.6", "-80.57", "-0.0234", "-5 .. 5", "<= 48", "missed"):
        assert whole in text, (whole, text)


def test_a_table_that_fits_stays_a_table() -> None:
    text = shown(kpis(), 100)
    assert "complaint_resolution_p90 │  261.6 │ <= 48   │ missed │  -80.57 │ hours" in text  # its own frame


def test_a_table_a_little_too_wide_drops_its_borders() -> None:
    text = shown(kpis(), 76)
    assert_fits(text, 76)
    assert "│" not in text and "complaint_resolution_p90   261.6  <= 48    missed   -80.57" in text


def test_rows_that_cannot_stand_side_by_side_are_stacked_under_their_key() -> None:
    text = shown(actions(LONG_ID, "p#1/a1"), 60)
    lines = text.splitlines()
    assert lines[0] == "Corrective actions"
    assert lines[1] == LONG_ID  # the id heads its block, whole, on a line of its own
    assert lines[2].rstrip() == "  status: open" and lines[3].rstrip() == "  owner:  service-manager"
    assert lines[5].startswith("  title:  Resolve complaint K202601-00016")
    assert "p#1/a1" in lines


def test_without_key_columns_each_stacked_row_labels_every_cell() -> None:
    table = FitTable([Column("seq", Kind.NUMBER), Column("what")])
    table.add_row("7", "x" * 70)
    table.add_row("8", "short")
    lines = [line.rstrip() for line in shown(table, 60).splitlines()]
    assert lines == ["  seq:  7", "  what: " + "x" * 52, "        " + "x" * 18, "", "  seq:  8", "  what: short"]


def test_a_split_table_repeats_its_key_in_each_part() -> None:
    cycles = [f"c{number}" for number in range(1, 11)]
    table = FitTable([Column("KPI", Kind.ID), *(Column(cycle, Kind.NUMBER) for cycle in cycles)],
                     title="KPIs over 10 cycles", key=1, split=True)
    table.add_row("complaint_resolution_p90", *(f"{100 + number}.25" for number in range(10)))
    text = shown(table, 80)
    assert_fits(text, 80)
    assert text.count("complaint_resolution_p90") == 2  # two parts, each naming the row
    assert all(f"{100 + number}.25" in text for number in range(10))


def test_a_long_title_wraps_to_the_page() -> None:
    table = FitTable([Column("a", Kind.ID)], title="word " * 30)
    table.add_row("x")
    assert_fits(shown(table, 60), 60)


# ----- recorded values -----------------------------------------------------------------------------
def test_recorded_values_read_as_key_value_lines() -> None:
    output = {"changes": 2, "segments": {"A": {"customers": 65}}, "anomalies": ["C000036", "C000063"],
              "opened": [{"id": "p#2/call_back", "due": "2026-12-06"}], "none": [], "flag": True, "missing": None}
    assert readable(output).splitlines() == [
        "changes: 2", "segments.A.customers: 65", "anomalies: C000036, C000063", "opened:",
        "  - id: p#2/call_back", "    due: 2026-12-06", "none: none", "flag: yes", "missing: -"]


def test_recorded_values_on_one_line_keep_whole_pairs() -> None:
    assert pairs({"visits": 2, "planned_in_cycle": 1, "customers_active": 785}, 30) == \
        "visits: 2; planned_in_cycle: 1 (and 1 more)"
    assert pairs({"visits": 2}, 30) == "visits: 2"


# ----- the console's width ---------------------------------------------------------------------------
def test_output_that_is_not_a_terminal_is_80_columns_whatever_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    # stdout redirected to a file, but stdin (or stderr) is a 200-column terminal
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=0: os.terminal_size((200, 50)))
    saved_log = common.PageConsole(file=io.StringIO())  # as `out` is when stdout is a file
    assert saved_log.width == 80 and Console(file=io.StringIO()).width == 200  # rich alone: the terminal's
    monkeypatch.setenv("COLUMNS", "120")
    assert saved_log.width == 120


def test_peoples_words_in_a_cell_are_shown_as_written() -> None:
    """A reason or title typed by a person is text, not console markup: `[urgent]` shows and `[/]`
    (which rich would reject as a closing tag with nothing open) prints instead of failing."""
    table = FitTable([Column("action", Kind.ID), Column("title")], key=1)
    table.add_row("p#1/fix", "[urgent] call back [/] today")
    console = Console(width=80, record=True, color_system=None)
    console.print(table)
    assert "[urgent] call back [/] today" in console.export_text()
