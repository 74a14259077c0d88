"""One real cycle (Prefect flow run, SQLite store): the mechanism published in PLAN is controlled in CHECK."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.flows.runner import run_cycles
from tests.tasks.service_system.quarters_data import write_quarters

pytestmark = pytest.mark.slow

DEFINITION = """\
id: water-mechanism
title: The mechanism, controlled (one quarter)
owner: service-centre
params:
  quarter: 2026-Q2
steps:
  - id: establish_mechanism
    phase: plan
    uses: service.standards
    with:
      source: quarters
      period: 2026-Q1
      standards:
        - id: hotline_answer
          description: The hotline answers within 20 seconds.
          measure:
            table: hotline_calls
            share_if:
              - {column: answered, op: "==", value: true}
              - {column: wait_seconds, op: "<=", value: 20}
          unit: "%"
          target: {min: 90}
          owner: service-centre
        - id: hotline_wait_p90
          description: Nine callers in ten wait 30 seconds at most.
          measure: {table: hotline_calls, p90: wait_seconds}
          unit: seconds
          target: {max: 30}
          owner: service-centre
      roles: {service_processing: service-centre}
  - id: control_service_process
    phase: check
    uses: service.control
    with:
      mechanism: ${{ steps.establish_mechanism.mechanism }}
      source: quarters
      period: ${{ params.quarter }}
      levels: {team: 1, company: 2}
  - id: measure_quality
    phase: check
    uses: kpi.check
    needs: [control_service_process]
  - id: improve
    phase: act
    uses: improve.apply_policies
kpis:
  - id: standards_measurable
    unit: "%"
    target: {min: 100}
    source: establish_mechanism.measurable_pct
  - id: standards_met
    unit: "%"
    target: {min: 80}
    source: control_service_process.standards_met_pct
  - id: satisfaction
    unit: score (1-5)
    target: {min: 4.3}
    source: control_service_process.satisfaction_mean
  - id: inspection_score
    unit: points (0-100)
    target: {min: 85}
    source: control_service_process.inspection_score
"""


def test_a_cycle_publishes_the_mechanism_and_controls_the_quarter(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_quarters(tmp_path)
    (tmp_path / "pdca.toml").write_text("", encoding="utf-8")
    (tmp_path / "mechanism.yaml").write_text(DEFINITION, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDCA_WORK_DIR", raising=False)

    (result,) = run_cycles(tmp_path / "mechanism.yaml", 1, actor="tester", db_url=f"sqlite:///{tmp_path / 'pdca.db'}",
                           reason="mechanism e2e")

    kpis = result["kpi_values"]
    # 2026-Q1 baseline: both standards measurable (2 calls: 100 % within 20 s, p90 of 12 and 18 s = 17.4 s)
    assert (kpis["standards_measurable"]["actual"], kpis["standards_measurable"]["status"]) == (100.0, "met")
    # 2026-Q2: hotline_answer 60 % (missed); p90 of 5, 10, 15, 25, 40 s sits at position 0.9 * 4 = 3.6:
    # 25 + 0.6 * (40 - 25) = 34.0 s > 30 (missed) -> 0 of 2 met
    assert (kpis["standards_met"]["actual"], kpis["standards_met"]["status"]) == (0.0, "missed")
    # survey mean 4.0 < 4.3; inspections (80 * 1 + 75 * 2) / 3 = 76.67 < 85 (test_control.py works them out)
    assert (kpis["satisfaction"]["actual"], kpis["satisfaction"]["status"]) == (4.0, "missed")
    assert (kpis["inspection_score"]["actual"], kpis["inspection_score"]["status"]) == (76.67, "missed")
    mechanism = tmp_path / ".pdca" / "work" / "water-mechanism" / "cycle-0001" / "mechanism.json"
    assert mechanism.is_file()
