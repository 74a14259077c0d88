"""The complete process of docs/kpis-without-sql.md runs as written: one real cycle (Prefect flow run, SQLite store).

KPIs measured from the page's CSV file without SQL, the SLA given to `share_if` by an
expression (`${{ params.sla_days }}`), and the policy acting on the missed KPI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.flows.runner import run_cycles
from tests.test_docs_kpis import blocks

pytestmark = pytest.mark.slow


def test_the_documented_process_measures_its_kpis_and_acts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (csv,) = blocks("csv")
    (definition,) = [body for body in blocks("yaml") if body.startswith("id:")]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "claims.csv").write_text(csv, encoding="utf-8")
    (tmp_path / "claims.yaml").write_text(definition, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    (result,) = run_cycles(tmp_path / "claims.yaml", 1, actor="tester", db_url=f"sqlite:///{tmp_path / 'pdca.db'}",
                           reason="docs example")

    kpis = result["kpi_values"]
    # six closed claims: median 3.25 days (target at most 3); 3 of 6 within the 3-day SLA: 50 % (target 80 %)
    assert (kpis["median_days"]["actual"], kpis["median_days"]["status"]) == (3.25, "missed")
    assert (kpis["within_sla"]["actual"], kpis["within_sla"]["status"]) == (50.0, "missed")
    assert result["params"]["handlers"] == 4  # the policy: one more handler next month
