"""The four Western Electric and eight Nelson run rules over a series and its XmR limits.

Each detector takes the values, the centre line and sigma and yields one
:class:`RuleHit` per point that COMPLETES the rule's pattern: the point itself is
part of the pattern (beyond the zone on the pattern's side, the last of the run).
A run longer than needed fires again at every further point that extends it, so a
caller asking "did the rule fire on this point?" reads the hits at that index.

Zone tests are strict with a relative tolerance of ``1e-12``: a point exactly on a
zone boundary is not beyond it, a point exactly on the centre line is on neither
side (it ends a run), and equal neighbours neither rise nor fall. The tolerance
keeps the rules invariant to shifting or scaling a series (floating-point means
and sums are not exact) and keeps every rule silent on a constant series.
Pure Python, one pass per rule: linear in the length of the series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

Side = Literal["above", "below", "up", "down", "alternating", "within", "beyond"]

RULES: dict[str, str] = {
    "we1": "1 point beyond 3 sigma",
    "we2": "2 of 3 points in a row beyond 2 sigma on the same side",
    "we3": "4 of 5 points in a row beyond 1 sigma on the same side",
    "we4": "8 points in a row on the same side of the centre line",
    "nelson1": "1 point beyond 3 sigma",
    "nelson2": "9 points in a row on the same side of the centre line",
    "nelson3": "6 points in a row steadily increasing or decreasing",
    "nelson4": "14 points in a row alternating up and down",
    "nelson5": "2 of 3 points in a row beyond 2 sigma on the same side",
    "nelson6": "4 of 5 points in a row beyond 1 sigma on the same side",
    "nelson7": "15 points in a row within 1 sigma of the centre line",
    "nelson8": "8 points in a row beyond 1 sigma on either side",
}
"""Rule id -> its definition, in the order results are reported."""

PATTERN_POINTS: dict[str, int] = {
    "we1": 1, "nelson1": 1, "we2": 2, "nelson5": 2, "we3": 4, "nelson6": 4, "we4": 8, "nelson8": 8,
    "nelson2": 9, "nelson3": 6, "nelson4": 14, "nelson7": 15,
}
"""Rule id -> the fewest points in a row that can make its pattern (a chart shorter than this never fires it)."""

WESTERN_ELECTRIC: tuple[str, ...] = ("we1", "we2", "we3", "we4")
NELSON: tuple[str, ...] = tuple(f"nelson{number}" for number in range(1, 9))
ALL_RULES: tuple[str, ...] = (*WESTERN_ELECTRIC, *NELSON)

_EPS = 1e-12


@dataclass(frozen=True)
class RuleHit:
    """One firing of a rule: the point that completed the pattern and the points in it."""

    rule: str
    index: int
    indices: tuple[int, ...]
    side: Side
    sigmas: int | None
    """The zone the rule tests, in sigmas from the centre (3, 2, 1; ``None`` for runs and trends)."""


class _Zones:
    """Each point's position against the centre line and the 1, 2 and 3 sigma zones."""

    def __init__(self, values: Sequence[float], centre: float, sigma: float) -> None:
        # A deviation counts when it clears the line by more than 1e-12 of the magnitudes involved.
        self.values = values
        deviations = [value - centre for value in values]
        slack = [_EPS * (abs(value) + abs(centre)) for value in values]
        self.side = [1 if d > t else -1 if d < -t else 0 for d, t in zip(deviations, slack)]
        distance = [abs(d) for d in deviations]
        self.beyond = {k: [a - k * sigma > t + _EPS * k * sigma for a, t in zip(distance, slack)] for k in (1, 2, 3)}
        self.within1 = [a - sigma < -(t + _EPS * sigma) for a, t in zip(distance, slack)]

    @cached_property
    def moves(self) -> list[int]:
        """0 for the first point, then 1 / -1 / 0 as each value rises, falls or equals (within tolerance) the last."""
        moves = [0]
        for earlier, later in zip(self.values, self.values[1:]):
            step, slack = later - earlier, _EPS * (abs(later) + abs(earlier))
            moves.append(1 if step > slack else -1 if step < -slack else 0)
        return moves

    def beyond_on(self, k: int, sign: int) -> list[bool]:
        return [beyond and side == sign for beyond, side in zip(self.beyond[k], self.side)]


