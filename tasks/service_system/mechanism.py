"""The mechanism file ``service.standards`` writes and ``service.control`` reads (JSON, in the cycle's work folder).

Its shape (docs/service-system-data.md, "The mechanism")::

    {"period": "2026-Q2",                  # the quarter the baseline was measured on (null: none)
     "standards": [{"id": "hotline_answer", "description": "...",
                    "measure": {"table": "hotline_calls", "share_if": [...]},
                    "unit": "%", "target": {"min": 90}, "owner": "service-centre",
                    "measurable": true, "actual": 87.5, "met": false, "problem": null}],
     "roles": {"service_processing": "service-centre"}}

``actual``/``met`` are last quarter's; ``problem`` says why a standard could not be
measured on it. No pandas here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdcaflow.tasks.service_system.standard_spec import MeasuredStandard, StandardError, parse_standards


@dataclass(frozen=True)
class Outcome:
    """One standard measured on one quarter.

    Attributes:
        id: the standard's id.
        actual: the value measured (rounded to 2 decimals); ``None`` when it could not be measured.
        met: whether ``actual`` keeps the target; ``None`` when not measured.
        problem: why it could not be measured (a missing table or column, no rows), else ``None``.
    """

    id: str
    actual: float | None
    met: bool | None
    problem: str | None = None

    @property
    def measurable(self) -> bool:
        return self.actual is not None


@dataclass(frozen=True)
class Mechanism:
    """A published mechanism as ``service.control`` reads it back."""

    period: str | None
    standards: tuple[MeasuredStandard, ...]
    roles: Mapping[str, str]


def mechanism_json(period: str | None, standards: Sequence[MeasuredStandard], outcomes: Sequence[Outcome | None],
                   roles: Mapping[str, str]) -> str:
    """The mechanism file's text: each standard as written, with last quarter's outcome (``None``: not measured)."""
    entries = []
    for standard, outcome in zip(standards, outcomes, strict=True):
        entries.append({
            "id": standard.id, "description": standard.description, "measure": dict(standard.measure),
            "unit": standard.unit, "target": standard.target.as_dict(), "owner": standard.owner,
            "measurable": outcome.measurable if outcome is not None else None,
            "actual": outcome.actual if outcome is not None else None,
            "met": outcome.met if outcome is not None else None,
            "problem": outcome.problem if outcome is not None else None,
        })
    return json.dumps({"period": period, "standards": entries, "roles": dict(roles)}, indent=2, ensure_ascii=False,
                      default=str) + "\n"


def read_mechanism(path: str) -> Mechanism:
    """The mechanism a ``service.standards`` step wrote.

    Raises:
        ValueError: the file is missing, not JSON, or holds a standard that is not measurable.
    """
    try:
        document: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the mechanism: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the mechanism is not JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("standards"), list):
        raise ValueError(f"{path}: not a mechanism (no list of `standards`); service.standards writes it")
    try:
        standards = parse_standards([entry for entry in document["standards"] if isinstance(entry, Mapping)])
    except StandardError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    roles = document.get("roles") or {}
    period = document.get("period")
    return Mechanism(period=str(period) if period is not None else None, standards=tuple(standards),
                     roles={str(key): str(value) for key, value in dict(roles).items()})
