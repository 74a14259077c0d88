"""How a changed row is described: a difference too long to show whole is named by its path."""

from __future__ import annotations

from pdcaflow.engine.store.rowdiff import differences


def test_a_long_nested_difference_is_named_by_the_path_to_it() -> None:
    event = {"params": {"allocation": {"method": "quota", "reserve_pct": 9, "scale": 1.25},
                        "visits_per_month": {"A": 4, "B": 4, "C": 3, "D": 1}}}
    row = {"params": {"allocation": {"method": "quota", "reserve_pct": 9, "scale": 1.25},
                      "visits_per_month": {"A": 99, "B": 4, "C": 3, "D": 1}}}
    assert differences(row, event) == {
        "params.visits_per_month": ({"A": 99, "B": 4, "C": 3, "D": 1}, {"A": 4, "B": 4, "C": 3, "D": 1})}


def test_a_short_difference_is_shown_whole() -> None:
    assert differences({"params": {"visits": 6}}, {"params": {"visits": 1}}) == {
        "params": ({"visits": 6}, {"visits": 1})}
