"""bench/audit.py runs end to end at a small size and ends with its ratio line (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_bench_audit_runs_small() -> None:
    result = subprocess.run([sys.executable, "bench/audit.py", "--sizes", "300", "--log-repeat", "1"], cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert re.fullmatch(r"verify_ratio_vs_sha256=\d+\.\d\d", lines[-1])
    assert any("append" in line and "events/s" in line for line in lines)
    assert any("pdca audit log --process complaint-handling --limit 50" in line for line in lines)
