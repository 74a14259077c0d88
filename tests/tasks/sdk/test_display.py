"""What people read: KPI decimals by unit, values and bounds as text, durations in human units, lists as text."""

from __future__ import annotations

import pytest

from pdcaflow.tasks.sdk.display import (against, as_text, bound, decimals_for, default_decimals, fixed,
                                        human_duration, rounded, signed, text_list)


@pytest.mark.parametrize(("unit", "decimals"), [
    ("%", 1), ("percent", 1), ("pp", 1),
    ("hours", 1), ("days", 1), ("d", 1), ("minutes", 1), ("hours (90th percentile)", 1),
    ("customers", 0), ("cases", 0), ("complaints", 0), ("count", 0), ("findings", 0),
    ("score (1-5)", 2), ("score (0-10)", 2), ("points (0-100)", 1),
    ("score", 2), ("ratio", 2), ("kg", 2), ("", 2), ("yuan per order", 2),
])
def test_decimals_default_by_unit(unit: str, decimals: int) -> None:
    assert default_decimals(unit) == decimals


def test_a_kpis_own_decimals_win_over_the_units_default() -> None:
    assert decimals_for("%", 3) == 3
    assert decimals_for("customers", None) == 0
    assert decimals_for("%", 0) == 0


def test_values_changes_and_bounds_as_text() -> None:
    assert fixed(2.057636888, 1) == "2.1"
    assert fixed(4.3, 2) == "4.30"
    assert fixed(-0.0001, 2) == "0.00"  # never "-0.00"
    assert fixed(None, 2) == "-"
    assert rounded(4.3, 2) == "4.3"
    assert rounded(2.057636888, 2) == "2.06"
    assert rounded(80.0, 1) == "80"
    assert signed(-0.02267, 2) == "-0.02"
    assert signed(0.5, 1) == "+0.5"
    assert signed(-0.001, 2) == "0.00"
    assert signed(None, 2) == "-"
    assert bound(48) == "48"
    assert bound(4.2) == "4.2"
    assert bound(4.284000000000001) == "4.284"  # a moved target reads as the number it is, never cut to 4.28


def test_a_value_compared_with_a_bound_never_reads_equal_to_it() -> None:
    assert against(4.196, 4.2, 2) == "4.196"
    assert against(4.1, 4.2, 2) == "4.1"
    assert against(4.2, 4.2, 2) == "4.2"


@pytest.mark.parametrize(("seconds", "text"), [
    (259200, "3 days"), (129600, "1 day 12 hours"), (172800, "2 days"), (604800, "1 week"),
    (1209600, "2 weeks"), (864000, "10 days"), (3600, "1 hour"), (5400, "1 hour 30 min"), (90, "1 min 30 s"),
    (600, "10 min"), (45, "45 s"), (0.5, "0.5 s"), (86461, "1 day"), (None, "none"),
])
def test_durations_in_human_units(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_lists_and_mappings_read_as_text() -> None:
    assert as_text(["a", "b"]) == "a, b"
    assert as_text(("ward 3", 4)) == "ward 3, 4"
    assert as_text({"A": 4, "B": [1, 2]}) == "A: 4, B: 1, 2"
    assert as_text(True) == "true"
    assert as_text(None) == ""
    assert text_list([]) == "none"
