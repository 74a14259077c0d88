"""Statistical process control on a series of values: XmR limits and run-rule signals.

The public API (re-exported as ``pdcaflow.spc``, documented in ``docs/spc.md``)::

    from pdcaflow import spc

    chart = spc.xmr_chart([49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1],
                          rules=spc.ALL_RULES)
    chart.limits.ucl            # 55.8041... (NIST/SEMATECH e-Handbook 6.3.2.2)
    chart.signals               # () : in control

Individuals / moving-range (XmR) limits: centre line = mean of the values,
MR̄ = mean of the moving ranges |x[i] - x[i-1]|, sigma = MR̄ / d2 (d2 = 1.128 for
ranges of two), UCL/LCL = centre ± 3 sigma (= ± 2.66 MR̄), MR chart UCL =
3.267 MR̄ (D4), zones at 1 and 2 sigma. With ``baseline=N`` the limits come from
the first N values only and are applied to the whole series. The rules are in
:mod:`pdcaflow.engine.pdca.spc_rules`. Pure Python, no numpy: task modules stay light to import.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pdcaflow.engine.pdca.spc_rules import ALL_RULES, NELSON, RULES, WESTERN_ELECTRIC, RuleHit, Side, detect_rules

__all__ = [
    "ALL_RULES", "D2", "D4", "NELSON", "RULES", "WESTERN_ELECTRIC",
    "Signal", "XmrChart", "XmrLimits", "detect", "moving_ranges", "xmr_chart", "xmr_limits",
]

D2 = 1.128
"""d2 for moving ranges of two consecutive values: sigma = MR̄ / d2."""
D4 = 3.267
"""D4 for moving ranges of two: the MR chart's upper limit is D4 · MR̄ (its lower limit is 0)."""


