"""pdcaflow.engine.store stays a leaf: no prefect, no flows, no step code; modules stay small."""

from __future__ import annotations

import ast

from tests.conftest import REPO

STORE = REPO / "engine" / "store"
FORBIDDEN_ROOTS = {"prefect", "flows", "tasks"}
MAX_LINES = 350


def test_the_store_imports_neither_prefect_nor_flows_nor_tasks() -> None:
    offenders = {}
    for path in STORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad = [name for name in names if name.split(".")[0] in FORBIDDEN_ROOTS]
            if bad:
                offenders[str(path.relative_to(REPO))] = bad
    assert offenders == {}


def test_the_store_modules_stay_small() -> None:
    too_long = {str(path.relative_to(REPO)): lines for path in STORE.rglob("*.py")
                if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert too_long == {}


def test_the_migrations_ship_as_packages() -> None:
    # setuptools' find (pyproject) only packs folders with __init__.py; Alembic skips that file.
    assert (STORE / "migrations" / "__init__.py").is_file()
    assert (STORE / "migrations" / "versions" / "__init__.py").is_file()
