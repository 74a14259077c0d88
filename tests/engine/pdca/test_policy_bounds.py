"""A policy that multiplies or adds without a bound cannot push a param past what a record holds (issue 13)."""

from __future__ import annotations

import pytest

from pdcaflow.engine.pdca.policy_effects import PolicyEffectError, change_param


@pytest.mark.parametrize(
    ("old", "change"),
    [(1e308, {"multiply": 10.0}), (1.7e308, {"add": 1e308}), (-1e308, {"multiply": 10.0}), (9e99, {"multiply": 2.0})],
)
def test_a_param_cannot_grow_past_a_finite_number(old: float, change: dict[str, float]) -> None:
    params = {"visits": old}
    with pytest.raises(PolicyEffectError, match="cannot change param 'visits': .* would become too large"):
        change_param(params, {"param": "visits", **change})
    assert params == {"visits": old}  # unchanged: nothing half-applied


def test_a_max_keeps_a_growing_param_in_bounds() -> None:
    params = {"visits": 1e308}
    effect = change_param(params, {"param": "visits", "multiply": 10.0, "max": 50.0})
    assert params == {"visits": 50.0} and effect.clamped
