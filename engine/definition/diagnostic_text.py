"""How diagnostics look: ``path:line:col: CODE message``, the numbered lines around it, a caret, a hint.

A warning reads ``path:line:col: warning CODE message``: the definition stays valid.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from pdcaflow.engine.errors import Diagnostic

CONTEXT_LINES = 1


def render_text(diagnostics: Sequence[Diagnostic], *, context: bool = True) -> str:
    """Human-readable diagnostics, one block each, in file and line order."""
    blocks = []
    sources: dict[str, list[str] | None] = {}
    for diagnostic in diagnostics:
        label = "" if diagnostic.is_error else "warning "
        lines = [f"{diagnostic.location}: {label}{diagnostic.code} {diagnostic.message}"]
        if context and diagnostic.line > 0:
            if diagnostic.path not in sources:
                sources[diagnostic.path] = _read_lines(diagnostic.path)
            lines.extend(_excerpt(sources[diagnostic.path], diagnostic))
        if diagnostic.hint:
            lines.append(f"  hint: {diagnostic.hint}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_json(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    """Machine-readable diagnostics for editors and CI."""
    problems = [diagnostic.as_dict() for diagnostic in diagnostics]
    errors = [diagnostic for diagnostic in diagnostics if diagnostic.is_error]
    invalid = sorted({diagnostic.path for diagnostic in errors})
    payload = {"ok": not errors, "files": list(files), "invalid_files": invalid, "errors": len(errors),
               "warnings": len(problems) - len(errors), "diagnostics": problems}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def render_github(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """GitHub Actions workflow commands: each problem becomes an annotation on its line."""

    def escape(text: str, *, in_property: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if in_property else text

    return [
        f"::{d.severity} file={escape(d.path, in_property=True)},line={d.line},col={d.column},"
        f"title={escape(d.code, in_property=True)}::{escape(d.message)}%0Ahint: {escape(d.hint)}"
        for d in diagnostics
    ]


def summary(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    """One line: ``2 errors in 1 of 3 files, 1 warning`` or ``3 files valid, 1 warning``."""
    errors = [diagnostic for diagnostic in diagnostics if diagnostic.is_error]
    warnings = len(diagnostics) - len(errors)
    noun = "file" if len(files) == 1 else "files"
    if errors:
        invalid = len({diagnostic.path for diagnostic in errors})
        text = f"{_count(len(errors), 'error')} in {invalid} of {len(files)} {noun}"
    else:
        text = f"{len(files)} {noun} valid"
    return text + (f", {_count(warnings, 'warning')}" if warnings else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _blank(char: str) -> str:
    """The blank that covers ``char`` on a terminal: CJK characters are two cells wide."""
    if char == "\t":
        return char
    return "  " if unicodedata.east_asian_width(char) in ("W", "F") else " "


def _read_lines(path: str) -> list[str] | None:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None


def _excerpt(source: list[str] | None, diagnostic: Diagnostic) -> list[str]:
    if not source or diagnostic.line > len(source):
        return []
    first = max(1, diagnostic.line - CONTEXT_LINES)
    last = min(len(source), diagnostic.line + CONTEXT_LINES)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        out.append(f"  {number:>{width}} | {source[number - 1].rstrip()}")
        if number == diagnostic.line:
            text = source[number - 1]
            start = max(diagnostic.column - 1, 0)
            length = max(1, min(diagnostic.length, len(text) - start))
            pad = "".join(_blank(ch) for ch in text[:start])
            carets = sum(len(_blank(ch)) for ch in text[start:start + length]) or 1
            out.append(f"  {'':>{width}} | {pad}{'^' * carets}")
    return out
