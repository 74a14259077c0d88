"""Evaluate parsed expressions (see ``pdcaflow.engine.definition.expressions``) against a cycle's context.

Only the AST's own node types are interpreted; values are looked up in plain
mappings and lists, never as Python attributes, so an expression cannot reach
anything the context does not hold.

Every operation is bounded: numbers stay under 100 digits and finite, text built
with ``+`` under 100,000 characters, ``round`` takes -15..15 digits, and an
evaluation visits each node of the (at most 500-character) expression once, under a
step budget. A value out of bounds raises ``ExpressionBoundError`` (PDCA126 when
``check_constants`` finds it in a literal while validating; a step error at run time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pdcaflow.engine.definition.expressions import (
    FUNCTIONS,
    MAX_EXPRESSION_CHARS,
    MAX_NUMBER_DIGITS,
    MAX_TEXT_CHARS,
    ROUND_DIGITS,
    Binary,
    Call,
    Expr,
    ExpressionBoundError,
    ExpressionError,
    Literal,
    Reference,
    TemplatePart,
    Unary,
    children,
    find_templates,
    parse_condition,
)
from pdcaflow.tasks.sdk.display import as_text, bound, decimals_for, rounded

MAX_STEPS = MAX_EXPRESSION_CHARS  # every node costs at least one character of the expression
_LARGEST = 10 ** MAX_NUMBER_DIGITS


class Evaluator:
    """One evaluation; ``steps`` counts the nodes visited (never more than ``MAX_STEPS``)."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.steps = 0

    def run(self, expr: Expr) -> Any:
        """Evaluate ``expr``.

        Raises:
            ExpressionError: a reference is missing or an operation does not apply to its values.
            ExpressionBoundError: a value is out of bounds.
        """
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionBoundError(f"expression needs more than {MAX_STEPS} steps", expr.offset)
        if isinstance(expr, Literal):
            return expr.value
        if isinstance(expr, Reference):
            return _resolve(expr, self.context)
        if isinstance(expr, Unary):
            operand = self.run(expr.operand)
            if expr.op == "not":
                return not operand
            _require_number(operand, expr.op, expr.offset)
            return -operand if expr.op == "-" else operand
        if isinstance(expr, Binary):
            return self._binary(expr)
        return _call(expr, [self.run(arg) for arg in expr.args])

    def _binary(self, expr: Binary) -> Any:
        left = self.run(expr.left)
        if expr.op == "and":
            return self.run(expr.right) if left else left
        if expr.op == "or":
            return left if left else self.run(expr.right)
        return _apply(expr, left, self.run(expr.right))


