"""service.standards on real CSV quarter folders and a real SQLite / PostgreSQL database: hand-computed baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.service_system.standards import ServiceStandard, publish_standards
from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)
from tests.tasks.service_system.quarters_data import ROLES, STANDARDS, write_database, write_quarters

CONTEXT = StepContext(process_id="service-standards-test", cycle=3)

# 2026-Q2, the latest quarter, by hand:
#   hotline_answer: calls answered and waiting <= 20 s: C1 (10 s), C3 (5 s), C5 (15 s); C2 waited 25 s,
#                   C4 was not answered -> 3 of 5 = 60.0 %, target min 90: missed
#   hotline_wait:   mean wait (10 + 25 + 5 + 40 + 15) / 5 = 95 / 5 = 19.0 s, target max 20: met
#   door_delivery:  delivered_at - promised_by <= 0 h: D1 (-1 h), D3 (0 h); D2 +1.5 h late, D4 not delivered
#                   -> 2 of 4 = 50.0 %, target min 97: missed
#   bucket_hygiene: 4 of 4 returns passed = 100.0 %, target min 100: met
#   visits_done:    no visits table in 2026-Q2: not measurable
Q2 = {"hotline_answer": {"actual": 60.0, "target": {"min": 90.0}, "met": False},
      "hotline_wait": {"actual": 19.0, "target": {"max": 20.0}, "met": True},
      "door_delivery": {"actual": 50.0, "target": {"min": 97.0}, "met": False},
      "bucket_hygiene": {"actual": 100.0, "target": {"min": 100.0}, "met": True},
      "visits_done": {"actual": None, "target": {"min": 95.0}, "met": None}}


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def _standards() -> list[ServiceStandard]:
    return [ServiceStandard.model_validate(standard) for standard in STANDARDS]


def test_baseline_on_the_latest_quarter_folder(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    outputs = publish_standards(CONTEXT, standards=_standards(), roles=ROLES, source=str(quarters))
    assert outputs["period"] == "2026-Q2"  # the last of 2026-Q1 and 2026-Q2
    assert outputs["standards"] == Q2
    assert outputs["standards_total"] == 5
    assert outputs["measurable_pct"] == 80.0  # 4 of 5 (visits_done has no table)
    assert outputs["baseline_met_pct"] == 50.0  # 2 met (hotline_wait, bucket_hygiene) of the 4 measurable
    # owners named among the roles (service-centre, quality-team): all but door_delivery's logistics -> 4 of 5
    assert outputs["owners_assigned_pct"] == 80.0


def test_the_mechanism_file_holds_the_standards_as_written_and_their_baseline(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    outputs = publish_standards(CONTEXT, standards=_standards(), roles=ROLES, source=str(quarters))
    path = Path(outputs["mechanism"])
    assert path == tmp_path / "work" / "service-standards-test" / "cycle-0003" / "mechanism.json"
    mechanism = json.loads(path.read_text(encoding="utf-8"))
    assert mechanism["period"] == "2026-Q2" and mechanism["roles"] == ROLES
    first, last = mechanism["standards"][0], mechanism["standards"][-1]
    assert first == {"id": "hotline_answer", "description": "The hotline answers within 20 seconds.",
                     "measure": STANDARDS[0]["measure"], "unit": "%", "target": {"min": 90.0},
                     "owner": "service-centre", "measurable": True, "actual": 60.0, "met": False, "problem": None}
    assert (last["id"], last["measurable"], last["actual"], last["met"]) == ("visits_done", False, None, None)
    assert last["problem"] == f"{quarters / '2026-Q2'}: no visits.parquet or visits.csv in this directory"


def test_a_named_period_is_measured_instead_of_the_latest(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    outputs = publish_standards(CONTEXT, standards=_standards()[:2], source=str(quarters), period="2026-Q1")
    # 2026-Q1: both calls answered within 20 s (12 s, 18 s) -> 100.0 %; mean (12 + 18) / 2 = 15.0 s
    assert outputs["period"] == "2026-Q1"
    assert outputs["standards"]["hotline_answer"] == {"actual": 100.0, "target": {"min": 90.0}, "met": True}
    assert outputs["standards"]["hotline_wait"] == {"actual": 15.0, "target": {"max": 20.0}, "met": True}
    assert (outputs["measurable_pct"], outputs["baseline_met_pct"]) == (100.0, 100.0)
    # without roles every named owner counts as assigned
    assert outputs["owners_assigned_pct"] == 100.0


def test_one_quarter_folder_as_the_source(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    outputs = publish_standards(CONTEXT, standards=_standards(), source=str(quarters / "2026-Q2"))
    assert outputs["period"] == "2026-Q2" and outputs["standards"] == Q2


def test_without_a_source_there_is_no_baseline(tmp_path: Path) -> None:
    outputs = publish_standards(CONTEXT, standards=_standards(), roles=ROLES)
    assert outputs["period"] is None and outputs["baseline_met_pct"] is None
    assert outputs["measurable_pct"] == 100.0  # all five are well-formed; nothing to measure them on
    assert all(result["actual"] is None and result["met"] is None for result in outputs["standards"].values())


def test_a_connection_holding_every_quarter(db_url: str) -> None:  # noqa: F811
    source = write_database(db_url)
    outputs = publish_standards(CONTEXT, standards=_standards(), roles=ROLES, source=source)
    # the latest `period` of the tables read (2026-Q1 and 2026-Q2 in hotline_calls), the same figures as the folder
    assert outputs["period"] == "2026-Q2"
    assert outputs["standards"] == Q2
    assert (outputs["measurable_pct"], outputs["baseline_met_pct"]) == (80.0, 50.0)


def test_a_vague_standard_filled_in_by_an_expression_fails_the_step(tmp_path: Path) -> None:
    vague = ServiceStandard(id="reply", description="We reply promptly.", measure="replies promptly", unit="%",
                            target={"min": 90}, owner="service-centre")
    with pytest.raises(ValueError, match=r"^service.standards: standard 'reply': `measure` is words "
                                         r"\('replies promptly'\), not something to count"):
        publish_standards(CONTEXT, standards=[vague], source=str(write_quarters(tmp_path)))


def test_a_source_with_no_quarter_fails_the_step(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"empty: no quarter to read: no YYYY-Qn folder"):
        publish_standards(CONTEXT, standards=_standards(), source=str(tmp_path / "empty"))


def test_a_period_that_is_not_a_quarter_fails_the_step(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"period '2026-06' is not a quarter written YYYY-Qn"):
        publish_standards(CONTEXT, standards=_standards(), source=str(write_quarters(tmp_path)), period="2026-06")


def test_a_table_with_no_rows_or_a_missing_column_is_not_measurable(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    (quarters / "2026-Q2" / "hotline_calls.csv").write_text(
        "call_id,customer_id,received_at,wait_seconds,answered,topic\n", encoding="utf-8")
    (quarters / "2026-Q2" / "bucket_returns.csv").write_text(
        "return_id,customer_id,returned_at,buckets\nR1,W001,2026-04-02 10:00:00,2\n", encoding="utf-8")
    outputs = publish_standards(CONTEXT, standards=_standards(), source=str(quarters))
    # hotline_answer (share of no calls) and hotline_wait (mean of none) have no value; bucket_hygiene reads a
    # column the table lacks; visits_done has no table: only door_delivery (50 %, missed) is measured -> 1 of 5
    assert outputs["measurable_pct"] == 20.0 and outputs["baseline_met_pct"] == 0.0
    mechanism = json.loads(Path(outputs["mechanism"]).read_text(encoding="utf-8"))
    problems = {standard["id"]: standard["problem"] for standard in mechanism["standards"]}
    assert problems["hotline_answer"] == f"{quarters / '2026-Q2' / 'hotline_calls.csv'}: no rows this quarter"
    assert problems["bucket_hygiene"] == (f"{quarters / '2026-Q2' / 'bucket_returns.csv'}: no column "
                                          "'hygiene_passed' (columns: return_id, customer_id, returned_at, buckets)")
    assert problems["door_delivery"] is None
