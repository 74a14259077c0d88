"""Properties of pdcaflow.spc that hold for every series: shift and scale invariance, silence on a constant."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdcaflow.engine.pdca import spc

# Integer-valued series (KPIs are often counts and percentages with few decimals): every
# shift below is exact in floating point, so "the same signals" is a sharp claim.
series = st.lists(st.integers(min_value=-1000, max_value=1000), min_size=2, max_size=60)
shifts = st.integers(min_value=-100_000, max_value=100_000)
scales = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
baselines = st.one_of(st.none(), st.integers(min_value=2, max_value=60))


def fingerprint(chart: spc.XmrChart) -> list[tuple[str, int, tuple[int, ...], str]]:
    return [(signal.rule, signal.index, signal.indices, signal.side) for signal in chart.signals]


def usable(values: list[int], baseline: int | None) -> int | None:
    return None if baseline is None else min(baseline, len(values))


@given(values=series, shift=shifts, baseline=baselines)
def test_shifting_every_value_shifts_the_limits_and_keeps_the_signals(values: list[int], shift: int,
                                                                     baseline: int | None) -> None:
    base = usable(values, baseline)
    chart = spc.xmr_chart(values, spc.ALL_RULES, baseline=base)
    moved = spc.xmr_chart([value + shift for value in values], spc.ALL_RULES, baseline=base)
    tolerance = 1e-9 * (abs(shift) + 1000)
    assert moved.limits.centre == pytest.approx(chart.limits.centre + shift, abs=tolerance)
    assert moved.limits.ucl == pytest.approx(chart.limits.ucl + shift, abs=tolerance)
    assert moved.limits.lcl == pytest.approx(chart.limits.lcl + shift, abs=tolerance)
    assert moved.limits.sigma == pytest.approx(chart.limits.sigma, abs=tolerance)
    assert moved.moving_ranges == chart.moving_ranges
    assert fingerprint(moved) == fingerprint(chart)


@given(values=series, scale=scales, baseline=baselines)
def test_scaling_by_a_positive_constant_scales_the_limits_and_keeps_the_signals(values: list[int], scale: float,
                                                                                baseline: int | None) -> None:
    base = usable(values, baseline)
    chart = spc.xmr_chart(values, spc.ALL_RULES, baseline=base)
    scaled = spc.xmr_chart([value * scale for value in values], spc.ALL_RULES, baseline=base)
    for name in ("centre", "sigma", "ucl", "lcl", "mr_centre", "mr_ucl"):
        assert getattr(scaled.limits, name) == pytest.approx(getattr(chart.limits, name) * scale,
                                                             rel=1e-9, abs=1e-9 * scale)
    assert fingerprint(scaled) == fingerprint(chart)


@given(value=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), length=st.integers(2, 80),
       baseline=baselines)
def test_no_rule_ever_fires_on_a_constant_series(value: float, length: int, baseline: int | None) -> None:
    chart = spc.xmr_chart([value] * length, spc.ALL_RULES, baseline=None if baseline is None else min(baseline, length))
    assert chart.signals == ()
    assert chart.limits.sigma == 0 and chart.limits.centre == pytest.approx(value, rel=1e-15, abs=1e-300)


@given(values=series, baseline=st.integers(min_value=2, max_value=60))
def test_baseline_limits_are_the_limits_of_the_first_values(values: list[int], baseline: int) -> None:
    base = min(baseline, len(values))
    assert spc.xmr_limits(values, baseline=base) == spc.xmr_limits(values[:base])


@given(values=series)
def test_limits_follow_the_published_formulas(values: list[int]) -> None:
    limits = spc.xmr_limits(values)
    mr_bar = sum(abs(b - a) for a, b in zip(values, values[1:])) / (len(values) - 1)
    assert limits.centre == pytest.approx(sum(values) / len(values), abs=1e-9)
    assert limits.ucl - limits.centre == pytest.approx(3 * mr_bar / 1.128, abs=1e-9)
    assert limits.centre - limits.lcl == pytest.approx(3 * mr_bar / 1.128, abs=1e-9)
    assert limits.mr_ucl == pytest.approx(3.267 * mr_bar, abs=1e-9)


@given(values=series, rules=st.lists(st.sampled_from(spc.ALL_RULES), min_size=1, max_size=12))
def test_every_signal_is_a_point_of_its_own_pattern(values: list[int], rules: list[str]) -> None:
    chart = spc.xmr_chart(values, rules)
    for signal in chart.signals:
        assert signal.rule in rules
        assert signal.indices[-1] == signal.index           # the completing point is in the pattern, last
        assert list(signal.indices) == sorted(set(signal.indices))
        assert signal.values == tuple(float(values[i]) for i in signal.indices)
        if signal.rule in ("we1", "nelson1"):
            assert not chart.limits.lcl <= signal.values[0] <= chart.limits.ucl
        assert math.isfinite(signal.limits.sigma)