def evaluate(expr: Expr, context: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` against ``context`` (root name -> value).

    Raises:
        ExpressionError: a reference is missing or an operation does not apply to its values
            (``ExpressionBoundError`` when a value is out of bounds).
    """
    return Evaluator(context).run(expr)


@dataclass(frozen=True)
class Template:
    """A string with its ``${{ }}`` parts parsed once (the compiled plan holds these, not the text)."""

    text: str
    parts: tuple[TemplatePart, ...]

    @property
    def whole(self) -> bool:
        """Whether the string is one expression (its value keeps its type)."""
        return len(self.parts) == 1 and self.text.strip() == "${{" + self.parts[0].source + "}}"


@dataclass(frozen=True)
class Condition:
    """A ``when:`` condition (bare or one ``${{ }}``), parsed once."""

    text: str
    expr: Expr


def compile_template(text: str) -> Template:
    """Parse every ``${{ }}`` of ``text``.

    Raises:
        ExpressionError: offset relative to ``text``.
    """
    return Template(text, tuple(find_templates(text)))


def compile_condition(text: str) -> Condition:
    """Parse a ``when:`` condition.

    Raises:
        ExpressionError: with the offset of the problem in ``text``.
    """
    return Condition(text, parse_condition(text)[0])


def render_template(text: str | Template, context: Mapping[str, Any]) -> Any:
    """Evaluate the ``${{ }}`` parts of ``text``; a string that is one expression keeps its type.

    Raises:
        ExpressionError: as ``evaluate``, its message ending with the expression that failed.
    """
    template = text if isinstance(text, Template) else compile_template(text)
    parts = template.parts
    if template.whole:
        return _evaluate_shown(_shown(parts[0].source), parts[0].expr, context)
    pieces: list[str] = []
    position = 0
    for part in parts:
        pieces += [template.text[position:part.offset - 3],
                   _as_text(_evaluate_shown(_shown(part.source), part.expr, context), part.expr, context)]
        position = part.offset + len(part.source) + 2
    pieces.append(template.text[position:])
    return "".join(pieces)


def evaluate_condition(text: str | Condition, context: Mapping[str, Any]) -> Any:
    """Evaluate a ``when:`` condition (bare or one ``${{ }}``); an error names the condition.

    Raises:
        ExpressionError: as ``evaluate``, its message ending with the condition.
    """
    condition = text if isinstance(text, Condition) else compile_condition(text)
    return _evaluate_shown(condition.text.strip(), condition.expr, context)


def _shown(source: str) -> str:
    return f"${{{{ {source.strip()} }}}}"


def _evaluate_shown(shown: str, expr: Expr, context: Mapping[str, Any]) -> Any:
    try:
        value = evaluate(expr, context)
        _require_bounded(value, "the value", expr.offset)
        return value
    except ExpressionError as exc:
        raise type(exc)(f"{exc.message} (in `{shown}`)", exc.offset) from exc


def check_constants(expr: Expr) -> None:
    """Evaluate every part of ``expr`` that reads nothing, to find values out of bounds when validating.

    Raises:
        ExpressionBoundError: at the offset of the literal or operation out of bounds.
    """
    if _is_constant(expr):
        _only_bounds(lambda: evaluate(expr, {}))
        return
    if isinstance(expr, Call) and expr.name == "round" and len(expr.args) == 2 and _is_constant(expr.args[1]):
        digits = expr.args[1]
        _only_bounds(lambda: _round_digits(evaluate(digits, {}), digits.offset))
    for child in children(expr):
        check_constants(child)


def _only_bounds(compute: Callable[[], Any]) -> None:
    """Run ``compute``: a value out of bounds is raised, other errors (``1 / 0``) stay run-time failures as before."""
    try:
        compute()
    except ExpressionBoundError:
        raise
    except ExpressionError:
        pass


def _is_constant(expr: Expr) -> bool:
    return not isinstance(expr, Reference) and all(_is_constant(child) for child in children(expr))


def _as_text(value: Any, expr: Expr, context: Mapping[str, Any]) -> str:
    """A value inside text: a list as ``a, b`` (never Python's ``['a', 'b']``); a KPI's number with its decimals."""
    found = _kpi_field_of(expr, context)
    if found is not None and isinstance(value, int | float) and not isinstance(value, bool):
        result, field = found
        return bound(value) if field == "target" else rounded(value, decimals_for(result.get("unit"),
                                                                                  result.get("decimals")))
    return as_text(value)


def _kpi_field_of(expr: Expr, context: Mapping[str, Any]) -> tuple[Mapping[str, Any], str] | None:
    """The KPI result and the field a ``kpis.<id>.<number>`` (or ``previous.kpis...``) reference reads, or None."""
    if not isinstance(expr, Reference):
        return None
    scope: Any = context.get(expr.root)
    path = expr.path
    if expr.root == "previous" and path[:1] == ("kpis",):
        scope, path = scope.get("kpis") if isinstance(scope, Mapping) else None, path[1:]
    elif expr.root != "kpis":
        return None
    if len(path) < 2 or not isinstance(scope, Mapping):
        return None
    result = scope.get(path[0])
    field = str(path[1])
    return (result, field) if isinstance(result, Mapping) and field in _KPI_NUMBERS else None


_KPI_NUMBERS = ("actual", "delta", "margin", "target")


def _resolve(ref: Reference, context: Mapping[str, Any]) -> Any:
    if ref.root not in context:
        raise ExpressionError(f"'{ref.root}' is not available here", ref.offset)
    value: Any = context[ref.root]
    walked = ref.root
    for part in ref.path:
        if isinstance(value, Mapping) and str(part) in value:
            value = value[str(part)]
        elif isinstance(value, list | tuple) and isinstance(part, int) and -len(value) <= part < len(value):
            value = value[part]
        else:
            raise ExpressionError(f"'{walked}' has no '{part}'", ref.offset)
        walked = f"{walked}.{part}"
    return value


def _require_bounded(value: Any, what: str, offset: int) -> None:
    """A number under 100 digits and finite; other values pass (text is bounded where ``+`` builds it)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -_LARGEST < value < _LARGEST:
        raise ExpressionBoundError(f"{what} has more than {MAX_NUMBER_DIGITS} digits", offset)
    if isinstance(value, float) and not math.isfinite(value):
        shown = "not a number" if math.isnan(value) else "infinite (too large)"
        raise ExpressionBoundError(f"{what} is {shown}", offset)


def _require_number(value: Any, op: str, offset: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"'{op}' needs numbers, got {type(value).__name__} {value!r}", offset)
    _require_bounded(value, f"a number given to '{op}'", offset)


_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda left, right: left < right, "<=": lambda left, right: left <= right,
    ">": lambda left, right: left > right, ">=": lambda left, right: left >= right,
    "+": lambda left, right: left + right, "-": lambda left, right: left - right,
    "*": lambda left, right: left * right, "/": lambda left, right: left / right,
    "%": lambda left, right: left % right,
}


def _apply(expr: Binary, left: Any, right: Any) -> Any:
    if expr.op == "==":
        return left == right
    if expr.op == "!=":
        return left != right
    if expr.op == "+" and isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_TEXT_CHARS:
            raise ExpressionBoundError(f"'+' would make a text longer than {MAX_TEXT_CHARS:,} characters",
                                       expr.offset)
        return left + right
    _require_number(left, expr.op, expr.offset)
    _require_number(right, expr.op, expr.offset)
    if expr.op in ("/", "%") and right == 0:
        raise ExpressionError(f"division by zero in '{expr.op}'", expr.offset)
    try:
        result = _OPERATIONS[expr.op](left, right)
    except OverflowError as exc:
        raise ExpressionBoundError(f"'{expr.op}' gave a number too large", expr.offset) from exc
    _require_bounded(result, f"the result of '{expr.op}'", expr.offset)
    return result


def _call(expr: Call, args: list[Any]) -> Any:
    if expr.name == "round":
        return _round(expr, args)
    for arg in args:
        _require_bounded(arg, f"a value given to {expr.name}()", expr.offset)
    try:
        result = FUNCTIONS[expr.name](*args)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"{expr.name}(): {exc}", expr.offset) from exc
    _require_bounded(result, f"the result of {expr.name}()", expr.offset)
    return result


def _round(expr: Call, args: list[Any]) -> Any:
    if not 1 <= len(args) <= 2:
        raise ExpressionError(f"round() takes a number and optional digits, got {len(args)} values", expr.offset)
    _require_number(args[0], "round()", expr.offset)
    if len(args) == 1:
        try:
            return round(args[0])
        except (OverflowError, ValueError) as exc:
            raise ExpressionBoundError(f"round(): {exc}", expr.offset) from exc
    digits = _round_digits(args[1], expr.args[1].offset)
    return round(args[0], digits)


def _round_digits(digits: Any, offset: int) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise ExpressionError(f"round() takes a whole number of digits, got {digits!r}", offset)
    if not -ROUND_DIGITS <= digits <= ROUND_DIGITS:
        raise ExpressionBoundError(f"round() takes digits from -{ROUND_DIGITS} to {ROUND_DIGITS}, "
                                   f"got {digits}", offset)
    return digits
