"""The commands pdcaflow prints as hints work when pasted: `pdca` when it is on PATH, else its full path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pdcaflow.engine.cli.demo import closing_hint
from pdcaflow.engine.cli.hints import pdca_command
from tests.conftest import REPO

THIS_PDCA = Path(sys.executable).parent / "pdca"
WITHOUT_VENV = os.pathsep.join(entry for entry in os.environ["PATH"].split(os.pathsep)
                               if entry != str(THIS_PDCA.parent))


def test_pdca_on_path_is_named_pdca(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{THIS_PDCA.parent}{os.pathsep}{WITHOUT_VENV}")
    assert pdca_command() == "pdca"
    assert closing_hint(Path("pdca-demo")).splitlines()[-3:] == [
        "  cd pdca-demo", "  pdca audit log --limit 20", "  pdca audit kpis retail-customer-service"]
    assert all(len(line) <= 80 for line in closing_hint(Path("pdca-demo")).splitlines())


def test_pdca_not_on_path_is_named_by_its_full_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", WITHOUT_VENV)
    assert pdca_command() == str(THIS_PDCA)
    other = tmp_path / "elsewhere"  # another installation's pdca first on PATH: not this one either
    other.mkdir()
    (other / "pdca").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    (other / "pdca").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}{os.pathsep}{THIS_PDCA.parent}")
    assert pdca_command() == str(THIS_PDCA)


def test_the_demo_closing_hint_runs_as_printed_without_pdca_on_path(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", WITHOUT_VENV)
    demo_dir = tmp_path / "pdca-demo"
    demo_dir.mkdir()
    lines = [line.strip() for line in closing_hint(demo_dir).splitlines() if line.startswith("  ")]
    assert lines == [f"cd {demo_dir}", f"{THIS_PDCA} audit log --limit 20",
                     f"{THIS_PDCA} audit kpis retail-customer-service"]
    script = " && ".join(lines[:2])  # from the user's folder; no store there yet: pdca says so (exit 2)
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, check=False,
                            env={**os.environ, "PATH": WITHOUT_VENV, "COLUMNS": "200"}, timeout=120)
    assert result.returncode == 2, (result.returncode, result.stderr)  # 127 (command not found) before


def test_a_hint_printed_by_the_real_command_names_the_pdca_that_ran(tmp_path: Path) -> None:
    environment = {**os.environ, "PATH": WITHOUT_VENV, "COLUMNS": "200"}
    result = subprocess.run([str(THIS_PDCA), "tasks", "show", "no.such"], cwd=tmp_path, capture_output=True,
                            text=True, check=False, env=environment, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: no task named 'no.such'; `{THIS_PDCA} tasks` lists them"
    on_path = subprocess.run(["pdca", "tasks", "show", "no.such"], cwd=tmp_path, capture_output=True, text=True,
                             check=False, env={**environment, "PATH": f"{THIS_PDCA.parent}{os.pathsep}{WITHOUT_VENV}"},
                             timeout=120)
    assert on_path.stderr.strip() == "error: no task named 'no.such'; `pdca tasks` lists them"
