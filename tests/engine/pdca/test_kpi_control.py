"""kpi.check with `control:`: XmR limits on the KPI's history, the rules that fire on this cycle's value."""

from __future__ import annotations

from typing import Any

import pytest

from pdcaflow.engine.pdca.check import check
from pdcaflow.engine.pdca.policy_rules import signal_test
from pdcaflow.engine.pdca.records import KpiResult
from pdcaflow.tasks.sdk.registry import StepContext

STABLE = [4.0, 4.2, 4.1, 4.3, 4.0, 4.2, 4.1, 4.3, 4.0, 4.2]   # cycles 1-10: centre 4.14, MR-bar 0.2


def spec(actual: float | None, rules: list[str] | None = None, baseline: int | None = None) -> dict[str, Any]:
    control = None if rules is None else {"chart": "xmr", "rules": rules, "baseline": baseline}
    return {"unit": "score (1-5)", "direction": "up", "source": "x.value", "control": control,
            "target": {"min": 3.5}, "actual": actual}


def history(*actuals: float | None, first_cycle: int = 1) -> list[dict[str, Any]]:
    return [{"cycle": first_cycle + offset, "actual": value, "status": "no_data" if value is None else "met"}
            for offset, value in enumerate(actuals)]


def run(actual: float | None, earlier: list[dict[str, Any]], rules: list[str], baseline: int | None = None,
        **options: Any) -> dict[str, Any]:
    ctx = StepContext(process_id="retail", cycle=len(earlier) + 1, history={"sat": earlier},
                      kpi_specs={"sat": spec(actual, rules, baseline)})
    outcome = check(ctx, **options)
    result: dict[str, Any] = outcome["results"]["sat"]
    assert outcome["signals"] == ({"sat": result["signals"]} if result["signals"] else {})
    return result


def test_a_point_beyond_the_limits_fires_we1_with_its_numbers() -> None:
    result = run(2.0, history(*STABLE), ["we1", "we2"])
    assert result["signals"] == ["we1"]   # beyond 3 sigma; alone beyond 2 sigma, so no we2
    control = result["control"]
    assert control["status"] == "tested"
    limits = control["limits"]
    values = [*STABLE, 2.0]
    centre = sum(values) / 11
    mr_bar = sum(abs(b - a) for a, b in zip(values, values[1:])) / 10
    assert limits["centre"] == pytest.approx(centre)
    assert limits["ucl"] == pytest.approx(centre + 3 * mr_bar / 1.128)
    assert limits["lcl"] == pytest.approx(centre - 3 * mr_bar / 1.128)
    assert limits["points"] == 11 and control["limit_cycles"] == [1, 11] and control["points"] == 11
    we1 = control["signals"][0]
    assert (we1["rule"], we1["cycle"], we1["cycles"], we1["values"], we1["side"]) == ("we1", 11, [11], [2.0], "below")
    assert we1["threshold"] == pytest.approx(limits["lcl"])
    assert control["message"] == "we1 fired this cycle"


def test_only_the_selected_rules_are_tested() -> None:
    result = run(2.0, history(*STABLE), ["we4"])
    assert result["signals"] == [] and result["control"]["signals"] == []
    assert result["control"]["message"] == "no rule of we4 fired this cycle"


def test_a_stable_cycle_fires_nothing() -> None:
    result = run(4.1, history(*STABLE), ["we1", "we2", "we3", "we4"])
    assert result["signals"] == [] and result["control"]["status"] == "tested"


def test_signals_are_this_cycles_not_earlier_ones() -> None:
    earlier = history(*STABLE, 2.0)            # cycle 11 was beyond the limits ...
    result = run(4.1, earlier, ["we1"])        # ... cycle 12 is not
    assert result["signals"] == []


def test_too_few_values_give_no_limits_and_say_so() -> None:
    result = run(9.0, history(4.0, 4.2, 4.1, 4.3), ["we1"])
    assert result["signals"] == []
    assert result["control"]["status"] == "too_few_points"
    assert result["control"]["limits"] is None
    assert result["control"]["message"] == "control limits need 6 values; 5 recorded so far: no rule tested"


