"""The small, safe expression language of definitions.

Expressions appear inside strings as ``${{ ... }}`` (``with:`` values, titles) or
alone (a step's ``when:``, a policy's ``when: {expr: ...}``). They are parsed
here into a tiny AST; nothing is ever handed to Python's ``eval``. The language:

* literals: numbers, ``'text'`` or ``"text"``, ``true``, ``false``, ``null``
* references: ``params.visits_per_month.B``, ``steps.forecast_demand.mape``,
  ``previous.kpis.satisfaction.actual``, ``kpis.satisfaction.met``,
  ``cycle.number``; items by index or key: ``steps.x.rows[0]``, ``params.m['B']``
* operators: ``+ - * / %``, ``== != < <= > >=``, ``and or not``, parentheses
* functions: ``min max abs round len coalesce``

Everything is bounded, so that no definition can make the engine work without end:
an expression is at most 500 characters and 32 parentheses / 64 operations deep;
numbers have at most 100 digits and are finite; ``round`` takes -15..15 digits;
text built with ``+`` is at most 100,000 characters (``pdcaflow.engine.definition.evaluation`` checks
values at run time, ``check_constants`` there checks literals when validating).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pdcaflow.engine.errors import PdcaError

MAX_EXPRESSION_CHARS = 500
MAX_NESTING = 32  # parentheses
MAX_DEPTH = 64  # operations inside operations (``- - 1``, ``1 + 1 + 1``): keeps evaluation's recursion shallow
MAX_NUMBER_DIGITS = 100
ROUND_DIGITS = 15
MAX_TEXT_CHARS = 100_000
ROOTS = ("params", "steps", "previous", "kpis", "cycle", "process")
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "len": len,
    "coalesce": lambda *values: next((v for v in values if v is not None), None),
}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|[-+*/%<>()\[\].,]))"
)
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}


class ExpressionError(PdcaError):
    """An expression is malformed (at parse time) or cannot be evaluated (at run time).

    Attributes:
        offset: 0-based character offset in the expression text where the problem is.
    """

    code = "PDCA211"

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExpressionBoundError(ExpressionError):
    """A value is out of the language's bounds (digits, size, ``round`` digits): found by a check, never a hang."""

    code = "PDCA126"


@dataclass(frozen=True)
class Literal:
    value: Any
    offset: int


@dataclass(frozen=True)
class Reference:
    """``root.a.b[0]``: a path into the evaluation context."""

    root: str
    path: tuple[str | int, ...]
    offset: int
    length: int

    @property
    def dotted(self) -> str:
        return ".".join([self.root, *(str(part) for part in self.path)])


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr
    offset: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    offset: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    offset: int


Expr = Literal | Reference | Unary | Binary | Call


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    offset: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            bad = len(text) - len(text[position:].lstrip())
            raise ExpressionError(f"unexpected character {text[bad]!r}", bad)
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class _Parser:
    """Precedence climbing: or < and < not < comparison < + - < * / % < unary - < postfix."""

    _BINARY_LEVELS = (("or",), ("and",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))

    def __init__(self, text: str) -> None:
        self._tokens = tokenize(text)
        self._index = 0
        self._depth = 0

    def parse(self) -> Expr:
        expr = self._binary(0)
        token = self._peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected {token.text!r} after a complete expression", token.offset)
        return expr

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _take(self) -> Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _expect(self, text: str) -> Token:
        token = self._take()
        if token.text != text or token.kind not in ("op", "name"):
            found = repr(token.text) if token.kind != "end" else "the end"
            raise ExpressionError(f"expected {text!r} but found {found}", token.offset)
        return token

    def _binary(self, level: int) -> Expr:
        if level == len(self._BINARY_LEVELS):
            return self._unary()
        if self._BINARY_LEVELS[level] == ("and",):
            left = self._not()
        else:
            left = self._binary(level + 1)
        while self._peek().text in self._BINARY_LEVELS[level] and self._peek().kind in ("op", "name"):
            op = self._take()
            right = self._not() if op.text == "and" else self._binary(level + 1)
            left = Binary(op.text, left, right, op.offset)
        return left

    def _not(self) -> Expr:
        prefixes = self._prefixes(lambda token: token.kind == "name" and token.text == "not")
        return self._wrap(prefixes, self._binary(2))

    def _unary(self) -> Expr:
        prefixes = self._prefixes(lambda token: token.kind == "op" and token.text in ("-", "+"))
        return self._wrap(prefixes, self._primary())

    def _prefixes(self, wanted: Callable[[Token], bool]) -> list[Token]:
        """Prefix operators in a row, read in a loop (a recursion here could be 250 calls deep)."""
        prefixes: list[Token] = []
        while wanted(self._peek()):
            prefixes.append(self._take())
            if len(prefixes) > MAX_DEPTH:
                raise ExpressionError(f"expression is nested more than {MAX_DEPTH} operations deep",
                                      prefixes[-1].offset)
        return prefixes

    @staticmethod
    def _wrap(prefixes: list[Token], operand: Expr) -> Expr:
        for token in reversed(prefixes):
            operand = Unary(token.text, operand, token.offset)
        return operand

    def _primary(self) -> Expr:
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise ExpressionError(f"expression is nested more than {MAX_NESTING} levels", self._peek().offset)
        try:
            return self._atom()
        finally:
            self._depth -= 1

    def _atom(self) -> Expr:
        token = self._take()
        if token.kind == "number":
            return Literal(_number(token), token.offset)
        if token.kind == "string":
            return Literal(_unescape(token.text), token.offset)
        if token.kind == "op" and token.text == "(":
            inner = self._binary(0)
            self._expect(")")
            return inner
        if token.kind == "name":
            return self._name(token)
        found = repr(token.text) if token.kind != "end" else "the end of the expression"
        raise ExpressionError(f"expected a value but found {found}", token.offset)

    def _name(self, token: Token) -> Expr:
        literals = {"true": True, "false": False, "null": None}
        if token.text in literals:
            return Literal(literals[token.text], token.offset)
        if token.text in _KEYWORDS:
            raise ExpressionError(f"expected a value but found {token.text!r}", token.offset)
        if self._peek().text == "(":
            return self._call(token)
        if token.text not in ROOTS:
            raise ExpressionError(
                f"unknown name {token.text!r}; references start with one of: {', '.join(ROOTS)}", token.offset)
        path: list[str | int] = []
        end = token.offset + len(token.text)
        while self._peek().text in (".", "["):
            if self._take().text == ".":
                part = self._take()
                if part.kind not in ("name", "number"):
                    raise ExpressionError("expected a name after '.'", part.offset)
                path.append(part.text)
                end = part.offset + len(part.text)
            else:
                index = self._take()
                if index.kind == "number" and index.text.isdigit():
                    path.append(int(index.text))
                elif index.kind == "string":
                    path.append(_unescape(index.text))
                else:
                    raise ExpressionError("an index must be a whole number or a quoted key", index.offset)
                end = self._expect("]").offset + 1
        return Reference(token.text, tuple(path), token.offset, end - token.offset)

    def _call(self, token: Token) -> Expr:
        if token.text not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {token.text!r}; available: {', '.join(FUNCTIONS)}", token.offset)
        self._expect("(")
        args: list[Expr] = []
        if self._peek().text != ")":
            args.append(self._binary(0))
            while self._peek().text == ",":
                self._take()
                args.append(self._binary(0))
        self._expect(")")
        return Call(token.text, tuple(args), token.offset)


