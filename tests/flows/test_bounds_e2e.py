"""A computed value out of bounds ends a real `pdca run` with a step error, never a hang (issue 13, finding 9).

Before: ``round(123456789, -999999999999999999999)`` validated and then ran forever. A literal
like that is now refused by `pdca validate` (PDCA126, tests/engine/definition/test_expression_bounds.py);
here the digits come from a param, so only the run can find them out of bounds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import StepRun
from tests.conftest import FIXTURES
from tests.flows.test_cycles_e2e import pdca_run, prefect_home  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_round_to_computed_huge_digits_fails_the_step(
        tmp_path: Path, db_url: str, prefect_home: Path) -> None:  # noqa: F811  (the fixture)
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    text = text.replace("  visits: 1\n", "  visits: 1\n  digits: -999999999999999999999\n")
    text = text.replace('with: {visits: "${{ params.visits }}"}',
                        'with: {visits: "${{ round(123456789, params.digits) }}"}')
    (tmp_path / "loop.yaml").write_text(text, "utf-8")
    started = time.monotonic()
    result = pdca_run(tmp_path, db_url, prefect_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert time.monotonic() - started < 240
    assert "step 'plan_visits'" in output and "round() takes digits from -15 to 15" in output
    assert "round(123456789, params.digits)" in output
    assert "internal error" not in output and "Traceback" not in output
    store = open_store(db_url)
    try:
        with store.read() as session:
            runs = session.execute(select(StepRun.step_id, StepRun.status, StepRun.error)).all()
    finally:
        store.dispose()
    assert [(step, status) for step, status, _ in runs] == [("plan_visits", "failed")]
    assert "round(123456789, params.digits)" in runs[0][2]