@dataclass(frozen=True)
class XmrLimits:
    """Limits of an individuals / moving-range chart.

    Attributes:
        centre: the centre line (mean of the values the limits come from).
        mr_centre: MR̄, the mean moving range of those values.
        points: how many values the limits come from.
    """

    centre: float
    mr_centre: float
    points: int

    @property
    def sigma(self) -> float:
        """The process sigma estimated from the moving ranges: MR̄ / d2."""
        return self.mr_centre / D2

    @property
    def ucl(self) -> float:
        """Upper control limit of the individuals chart: centre + 3 sigma."""
        return self.centre + 3 * self.sigma

    @property
    def lcl(self) -> float:
        """Lower control limit of the individuals chart: centre - 3 sigma."""
        return self.centre - 3 * self.sigma

    @property
    def mr_ucl(self) -> float:
        """Upper control limit of the moving-range chart: D4 · MR̄."""
        return D4 * self.mr_centre

    def zone(self, sigmas: float) -> tuple[float, float]:
        """The band ``centre ± sigmas · sigma`` as (lower, upper)."""
        return self.centre - sigmas * self.sigma, self.centre + sigmas * self.sigma

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers (JSON-ready): centre, sigma, ucl, lcl, the 1 and 2 sigma lines, mr_centre, mr_ucl, points."""
        return {"centre": self.centre, "sigma": self.sigma, "ucl": self.ucl, "lcl": self.lcl,
                "upper_2sigma": self.zone(2)[1], "lower_2sigma": self.zone(2)[0],
                "upper_1sigma": self.zone(1)[1], "lower_1sigma": self.zone(1)[0],
                "mr_centre": self.mr_centre, "mr_ucl": self.mr_ucl, "points": self.points}


@dataclass(frozen=True)
class Signal:
    """A rule that fired: which rule, at which point, the points involved and their numbers.

    Attributes:
        rule: the rule id (``we1`` ... ``we4``, ``nelson1`` ... ``nelson8``).
        index: the point that completed the pattern (0-based position in the series).
        indices: every point of the pattern (for k-of-n rules, the k points beyond the zone).
        values: the values at ``indices``.
        side: ``above``/``below`` the centre, ``up``/``down`` (trend), ``alternating``,
            ``within`` (nelson7) or ``beyond`` (nelson8, either side).
        threshold: the line the rule tested (e.g. the upper 2 sigma line for ``we2``
            above), ``None`` for rules about runs, trends and alternation.
        limits: the limits the rule was tested against.
    """

    rule: str
    index: int
    indices: tuple[int, ...]
    values: tuple[float, ...]
    side: Side
    threshold: float | None
    limits: XmrLimits

    @property
    def description(self) -> str:
        """The rule's definition, e.g. ``2 of 3 points in a row beyond 2 sigma on the same side``."""
        return RULES[self.rule]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): rule, description, index, indices, values, side, threshold, centre, sigma, ucl, lcl."""
        return {"rule": self.rule, "description": self.description, "index": self.index,
                "indices": list(self.indices), "values": list(self.values), "side": self.side,
                "threshold": self.threshold, "centre": self.limits.centre, "sigma": self.limits.sigma,
                "ucl": self.limits.ucl, "lcl": self.limits.lcl}


@dataclass(frozen=True)
class XmrChart:
    """A series with its XmR limits and every signal of the rules tested."""

    values: tuple[float, ...]
    moving_ranges: tuple[float, ...]
    limits: XmrLimits
    rules: tuple[str, ...]
    signals: tuple[Signal, ...]

    def signals_at(self, index: int) -> list[Signal]:
        """The signals completed at point ``index`` (negative counts from the end, like a list)."""
        position = index + len(self.values) if index < 0 else index
        return [signal for signal in self.signals if signal.index == position]

    def fired_at(self, index: int) -> list[str]:
        """The ids of the rules that fired at point ``index`` (each once, in :data:`RULES` order)."""
        return list(dict.fromkeys(signal.rule for signal in self.signals_at(index)))

    def as_dict(self) -> dict[str, Any]:
        """Plain data: values, moving_ranges, limits, rules, signals."""
        return {"values": list(self.values), "moving_ranges": list(self.moving_ranges),
                "limits": self.limits.as_dict(), "rules": list(self.rules),
                "signals": [signal.as_dict() for signal in self.signals]}


def moving_ranges(values: Iterable[float]) -> list[float]:
    """``|x[i] - x[i-1]|`` for each point after the first (one fewer than the values)."""
    series = _checked(values)
    return [abs(later - earlier) for earlier, later in zip(series, series[1:])]


def xmr_limits(values: Iterable[float], baseline: int | None = None) -> XmrLimits:
    """XmR limits from ``values`` (or from their first ``baseline`` values).

    Args:
        values: the series, oldest first; finite numbers.
        baseline: compute the limits from the first ``baseline`` values only
            (``None``: from all of them).

    Raises:
        ValueError: fewer than two values (no moving range) in the window, a
            baseline below 2 or longer than the series, or a value that is not a
            finite number.
    """
    return _limits(_checked(values), baseline)


def _limits(series: list[float], baseline: int | None) -> XmrLimits:
    if baseline is not None:
        if isinstance(baseline, bool) or not isinstance(baseline, int) or baseline < 2:
            raise ValueError(f"spc: baseline must be a whole number of at least 2 values, got {baseline!r}")
        if baseline > len(series):
            raise ValueError(f"spc: baseline of {baseline} values but the series has only {len(series)}")
        series = series[:baseline]
    if len(series) < 2:
        raise ValueError(f"spc: XmR limits need at least 2 values (one moving range), got {len(series)}")
    ranges = [abs(later - earlier) for earlier, later in zip(series, series[1:])]
    return XmrLimits(centre=math.fsum(series) / len(series), mr_centre=math.fsum(ranges) / len(ranges),
                     points=len(series))


def detect(values: Iterable[float], limits: XmrLimits, rules: Sequence[str] = ALL_RULES) -> list[Signal]:
    """Every firing of ``rules`` over ``values`` against ``limits``, ordered by point, then by rule.

    Raises:
        ValueError: an unknown rule id, or a value that is not a finite number.
    """
    return _detect(_checked(values), limits, _rule_ids(rules))


def _detect(series: list[float], limits: XmrLimits, rules: tuple[str, ...]) -> list[Signal]:
    hits = detect_rules(series, limits.centre, limits.sigma, rules)
    return [_signal(hit, series, limits) for hit in hits]


def xmr_chart(values: Iterable[float], rules: Sequence[str] = ALL_RULES, *, baseline: int | None = None,
              limits: XmrLimits | None = None) -> XmrChart:
    """Limits and signals of a series in one call.

    Args:
        values: the series, oldest first.
        rules: the rule ids to test (default: all twelve); ``()`` tests none.
        baseline: limits from the first ``baseline`` values (ignored with ``limits``).
        limits: use these limits (e.g. from an earlier period) instead of computing them.

    Raises:
        ValueError: as :func:`xmr_limits` and :func:`detect`.
    """
    series = _checked(values)
    chosen = _rule_ids(rules)
    fixed = limits if limits is not None else _limits(series, baseline)
    ranges = tuple(abs(later - earlier) for earlier, later in zip(series, series[1:]))
    return XmrChart(values=tuple(series), moving_ranges=ranges, limits=fixed,
                    rules=chosen, signals=tuple(_detect(series, fixed, chosen)))


def _signal(hit: RuleHit, series: Sequence[float], limits: XmrLimits) -> Signal:
    threshold = None
    if hit.sigmas is not None and hit.side in ("above", "below"):
        lower, upper = limits.zone(hit.sigmas)
        threshold = upper if hit.side == "above" else lower
    return Signal(rule=hit.rule, index=hit.index, indices=hit.indices,
                  values=tuple(series[i] for i in hit.indices), side=hit.side, threshold=threshold, limits=limits)


def _rule_ids(rules: Sequence[str]) -> tuple[str, ...]:
    if isinstance(rules, str):
        rules = (rules,)
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise ValueError(f"spc: unknown rule(s) {', '.join(map(repr, unknown))}: use {', '.join(RULES)}")
    return tuple(dict.fromkeys(rules))


def _checked(values: Iterable[float]) -> list[float]:
    series = list(values)
    for position, value in enumerate(series):
        if type(value) is not float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"spc: value {position} is {value!r}, not a finite number")
    series = [float(value) for value in series]
    if not all(map(math.isfinite, series)):
        position = next(i for i, value in enumerate(series) if not math.isfinite(value))
        raise ValueError(f"spc: value {position} is {series[position]!r}, not a finite number")
    return series