def detect_rules(values: Sequence[float], centre: float, sigma: float, rules: Sequence[str]) -> list[RuleHit]:
    """Every firing of ``rules`` over ``values``, ordered by point, then by rule (as in :data:`RULES`).

    Raises:
        ValueError: a rule id not in :data:`RULES`.
    """
    unknown = [rule for rule in rules if rule not in RULES]
    if unknown:
        raise ValueError(f"unknown control rule(s) {', '.join(map(repr, unknown))}: use {', '.join(RULES)}")
    zones = _Zones(values, centre, sigma)
    hits: list[RuleHit] = []
    found: dict[Callable[[str, _Zones], Iterator[RuleHit]], list[RuleHit]] = {}
    for rule in dict.fromkeys(rules):
        detector = _DETECTORS[rule]
        if detector in found:   # we1 = nelson1, we2 = nelson5, we3 = nelson6: one pass, two names
            hits.extend(replace(hit, rule=rule) for hit in found[detector])
        else:
            found[detector] = list(detector(rule, zones))
            hits.extend(found[detector])
    order = {rule: position for position, rule in enumerate(RULES)}
    return sorted(hits, key=lambda hit: (hit.index, order[hit.rule]))


def _runs(flags: Sequence[bool], length: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(index, the last ``length`` indices) wherever ``length`` flagged points in a row end."""
    run = 0
    for index, flag in enumerate(flags):
        run = run + 1 if flag else 0
        if run >= length:
            yield index, tuple(range(index - length + 1, index + 1))


def _k_of_n(flags: Sequence[bool], k: int, n: int) -> Iterator[tuple[int, tuple[int, ...]]]:
    """(index, the flagged indices) where a flagged point has ``k`` flagged among the ``n`` ending with it."""
    count = 0
    for index, flag in enumerate(flags):
        count += flag
        if index >= n:
            count -= flags[index - n]
        if flag and count >= k:
            yield index, tuple(i for i in range(max(0, index - n + 1), index + 1) if flags[i])


def _beyond3(rule: str, zones: _Zones) -> Iterator[RuleHit]:
    for index, beyond in enumerate(zones.beyond[3]):
        if beyond:
            yield RuleHit(rule, index, (index,), "above" if zones.side[index] > 0 else "below", 3)


def _same_side(length: int) -> Callable[[str, _Zones], Iterator[RuleHit]]:
    def detect(rule: str, zones: _Zones) -> Iterator[RuleHit]:
        for sign, side in ((1, "above"), (-1, "below")):
            for index, indices in _runs([s == sign for s in zones.side], length):
                yield RuleHit(rule, index, indices, side, None)  # type: ignore[arg-type]
    return detect


def _k_of_n_beyond(k: int, n: int, sigmas: int) -> Callable[[str, _Zones], Iterator[RuleHit]]:
    def detect(rule: str, zones: _Zones) -> Iterator[RuleHit]:
        for sign, side in ((1, "above"), (-1, "below")):
            for index, indices in _k_of_n(zones.beyond_on(sigmas, sign), k, n):
                yield RuleHit(rule, index, indices, side, sigmas)  # type: ignore[arg-type]
    return detect


def _trend(rule: str, zones: _Zones) -> Iterator[RuleHit]:
    moves = zones.moves
    for sign, side in ((1, "up"), (-1, "down")):
        for index, indices in _runs([move == sign for move in moves], 5):   # 5 moves: 6 points
            yield RuleHit(rule, index, (indices[0] - 1, *indices), side, None)  # type: ignore[arg-type]


def _alternating(rule: str, zones: _Zones) -> Iterator[RuleHit]:
    moves = zones.moves
    run = 0
    for index, move in enumerate(moves):
        run = 0 if move == 0 else run + 1 if index >= 2 and moves[index - 1] == -move else 1
        if run >= 13:   # 13 alternating moves: 14 points
            yield RuleHit(rule, index, tuple(range(index - 13, index + 1)), "alternating", None)


def _within1(rule: str, zones: _Zones) -> Iterator[RuleHit]:
    for index, indices in _runs(zones.within1, 15):
        yield RuleHit(rule, index, indices, "within", 1)


def _beyond1_either(rule: str, zones: _Zones) -> Iterator[RuleHit]:
    for index, indices in _runs(zones.beyond[1], 8):
        yield RuleHit(rule, index, indices, "beyond", 1)


_TWO_OF_THREE = _k_of_n_beyond(2, 3, 2)
_FOUR_OF_FIVE = _k_of_n_beyond(4, 5, 1)
_DETECTORS: dict[str, Callable[[str, _Zones], Iterator[RuleHit]]] = {
    "we1": _beyond3, "nelson1": _beyond3,
    "we2": _TWO_OF_THREE, "nelson5": _TWO_OF_THREE,
    "we3": _FOUR_OF_FIVE, "nelson6": _FOUR_OF_FIVE,
    "we4": _same_side(8), "nelson2": _same_side(9),
    "nelson3": _trend, "nelson4": _alternating, "nelson7": _within1, "nelson8": _beyond1_either,
}
