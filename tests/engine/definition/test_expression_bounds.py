"""Expressions do bounded work (issue 13, finding 9).

``${{ round(123456789, -999999999999999999999) }}`` validated and then ran forever. Every function
and operator is bounded now: a literal or constant out of range is a validation error at its line
(PDCA126), a computed value out of range at run time is an ExpressionError (a StepError naming the
step and the expression), and random expressions always finish within a step budget.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any, TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdcaflow.engine.definition.evaluation import MAX_STEPS, Evaluator, evaluate, render_template
from pdcaflow.engine.definition.expressions import (
    MAX_EXPRESSION_CHARS,
    MAX_NUMBER_DIGITS,
    MAX_TEXT_CHARS,
    ROUND_DIGITS,
    ExpressionBoundError,
    Expr,
    ExpressionError,
    children,
    find_templates,
    parse_expression,
)
from pdcaflow.engine.definition.compile import planned_step
from pdcaflow.engine.definition.model import Step
from pdcaflow.engine.runtime.step_runner import StepError, call_task
from pdcaflow.tasks.sdk.registry import StepContext, describe
from tests.conftest import FIXTURES, run_pdca

MINIMAL = (FIXTURES / "valid" / "minimal.yaml").read_text(encoding="utf-8")
WITH_LINE = '      visits_per_month: "${{ params.visits_per_month }}"\n'  # line 19; the expression at column 30
BIG = int("9" * MAX_NUMBER_DIGITS)
CONTEXT: dict[str, Any] = {
    "params": {"big": BIG, "digits": -999999999999999999999, "text": "x" * (MAX_TEXT_CHARS // 2 + 1),
               "huge_float": 1e300, "n": 7, "f": 2.5},
    "steps": {"query": {"too_big": 10 ** 5000, "inf": float("inf"), "nan": float("nan")}},
    "previous": {}, "kpis": {}, "cycle": {"number": 1}, "process": {"id": "p"},
}


class Echoed(TypedDict):
    value: float


def _definition_with(tmp_path: Path, expression: str) -> Path:
    assert WITH_LINE in MINIMAL
    path = tmp_path / "process.yaml"
    line = f'      visits_per_month: "${{{{ {expression} }}}}"\n'
    path.write_text(MINIMAL.replace(WITH_LINE, line), encoding="utf-8")
    return path


# ----- validation: literals and constants out of range are located (PDCA126) -------------------------

@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("round(123456789, -999999999999999999999)", 47,
         f"round\\(\\) takes digits from -{ROUND_DIGITS} to {ROUND_DIGITS}"),
        ("round(params.visits_per_month.A, 16)", 63, "round\\(\\) takes digits"),
        ("round(1.5, -(8 + 8))", 41, "round\\(\\) takes digits"),
        ("1" * 101 + " + 1", 30, f"more than {MAX_NUMBER_DIGITS} digits"),
        ("1e999 * 2", 30, "too large"),
        ("1" * 60 + " * " + "1" * 60, 91, f"more than {MAX_NUMBER_DIGITS} digits"),
    ],
)
def test_out_of_range_literals_are_located(tmp_path: Path, expression: str, column: int, message: str) -> None:
    path = _definition_with(tmp_path, expression)
    result = run_pdca("validate", path.name, cwd=tmp_path, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"process.yaml:19:{column}: PDCA126 " in result.stderr, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_computed_round_out_of_range_is_a_step_error_naming_the_expression() -> None:
    def echo(*, value: float) -> Echoed:
        return {"value": value}

    step = Step.model_validate({"id": "rounding", "phase": "do", "uses": "x.y",
                                "with": {"value": "${{ round(123456789, params.digits) }}"}})
    with pytest.raises(StepError, match=r"step 'rounding': .*round\(\) takes digits from -15 to 15.*"
                       r"in `\$\{\{ round\(123456789, params.digits\) \}\}`"):
        call_task(planned_step(step), describe(echo, "x.y"), CONTEXT, StepContext("p", 1))


# ----- run time: every operation is bounded -----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("round(123456789, params.digits)", "round\\(\\) takes digits from -15 to 15"),
        ("round(steps.query.inf)", "infinite"),
        ("round(steps.query.nan)", "not a number"),
        ("params.big * params.big", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("params.big + params.big", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("-params.big - params.big", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("params.huge_float * params.huge_float", "too large"),
        ("steps.query.too_big / 3", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("steps.query.too_big % 3", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("abs(steps.query.too_big)", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("max(steps.query.too_big, 1)", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("params.text + params.text", f"longer than {MAX_TEXT_CHARS:,} characters"),
        ("steps.query.inf + 1", "infinite"),
    ],
)
def test_out_of_range_values_are_expression_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionBoundError, match=message):
        evaluate(parse_expression(text), CONTEXT)


def test_round_takes_whole_digits() -> None:
    with pytest.raises(ExpressionError, match="round\\(\\) takes a whole number of digits, got 1.5"):
        evaluate(parse_expression("round(params.f, 1.5)"), CONTEXT)


def test_a_huge_integer_is_not_turned_into_text() -> None:
    with pytest.raises(ExpressionBoundError, match=f"more than {MAX_NUMBER_DIGITS} digits"):
        render_template("total: ${{ steps.query.too_big }}", CONTEXT)


def test_values_at_the_limits_are_fine() -> None:
    assert evaluate(parse_expression("round(123456789, -15)"), CONTEXT) == 0
    assert evaluate(parse_expression("round(2.5, 15)"), CONTEXT) == 2.5
    assert evaluate(parse_expression("params.big"), CONTEXT) == BIG
    assert evaluate(parse_expression("params.big - 1 + 1"), CONTEXT) == BIG
    assert evaluate(parse_expression("1" * 60 + " * 1"), CONTEXT) == int("1" * 60)
    assert evaluate(parse_expression("12345678901234567890123"), CONTEXT) == 12345678901234567890123  # no float detour


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 ** 3", "expected a value but found '\\*'"),  # no exponent operator to blow up
        ("-" * 100 + "1", "nested more than"),
        ("not " * 70 + "true", "nested more than"),
        ("1" + " + 1" * 70, "nested more than"),
        ("(" * 33 + "1" + ")" * 33, "nested more than"),
        ("x" * (MAX_EXPRESSION_CHARS + 1), "longer than"),
    ],
)
def test_deep_or_long_expressions_are_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_many_unclosed_templates_are_found_in_linear_time() -> None:
    text = "${{" * 30_000  # a lazy regular expression looked for '}}' after every one of them: quadratic
    started = time.monotonic()
    with pytest.raises(ExpressionError, match="not closed") as caught:
        find_templates(text)
    assert caught.value.offset == 0
    assert time.monotonic() - started < 2


# ----- property: random expressions finish within a step budget ------------------------------------

_LEAVES = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.floats(min_value=-1e30, max_value=1e30, allow_nan=False).map(lambda value: repr(abs(value))),
    st.sampled_from(["'ab'", "true", "null", "params.big", "params.text", "params.n", "params.f",
                     "steps.query.too_big", "params.digits", "params.huge_float"]),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "%", "<", "==", "and", "or"]), children)
    return st.one_of(
        binary.map(lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"),
        children.map(lambda inner: f"-{inner}"),
        children.map(lambda inner: f"not {inner}"),
        st.tuples(st.sampled_from(["min", "max", "round", "abs", "len", "coalesce"]),
                  st.lists(children, min_size=1, max_size=3)).map(lambda call: f"{call[0]}({', '.join(call[1])})"),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_LEAVES, _extend, max_leaves=40))
def test_random_expressions_end_within_the_step_budget(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError:
        return
    evaluator = Evaluator(CONTEXT)
    try:
        value = evaluator.run(expr)
    except ExpressionError:
        value = None
    assert evaluator.steps <= _node_count(expr) <= MAX_STEPS
    if isinstance(value, int) and not isinstance(value, bool):
        assert abs(value) < 10 ** MAX_NUMBER_DIGITS
    if isinstance(value, float):
        assert math.isfinite(value)
    if isinstance(value, str):
        assert len(value) <= MAX_TEXT_CHARS


def _node_count(expr: Expr) -> int:
    return 1 + sum(_node_count(child) for child in children(expr))


def test_long_text_read_whole_is_fine() -> None:
    """Only ``+`` builds text, so only ``+`` is bounded: a long step output is still read, measured and shown."""
    long_text = {**CONTEXT, "steps": {"report": {"text": "y" * (MAX_TEXT_CHARS * 2)}}}
    assert render_template("${{ steps.report.text }}", long_text) == "y" * (MAX_TEXT_CHARS * 2)
    assert evaluate(parse_expression("len(steps.report.text)"), long_text) == MAX_TEXT_CHARS * 2