def test_control_min_points_is_a_parameter() -> None:
    result = run(9.0, history(4.0, 4.2, 4.1, 4.3), ["we1"], control_min_points=5)
    assert result["signals"] == ["we1"]


def test_cycles_without_data_are_skipped_but_keep_their_cycle_numbers() -> None:
    earlier = history(*STABLE[:5], None, *STABLE[5:])    # cycle 6 had no data
    result = run(2.0, earlier, ["we1"])
    assert result["control"]["limits"]["points"] == 11
    assert result["control"]["limit_cycles"] == [1, 12]
    assert result["control"]["signals"][0]["cycles"] == [12]


def test_no_value_this_cycle_tests_no_rule() -> None:
    result = run(None, history(*STABLE), ["we1"])
    assert result["signals"] == [] and result["control"]["status"] == "no_data"


def test_a_baseline_fixes_the_limits_on_the_first_cycles() -> None:
    shifted = [*STABLE, 4.6, 4.7, 4.6, 4.7]        # cycles 11-14 drifted up
    result = run(4.6, history(*shifted), ["we1", "we2", "we3", "we4"], baseline=10)
    control = result["control"]
    assert control["limit_cycles"] == [1, 10] and control["limits"]["points"] == 10
    assert control["limits"]["centre"] == pytest.approx(sum(STABLE) / 10)
    assert control["limits"]["ucl"] == pytest.approx(sum(STABLE) / 10 + 3 * 0.2 / 1.128)
    # 4.6 and 4.7 lie beyond the baseline's 2 sigma line (4.495), below its UCL (4.672) only for 4.6
    assert "we2" in result["signals"] and "we3" in result["signals"]
    unfixed = run(4.6, history(*shifted), ["we1", "we2", "we3", "we4"])
    assert unfixed["control"]["limit_cycles"] == [1, 15]
    assert unfixed["control"]["limits"]["centre"] > control["limits"]["centre"]


def test_a_baseline_longer_than_the_history_waits() -> None:
    result = run(9.0, history(*STABLE[:6]), ["we1"], baseline=12)
    assert result["signals"] == []
    assert result["control"]["message"] == ("control limits need the 12-cycle baseline; 7 recorded so far: "
                                            "no rule tested")


def test_the_baseline_reaches_past_history_cycles() -> None:
    """Limits from the first recorded cycles even when the rules only look at the last few."""
    result = run(4.1, history(*STABLE, *STABLE), ["we1"], baseline=10, history_cycles=3)
    assert result["control"]["limit_cycles"] == [1, 10] and result["control"]["points"] == 4


def test_a_policy_signal_condition_reads_the_signal() -> None:
    fired = KpiResult.from_json(run(2.0, history(*STABLE), ["we1"]))
    assert signal_test("sat", fired, "we1") == (True, "sat control chart shows we1 this cycle (2)")
    quiet = KpiResult.from_json(run(4.1, history(*STABLE), ["we1"]))
    assert signal_test("sat", quiet, "we1") == (False, "sat control chart shows no we1 this cycle (signals: none)")


def test_the_engines_baseline_history_fixes_the_limits_beyond_the_history_window() -> None:
    sat = {**spec(2.0, ["we1"], baseline=10), "baseline_history": history(*STABLE)}   # cycles 1-10
    recent = history(4.1, 4.2, 4.0, first_cycle=98)                                    # cycles 98-100
    result = check(StepContext(process_id="retail", cycle=101, history={"sat": recent},
                               kpi_specs={"sat": sat}))["results"]["sat"]
    assert result["control"]["limit_cycles"] == [1, 10]
    assert result["control"]["limits"]["centre"] == pytest.approx(4.14)
    assert result["signals"] == ["we1"] and result["control"]["signals"][0]["cycles"] == [101]
