"""pdcaflow.spc: XmR limits against published reference data, and each of the twelve rules by hand."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import pdcaflow
from pdcaflow.engine.pdca import spc
from tests.conftest import REPO

SIGMA_ONE = spc.XmrLimits(centre=0.0, mr_centre=spc.D2, points=20)   # centre 0, sigma exactly 1


def hits(values: list[float], rule: str) -> list[tuple[int, tuple[int, ...]]]:
    """(index, indices) of every firing of ``rule`` against centre 0, sigma 1."""
    return [(signal.index, signal.indices) for signal in spc.detect(values, SIGMA_ONE, [rule])]


# --- published reference data ---------------------------------------------------------------------

NIST_FLOW_RATE = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]


def test_nist_individuals_chart_example() -> None:
    """NIST/SEMATECH e-Handbook of Statistical Methods, section 6.3.2.2 "Individuals Control Charts",
    https://www.itl.nist.gov/div898/handbook/pmc/section3/pmc322.htm (read through the stored copy of
    that page): flow rate of the first 10 batches of a new process. Published: moving ranges 2.0, 2.3,
    1.4, 3.5, 3.4, 1.4, 0.2, 1.2, 1.5; Xbar = 50.81; MRbar = 1.8778; UCL = 55.8041; LCL = 45.8159
    (UCL/LCL = Xbar ± 3·MRbar/1.128); "The process is in control, since none of the plotted points
    fall outside either the UCL or LCL". The page states no MR-chart limit in the text read, so
    MR UCL = 3.267·MRbar is checked against the formula only.
    """
    chart = spc.xmr_chart(NIST_FLOW_RATE, rules=["we1", "nelson1"])
    assert [round(mr, 1) for mr in chart.moving_ranges] == [2.0, 2.3, 1.4, 3.5, 3.4, 1.4, 0.2, 1.2, 1.5]
    assert round(chart.limits.centre, 2) == 50.81
    assert round(chart.limits.mr_centre, 4) == 1.8778
    assert round(chart.limits.ucl, 4) == 55.8041
    assert round(chart.limits.lcl, 4) == 45.8159
    assert chart.signals == ()                                    # no point outside the limits
    assert chart.limits.mr_ucl == pytest.approx(3.267 * 16.9 / 9)
    assert max(chart.moving_ranges) < chart.limits.mr_ucl


def test_the_public_api_is_pdcaflow_spc() -> None:
    assert pdcaflow.spc.xmr_limits is spc.xmr_limits
    assert set(pdcaflow.spc.ALL_RULES) == set(spc.RULES) and len(spc.ALL_RULES) == 12


# --- limits --------------------------------------------------------------------------------------

def test_limits_from_a_baseline_window() -> None:
    values = [10.0, 12.0, 11.0, 13.0, 40.0, 41.0]
    fixed = spc.xmr_limits(values, baseline=4)
    assert (fixed.centre, fixed.mr_centre, fixed.points) == (11.5, pytest.approx(5 / 3), 4)
    assert fixed == spc.xmr_limits(values[:4])
    chart = spc.xmr_chart(values, ["we1"], baseline=4)
    assert [signal.index for signal in chart.signals] == [4, 5]   # the jump after the baseline
    assert spc.xmr_chart(values, ["we1"]).limits.centre == pytest.approx(127 / 6)   # without: all six


def test_zones_and_as_dict() -> None:
    limits = spc.XmrLimits(centre=10.0, mr_centre=spc.D2 * 2, points=5)   # sigma 2
    assert limits.zone(1) == (8.0, 12.0) and limits.zone(2) == (6.0, 14.0)
    assert (limits.lcl, limits.ucl) == (4.0, 16.0)
    assert limits.as_dict() == {"centre": 10.0, "sigma": 2.0, "ucl": 16.0, "lcl": 4.0, "upper_2sigma": 14.0,
                                "lower_2sigma": 6.0, "upper_1sigma": 12.0, "lower_1sigma": 8.0,
                                "mr_centre": pytest.approx(2.256), "mr_ucl": pytest.approx(3.267 * 2.256),
                                "points": 5}


def test_a_signal_carries_its_numbers() -> None:
    chart = spc.xmr_chart([0.0, 2.5, 0.0, 2.5], ["we2"], limits=SIGMA_ONE)
    (signal,) = chart.signals
    assert signal.as_dict() == {"rule": "we2", "description": "2 of 3 points in a row beyond 2 sigma on the same side",
                                "index": 3, "indices": [1, 3], "values": [2.5, 2.5], "side": "above",
                                "threshold": 2.0, "centre": 0.0, "sigma": 1.0, "ucl": 3.0, "lcl": -3.0}
    assert chart.fired_at(-1) == ["we2"] and chart.fired_at(2) == [] and chart.signals_at(3) == [signal]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: spc.xmr_limits([1.0]), r"at least 2 values \(one moving range\), got 1"),
    (lambda: spc.xmr_limits([1.0, 2.0, 3.0], baseline=4), "baseline of 4 values but the series has only 3"),
    (lambda: spc.xmr_limits([1.0, 2.0, 3.0], baseline=1), "baseline must be a whole number of at least 2"),
    (lambda: spc.xmr_limits([1.0, float("nan")]), r"value 1 is nan, not a finite number"),
    (lambda: spc.xmr_limits([1.0, "2"]), r"value 1 is '2', not a finite number"),    # type: ignore[list-item]
    (lambda: spc.xmr_chart([1.0, 2.0], ["we9"]), r"unknown rule\(s\) 'we9': use we1, we2"),
])
def test_bad_input_is_refused_with_the_reason(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --- the twelve rules, positive and negative --------------------------------------------------------

@pytest.mark.parametrize("rule", ["we1", "nelson1"])
def test_one_point_beyond_3_sigma(rule: str) -> None:
    assert hits([0, 3.5, 0, -3.2], rule) == [(1, (1,)), (3, (3,))]
    assert hits([0, 3.0, -3.0, 2.9], rule) == []                # on the limit is not beyond it


@pytest.mark.parametrize("rule", ["we2", "nelson5"])
def test_two_of_three_beyond_2_sigma_same_side(rule: str) -> None:
    assert hits([2.5, 0, 2.5], rule) == [(2, (0, 2))]
    assert hits([0, -2.1, -2.6, 0], rule) == [(2, (1, 2))]      # fires on the point completing it only
    assert hits([2.5, 0, 0, 2.5], rule) == []                   # 2 of 4
    assert hits([2.5, -2.5, 2.5 * -1], rule) == [(2, (1, 2))]   # the two below count, the one above does not
    assert hits([2.5, 0, -2.5], rule) == []                     # opposite sides
    assert hits([2.0, 2.0, 2.0], rule) == []                    # on the 2 sigma line is not beyond


@pytest.mark.parametrize("rule", ["we3", "nelson6"])
def test_four_of_five_beyond_1_sigma_same_side(rule: str) -> None:
    assert hits([1.5, 1.5, 0, 1.5, 1.5], rule) == [(4, (0, 1, 3, 4))]
    assert hits([1.5, 1.5, 0, 0, 1.5, 1.5], rule) == []         # 4 of 6
    assert hits([1.5, 1.5, -1.5, 1.5, 0.5], rule) == []         # 3 above, 1 below
    assert hits([-1.2, -1.2, -1.2, -1.2], rule) == [(3, (0, 1, 2, 3))]


def test_we4_eight_in_a_row_same_side() -> None:
    assert hits([0.5] * 8, "we4") == [(7, tuple(range(8)))]
    assert hits([0.5] * 9, "we4") == [(7, tuple(range(8))), (8, tuple(range(1, 9)))]
    assert hits([0.5] * 7, "we4") == []
    assert hits([0.5] * 4 + [0.0] + [0.5] * 4, "we4") == []     # a point on the centre line breaks the run
    assert hits([-0.1] * 8, "we4") == [(7, tuple(range(8)))]


def test_nelson2_nine_in_a_row_same_side() -> None:
    assert hits([-0.5] * 9, "nelson2") == [(8, tuple(range(9)))]
    assert hits([-0.5] * 8, "nelson2") == []
    assert hits([0.5] * 4 + [-0.5] + [0.5] * 4, "nelson2") == []


def test_nelson3_six_in_a_row_increasing_or_decreasing() -> None:
    assert hits([0, 0.1, 0.2, 0.3, 0.4, 0.5], "nelson3") == [(5, tuple(range(6)))]
    assert hits([0.5, 0.4, 0.3, 0.2, 0.1, 0], "nelson3") == [(5, tuple(range(6)))]
    assert hits([0, 0.1, 0.2, 0.3, 0.4], "nelson3") == []           # five points
    assert hits([0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5], "nelson3") == []  # a tie breaks the run
    assert spc.detect([0, 0.1, 0.2, 0.3, 0.4, 0.5], SIGMA_ONE, ["nelson3"])[0].side == "up"


def test_nelson4_fourteen_alternating() -> None:
    zigzag = [0.1 if i % 2 else -0.1 for i in range(14)]
    assert hits(zigzag, "nelson4") == [(13, tuple(range(14)))]
    assert hits(zigzag[:13], "nelson4") == []
    assert hits(zigzag[:7] + [zigzag[6]] + zigzag[7:], "nelson4") == []   # a repeated value breaks it
    assert hits(zigzag[:7] + zigzag[8:] + [0.1, -0.1], "nelson4") == []   # up, up somewhere in the middle


def test_nelson7_fifteen_within_1_sigma() -> None:
    hugging = [0.5 if i % 2 else -0.5 for i in range(15)]
    assert hits(hugging, "nelson7") == [(14, tuple(range(15)))]
    assert hits(hugging[:14], "nelson7") == []
    assert hits(hugging[:7] + [1.0] + hugging[8:], "nelson7") == []      # on the 1 sigma line is not within


def test_nelson8_eight_beyond_1_sigma_either_side() -> None:
    avoiding = [1.5 if i % 2 else -1.5 for i in range(8)]
    assert hits(avoiding, "nelson8") == [(7, tuple(range(8)))]
    assert hits([1.5] * 8, "nelson8") == [(7, tuple(range(8)))]          # one side only counts too
    assert hits(avoiding[:7], "nelson8") == []
    assert hits(avoiding[:3] + [0.5] + avoiding[4:], "nelson8") == []


def test_rules_are_reported_by_point_then_in_rule_order() -> None:
    chart = spc.xmr_chart([0.0] * 8 + [4.0], ["nelson1", "we1", "we4"], limits=SIGMA_ONE)
    assert [(signal.index, signal.rule) for signal in chart.signals] == [(8, "we1"), (8, "nelson1")]
    assert chart.fired_at(8) == ["we1", "nelson1"]


def test_the_docs_example() -> None:
    """docs/spc.md's notebook example, as printed there."""
    flow_rate = [*NIST_FLOW_RATE, 58.0, 57.5, 49.0]
    chart = spc.xmr_chart(flow_rate, rules=["we1", "we2"], baseline=10)
    assert [(s.rule, s.index, s.indices, s.side) for s in chart.signals] == [
        ("we1", 10, (10,), "above"), ("we1", 11, (11,), "above"), ("we2", 11, (10, 11), "above")]
    assert (chart.fired_at(11), chart.fired_at(-1)) == (["we1", "we2"], [])


def test_bench_spc_runs_small() -> None:
    """bench/spc.py runs end to end at a small size (no timing is asserted)."""
    result = subprocess.run([sys.executable, "bench/spc.py", "--sizes", "50,500", "--repeat", "1"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"us_per_point=\d+\.\d\d", result.stdout.strip().splitlines()[-1])
