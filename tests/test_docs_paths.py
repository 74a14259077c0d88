"""Every code path and module the documentation names exists (the layout moved once; docs must follow)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.conftest import REPO

# A path into the code or the tests: engine/runtime/cycle.py, tasks/sdk/, tests/flows/test_capa_e2e.py,
# also engine/pdca/act.apply_policies (a module path and a name in it) and engine/cli/*.py (a glob).
CODE_PATH = re.compile(r"(?<![\w./-])((?:engine|flows|tasks|tests)/[\w./*-]*[\w*/])")
# A module or a name in one: pdcaflow.engine.store.access.reading, pdcaflow.spc.
MODULE_REF = re.compile(r"(?<![\w./])(pdcaflow(?:\.\w+)+)")
# Dotted names that are not modules: the logger notify.send writes to.
NOT_MODULES = {"pdcaflow.notify"}


def documents() -> list[Path]:
    """docs/**/*.md, README.md and the README.md of every package folder."""
    found = [*sorted((REPO / "docs").rglob("*.md")), REPO / "README.md"]
    for package in ("engine", "flows", "tasks"):
        found += sorted((REPO / package).rglob("README.md"))
    return found


@cache
def top_level_names(module: Path) -> frozenset[str]:
    """The names a module defines or imports at its top level."""
    names: set[str] = set()
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def resolve(parts: list[str]) -> str | None:
    """None if `parts` (under the root package) name a module, or a module and a name in it; else why not."""
    for length in range(len(parts), -1, -1):
        base = REPO.joinpath(*parts[:length])
        if length and base.with_suffix(".py").is_file():
            module = base.with_suffix(".py")
            break
        if (base / "__init__.py").is_file():
            module = base / "__init__.py"
            break
    rest = parts[length:]
    if not rest or rest[0] in top_level_names(module):
        return None
    return f"{module.relative_to(REPO)} has no {rest[0]!r}"


def path_problem(path: str) -> str | None:
    """None if a documented code path exists (a glob matches, a module holds the name); else why not."""
    if "*" in path:
        return None if any(REPO.glob(path)) else "matches no file"
    if (REPO / path).exists():
        return None
    stem, _, names = path.rpartition(".")
    if stem and (REPO / f"{stem}.py").is_file():
        return resolve([*stem.split("/"), *names.split(".")])
    return "does not exist"


def broken_references(text: str, name: str) -> list[str]:
    """Each path or module reference in a document's `text` that names nothing, as `name:line: ...`."""
    broken = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        for match in CODE_PATH.finditer(line):
            if match.group(1).startswith("tests/fixtures/"):
                continue  # docs/errors.md names a fixture per code; test_invalid_fixtures checks them
            if problem := path_problem(match.group(1)):
                broken.append(f"{where}: {match.group(1)}: {problem}")
        for match in MODULE_REF.finditer(line):
            if match.group(1) not in NOT_MODULES and (problem := resolve(match.group(1).split(".")[1:])):
                broken.append(f"{where}: {match.group(1)}: {problem}")
    return broken


def test_documented_paths_and_modules_exist() -> None:
    broken = [problem for document in documents()
              for problem in broken_references(document.read_text(encoding="utf-8"), str(document.relative_to(REPO)))]
    assert broken == []


def test_the_check_finds_paths_of_the_old_layout() -> None:
    # The layout before issue 14 (engine/cli.py, tasks/world/, engine.cycle) next to what exists now.
    text = ("See `engine/cli.py`, tasks/world/ and `pdcaflow.engine.cycle.begin_cycle`;\n"
            "`engine/runtime/cycle.begin_cycle`, engine/cli/*.py and `pdcaflow.engine.runtime.cycle.nothing_here`.\n")
    assert broken_references(text, "docs/stale-paths.md") == [
        "docs/stale-paths.md:1: engine/cli.py: does not exist",
        "docs/stale-paths.md:1: tasks/world/: does not exist",
        "docs/stale-paths.md:1: pdcaflow.engine.cycle.begin_cycle: engine/__init__.py has no 'cycle'",
        "docs/stale-paths.md:2: pdcaflow.engine.runtime.cycle.nothing_here: "
        "engine/runtime/cycle.py has no 'nothing_here'",
    ]
