"""Shared test helpers: the repository root and running the real ``pdca`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "definitions"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_pdca(*args: str, cwd: Path = REPO, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``pdca ARGS`` in a child process, as a user would, and capture what it prints."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)


@pytest.fixture()
def write_definition(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "process.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