def _number(token: Token) -> int | float:
    digits = len(token.text.lower().split("e")[0].replace(".", ""))
    if digits > MAX_NUMBER_DIGITS:
        raise ExpressionBoundError(f"number has more than {MAX_NUMBER_DIGITS} digits", token.offset)
    if "." not in token.text and "e" not in token.text.lower():
        return int(token.text)  # exact: a float would turn 12345678901234567890123 into ...7741440
    number = float(token.text)
    if not math.isfinite(number):
        raise ExpressionBoundError(f"number {token.text} is too large", token.offset)
    return number


def depth(expr: Expr) -> int:
    """How many operations deep ``expr`` is (a literal or reference is 1), counted without recursion."""
    deepest = 0
    pending: list[tuple[Expr, int]] = [(expr, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children(node))
    return deepest


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    return ()


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def parse_expression(text: str) -> Expr:
    """Parse one expression (without the ``${{ }}`` wrapper).

    Raises:
        ExpressionError: with the offset of the problem in ``text``.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters", 0)
    if not text.strip():
        raise ExpressionError("empty expression", 0)
    expr = _Parser(text).parse()
    if depth(expr) > MAX_DEPTH:
        raise ExpressionError(f"expression is nested more than {MAX_DEPTH} operations deep", 0)
    return expr


@dataclass(frozen=True)
class TemplatePart:
    """An expression found in a string, with its offset (of the expression text) in the string."""

    source: str
    offset: int
    expr: Expr


def find_templates(text: str) -> list[TemplatePart]:
    """Every ``${{ ... }}`` in ``text``, parsed.

    Raises:
        ExpressionError: offset is relative to ``text``.
    """
    parts: list[TemplatePart] = []
    for start, end in _template_spans(text):
        inner = text[start:end]
        try:
            parts.append(TemplatePart(inner, start, parse_expression(inner)))
        except ExpressionError as exc:
            raise type(exc)(exc.message, start + exc.offset) from None
    return parts


def _template_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where each ``${{ ... }}``'s inner text starts and ends, in one pass (a lazy regex is quadratic here)."""
    position = text.find("${{")
    while position != -1:
        close = text.find("}}", position + 3)
        if close == -1:
            raise ExpressionError("'${{' is not closed by '}}'", position)
        yield position + 3, close
        position = text.find("${{", close + 2)


def parse_condition(text: str) -> tuple[Expr, int]:
    """A condition is a bare expression or exactly one ``${{ ... }}``; returns it and its offset."""
    stripped = text.strip()
    if stripped.startswith("${{") and stripped.endswith("}}"):
        parts = find_templates(stripped)
        if len(parts) == 1 and stripped == "${{" + parts[0].source + "}}":
            lead = len(text) - len(text.lstrip())
            return parts[0].expr, lead + parts[0].offset
    return parse_expression(text), 0


def references(expr: Expr) -> Iterator[Reference]:
    """Every reference in ``expr``, left to right."""
    if isinstance(expr, Reference):
        yield expr
    elif isinstance(expr, Unary):
        yield from references(expr.operand)
    elif isinstance(expr, Binary):
        yield from references(expr.left)
        yield from references(expr.right)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from references(arg)
