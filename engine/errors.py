"""The error root of pdcaflow and the diagnostics that definition problems produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KeyPath = tuple[str | int, ...]
Severity = Literal["error", "warning"]


class PdcaError(Exception):
    """Root of every error pdcaflow raises on purpose."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a definition, located in its source file.

    An ``error`` makes the definition invalid; a ``warning`` points at something valid but
    probably not meant (e.g. a cron whose fields look swapped) and leaves it valid.

    Attributes:
        code: stable identifier, e.g. ``PDCA203`` (documented in docs/errors.md).
        message: what is wrong, in one sentence.
        path: the file the problem is in.
        line: 1-based line, or 0 when the problem has no position (an unreadable file).
        column: 1-based column, or 0 when unknown.
        key_path: where in the document, e.g. ``("steps", 2, "uses")``.
        hint: how to fix it.
        length: how many characters to underline at line:column.
        severity: ``error`` or ``warning``.
    """

    code: str
    message: str
    path: str
    line: int = 0
    column: int = 0
    key_path: KeyPath = ()
    hint: str = ""
    length: int = 1
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def location(self) -> str:
        """``path:line:col`` as editors and CI annotations expect it."""
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def dotted_key(self) -> str:
        """The key path written the way a user reads it: ``steps[2].uses``."""
        text = ""
        for part in self.key_path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for ``pdca validate --format json``."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "key": self.dotted_key,
        }


class DefinitionError(PdcaError):
    """A definition could not be loaded or is invalid; carries every problem found (warnings too)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code))
        errors = [diagnostic for diagnostic in self.diagnostics if diagnostic.is_error]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        summary = f"{first.location}: {first.code} {first.message}" if first else "invalid definition"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))
