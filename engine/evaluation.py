"""Evaluate parsed expressions (see ``engine.expressions``) against a cycle's context.

Only the AST's own node types are interpreted; values are looked up in plain
mappings and lists, never as Python attributes, so an expression cannot reach
anything the context does not hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.expressions import (
    FUNCTIONS,
    TEMPLATE_PATTERN,
    Binary,
    Expr,
    ExpressionError,
    Literal,
    Reference,
    Unary,
    find_templates,
    parse_expression,
)


def evaluate(expr: Expr, context: Mapping[str, Any]) -> Any:
    """Evaluate ``expr`` against ``context`` (root name -> value).

    Raises:
        ExpressionError: a reference is missing or an operation does not apply to its values.
    """
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Reference):
        return _resolve(expr, context)
    if isinstance(expr, Unary):
        operand = evaluate(expr.operand, context)
        if expr.op == "not":
            return not operand
        _require_number(operand, expr.op, expr.offset)
        return -operand if expr.op == "-" else operand
    if isinstance(expr, Binary):
        return _binary(expr, context)
    args = [evaluate(arg, context) for arg in expr.args]
    try:
        return FUNCTIONS[expr.name](*args)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(f"{expr.name}(): {exc}", expr.offset) from exc


def render_template(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate the ``${{ }}`` parts of ``text``; a string that is one expression keeps its type."""
    parts = find_templates(text)
    if len(parts) == 1 and text.strip() == "${{" + parts[0].source + "}}":
        return evaluate(parts[0].expr, context)
    return TEMPLATE_PATTERN.sub(lambda m: _as_text(evaluate(parse_expression(m.group(1)), context)), text)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def _require_number(value: Any, op: str, offset: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExpressionError(f"'{op}' needs numbers, got {type(value).__name__} {value!r}", offset)


def _binary(expr: Binary, context: Mapping[str, Any]) -> Any:
    left = evaluate(expr.left, context)
    if expr.op == "and":
        return evaluate(expr.right, context) if left else left
    if expr.op == "or":
        return left if left else evaluate(expr.right, context)
    right = evaluate(expr.right, context)
    if expr.op == "==":
        return left == right
    if expr.op == "!=":
        return left != right
    if expr.op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    _require_number(left, expr.op, expr.offset)
    _require_number(right, expr.op, expr.offset)
    if expr.op in ("/", "%") and right == 0:
        raise ExpressionError(f"division by zero in '{expr.op}'", expr.offset)
    result = {
        "<": lambda: left < right, "<=": lambda: left <= right,
        ">": lambda: left > right, ">=": lambda: left >= right,
        "+": lambda: left + right, "-": lambda: left - right,
        "*": lambda: left * right, "/": lambda: left / right, "%": lambda: left % right,
    }[expr.op]()
    if isinstance(result, float) and not math.isfinite(result):
        raise ExpressionError(f"'{expr.op}' gave a non-finite number", expr.offset)
    return result
