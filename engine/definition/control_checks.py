"""Checks of each KPI's `control:` against the `kpi.check` step that charts it: every selected rule can fire.

``kpi.check`` charts a KPI's last ``history_cycles`` values and this cycle's. A rule
whose pattern needs more points in a row than that (``nelson7``: 15) can never
fire, and a KPI without a ``baseline`` whose limits need more values
(``control_min_points``) than that never gets limits: both would be silent
forever, so they are definition errors. ``with:`` values given as expressions are
not known before the run and are not checked here.
"""

from __future__ import annotations

from typing import Any

from pdcaflow.engine.definition.model import Kpi, Step
from pdcaflow.engine.definition.semantic import KPI_CHECK_TASK, Checker
from pdcaflow.engine.pdca.check import HISTORY_CYCLES
from pdcaflow.engine.pdca.control import MIN_POINTS
from pdcaflow.engine.pdca.spc_rules import PATTERN_POINTS


def check_control(checker: Checker) -> None:
    """PDCA230: a selected rule needs more points than the chart holds; PDCA231: limits are never reached."""
    for step in checker.definition.steps:
        if step.uses != KPI_CHECK_TASK:
            continue
        history = _literal(step, "history_cycles", HISTORY_CYCLES)
        min_points = _literal(step, "control_min_points", MIN_POINTS)
        if history is None:
            continue
        for index, kpi in enumerate(checker.definition.kpis):
            if kpi.control is not None:
                _rules(checker, step, index, kpi, history + 1)
                if kpi.control.baseline is None and min_points is not None and min_points > history + 1:
                    checker.report("PDCA231", f"KPI '{kpi.id}' never gets control limits: they need {min_points} "
                                   f"values (control_min_points) and step '{step.id}' charts only {history + 1} "
                                   f"(history_cycles {history} and this cycle)", ("kpis", index, "control"),
                                   f"give the KPI a `baseline:`, or raise `history_cycles` of step '{step.id}' to "
                                   f"at least {min_points - 1}")


def _rules(checker: Checker, step: Step, index: int, kpi: Kpi, charted: int) -> None:
    assert kpi.control is not None
    for position, rule in enumerate(kpi.control.rules):
        needed = PATTERN_POINTS[rule]
        if needed > charted:
            checker.report("PDCA230", f"KPI '{kpi.id}': rule {rule} needs {needed} points in a row, but step "
                           f"'{step.id}' charts only {charted} (history_cycles {charted - 1} and this cycle)",
                           ("kpis", index, "control", "rules", position),
                           f"raise `history_cycles` of step '{step.id}' to at least {needed - 1}, or drop {rule}")


def _literal(step: Step, name: str, default: int) -> int | None:
    """The step's literal integer ``with:`` value (the default when absent); ``None`` for an expression."""
    value: Any = step.with_.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
