"""The expression language: parses what it should, refuses the rest, and never evaluates Python."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdcaflow.engine.definition.evaluation import evaluate, render_template
from pdcaflow.engine.definition.expressions import ExpressionError, find_templates, parse_condition, parse_expression, references

CONTEXT: dict[str, Any] = {
    "params": {"visits_per_month": {"A": 4, "B": 2}, "alpha": 0.4},
    "previous": {"kpis": {"satisfaction": {"actual": 4.1, "met": False}}},
    "kpis": {"satisfaction": {"actual": 4.3, "met": True}},
    "steps": {"identify_customers": {"classes": ["A", "B"], "counts": {"A": 10}}},
    "cycle": {"number": 3},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.visits_per_month.B + 1", 3),
        ("params.visits_per_month['A'] * 2", 8),
        ("previous.kpis.satisfaction.actual < 4.2 and not previous.kpis.satisfaction.met", True),
        ("kpis.satisfaction.met or false", True),
        ("max(params.alpha, 0.5) - min(1, 2)", -0.5),
        ("round(10 / 3, 2)", 3.33),
        ("len(steps.identify_customers.classes)", 2),
        ("steps.identify_customers.classes[1]", "B"),
        ("coalesce(null, 'x')", "x"),
        ("cycle.number % 2 == 1", True),
        ("-(2 + 3) * 2", -10),
        ("'a' + \"b\"", "ab"),
        ("1 < 2 == true", True),  # comparisons chain left to right, not like Python
    ],
)
def test_evaluates(text: str, expected: Any) -> None:
    assert evaluate(parse_expression(text), CONTEXT) == expected


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        ("__import__('os').system('ls')", "unknown function '__import__'", 0),
        ("os.system", "unknown name 'os'", 0),
        ("params.a +", "expected a value", 10),
        ("(1 + 2", r"expected '\)'", 6),
        ("1 2", "unexpected '2'", 2),
        ("params.a ; 1", "unexpected character ';'", 9),
        ("params.x[1.5]", "an index must be a whole number", 9),
        ("", "empty expression", 0),
        ("1 + " * 200 + "1", "longer than 500", 0),
    ],
)
def test_refuses_with_offset(text: str, message: str, offset: int) -> None:
    with pytest.raises(ExpressionError, match=message) as caught:
        parse_expression(text)
    assert caught.value.offset == offset


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_expression("(" * 40 + "1" + ")" * 40)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params.missing", "'params' has no 'missing'"),
        ("params.alpha + 'x'", "'\\+' needs numbers"),
        ("1 / 0", "division by zero"),
    ],
)
def test_runtime_errors_are_expression_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(parse_expression(text), CONTEXT)


def test_templates_and_references() -> None:
    text = "visit ${{ params.visits_per_month.B }} times, then ${{ steps.identify_customers.classes[0] }}"
    parts = find_templates(text)
    assert [ref.dotted for part in parts for ref in references(part.expr)] == [
        "params.visits_per_month.B", "steps.identify_customers.classes.0"]
    assert text[parts[0].offset + parts[0].expr.offset:].startswith("params.")  # type: ignore[union-attr]
    assert render_template(text, CONTEXT) == "visit 2 times, then A"
    assert render_template("${{ params.visits_per_month }}", CONTEXT) == {"A": 4, "B": 2}


def test_unclosed_template_is_located() -> None:
    with pytest.raises(ExpressionError, match="not closed") as caught:
        find_templates("ok ${{ params.a }} and ${{ params.b")
    assert caught.value.offset == 23


def test_condition_accepts_bare_or_wrapped() -> None:
    bare, bare_offset = parse_condition("cycle.number > 1")
    wrapped, wrapped_offset = parse_condition("${{ cycle.number > 1 }}")
    assert bare == parse_expression("cycle.number > 1")
    assert evaluate(wrapped, CONTEXT) is True and wrapped_offset == 3 and bare_offset == 0


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        parse_expression(text)
    except ExpressionError as exc:
        assert 0 <= exc.offset <= len(text)


def test_text_shows_lists_as_words_and_kpi_numbers_with_their_decimals() -> None:
    context = {"steps": {"check": {"missed": ["satisfaction", "stockout_rate"]}},
               "kpis": {"compliance": {"actual": 78.947368421, "unit": "%", "target": {"min": 80.25}},
                        "score": {"actual": 4.0574, "unit": "score (1-5)", "decimals": 1}}}
    text = ("Missed: ${{ steps.check.missed }}; compliance ${{ kpis.compliance.actual }} % "
            "(target ${{ kpis.compliance.target.min }} %), score ${{ kpis.score.actual }}")
    assert render_template(text, context) == ("Missed: satisfaction, stockout_rate; compliance 78.9 % "
                                              "(target 80.25 %), score 4.1")
    assert render_template("${{ steps.check.missed }}", context) == ["satisfaction", "stockout_rate"]
