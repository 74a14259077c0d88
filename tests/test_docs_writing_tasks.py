"""docs/writing-tasks.md describes every field and method of StepContext (what an own task receives)."""

from __future__ import annotations

import dataclasses
import inspect
import re

from pdcaflow.tasks.sdk.registry import StepContext
from tests.conftest import REPO

PAGE = REPO / "docs" / "writing-tasks.md"


def step_context_section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("### What a task receives: `StepContext`")
    return text[start:text.index("\n## ", start)]


def test_every_field_and_method_of_step_context_is_described() -> None:
    section = step_context_section()
    described = set(re.findall(r"^\| `(\w+)`", section, re.MULTILINE))
    described |= {name for row in re.findall(r"^\| (`\w+`(?:, `\w+`)+) \|", section, re.MULTILINE)
                  for name in re.findall(r"`(\w+)`", row)}
    methods = {f"context.{name}()" for name, _ in inspect.getmembers(StepContext, inspect.isfunction)
               if not name.startswith("_")}
    assert {field.name for field in dataclasses.fields(StepContext)} <= described
    assert methods == {"context.project_config()"}
    assert all(f"| `{method}` |" in section for method in methods)
