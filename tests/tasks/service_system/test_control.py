"""service.control on real CSV quarter folders and a real SQLite / PostgreSQL database: hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.service_system.control import control_service
from pdcaflow.tasks.service_system.standards import ServiceStandard, publish_standards
from pdcaflow.tasks.service_system.student_t import t_quantile
from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)
from tests.tasks.service_system.quarters_data import STANDARDS, write_database, write_quarters

CONTEXT = StepContext(process_id="service-control-test", cycle=2)


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def _mechanism(source: str) -> str:
    """The mechanism published in PLAN, its baseline measured on 2026-Q1 (the quarter before the one controlled)."""
    standards = [ServiceStandard.model_validate(standard) for standard in STANDARDS]
    return publish_standards(CONTEXT, standards=standards, source=source, period="2026-Q1")["mechanism"]


def _check_q2(outputs: dict) -> None:  # type: ignore[type-arg]
    """What 2026-Q2 gives, worked out by hand (the same wherever the rows are read from)."""
    assert outputs["period"] == "2026-Q2"
    # standards on 2026-Q2 (test_standards.py works each out): hotline_answer 60 % (missed), hotline_wait 19.0 s
    # (met), door_delivery 50 % (missed), bucket_hygiene 100 % (met), visits_done no table (missed: not shown kept)
    assert outputs["standards_met_pct"] == 40.0  # 2 of 5
    assert outputs["standards_missed"] == ["hotline_answer", "door_delivery", "visits_done"]
    assert outputs["standards"]["hotline_wait"] == {"actual": 19.0, "target": {"max": 20.0}, "met": True}
    assert outputs["standards"]["visits_done"] == {"actual": None, "target": {"min": 95.0}, "met": None}
    # survey: 6 invited, 4 responded (5, 4, 3, 4) -> mean 16 / 4 = 4.0, response rate 4 / 6 = 66.67 %
    assert (outputs["satisfaction_mean"], outputs["satisfaction_responses"], outputs["response_rate"]) == \
        (4.0, 4, 66.67)
    # s^2 = (1 + 0 + 1 + 0) / 3 = 0.6667, s = 0.8165, s / sqrt(4) = 0.40825; t(0.975, 3) = 3.18245
    # half-width 3.18245 * 0.40825 = 1.29924 -> 4.0 - 1.29924 = 2.70, 4.0 + 1.29924 = 5.30
    assert (outputs["satisfaction_ci_low"], outputs["satisfaction_ci_high"]) == (2.70, 5.30)
    # by segment: household (3) = 3.0, office (5, 4) = 4.5, retail (4) = 4.0
    assert outputs["satisfaction_by_segment"] == {"household": 3.0, "office": 4.5, "retail": 4.0}


def test_the_quarter_from_the_folder_of_quarters(tmp_path: Path) -> None:
    quarters = str(write_quarters(tmp_path))
    outputs = control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="2026-Q2",
                              levels={"team": 1, "company": 2})
    _check_q2(outputs)
    # team mean (80 + 90 + 70) / 3 = 80, company mean (60 + 90) / 2 = 75; the department inspection (I6) is left out
    # weighted (80 * 1 + 75 * 2) / (1 + 2) = 230 / 3 = 76.67
    assert outputs["inspection_score"] == 76.67
    # delivery: team (80 + 90) / 2 = 85, company 60 -> (85 + 120) / 3 = 68.33
    # hotline:  team 70, company 90 -> (70 + 180) / 3 = 83.33; hygiene only had the department's inspection
    assert outputs["inspection_by_area"] == {"delivery": 68.33, "hotline": 83.33}


def test_levels_as_a_list_weigh_equally(tmp_path: Path) -> None:
    quarters = str(write_quarters(tmp_path))
    outputs = control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="2026-Q2",
                              levels=("team", "company"))
    # (80 + 75) / 2 = 77.5; delivery (85 + 60) / 2 = 72.5; hotline (70 + 90) / 2 = 80.0
    assert outputs["inspection_score"] == 77.5
    assert outputs["inspection_by_area"] == {"delivery": 72.5, "hotline": 80.0}
    # only the team's inspections: 80.0 (delivery 85.0, hotline 70.0)
    team_only = control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="2026-Q2",
                                levels={"team": 1, "company": 0})
    assert (team_only["inspection_score"], team_only["inspection_by_area"]) == (80.0, {"delivery": 85.0,
                                                                                      "hotline": 70.0})


def test_the_quarter_from_a_connection(db_url: str) -> None:  # noqa: F811
    source = write_database(db_url)
    outputs = control_service(CONTEXT, mechanism=_mechanism(source), source=source, period="2026-Q2",
                              levels={"team": 1, "company": 2})
    _check_q2(outputs)
    assert outputs["inspection_score"] == 76.67
    assert outputs["inspection_by_area"] == {"delivery": 68.33, "hotline": 83.33}


def test_a_quarter_without_surveys_fails_the_step(tmp_path: Path) -> None:
    quarters = str(write_quarters(tmp_path))
    with pytest.raises(SourceError, match=r"2026-Q1: no surveys.parquet or surveys.csv in this directory"):
        control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="2026-Q1")


def test_a_satisfaction_outside_the_scale_is_named(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    surveys = quarters / "2026-Q2" / "surveys.csv"
    surveys.write_text(surveys.read_text(encoding="utf-8").replace("W005,retail,2026-06-10 09:00:00,true,4",
                                                                   "W005,retail,2026-06-10 09:00:00,true,7"))
    with pytest.raises(SourceError, match=r"2026-Q2/surveys.csv: customer W005 responded with satisfaction 7, "
                                          r"not 1 to 5"):
        control_service(CONTEXT, mechanism=_mechanism(str(quarters)), source=str(quarters), period="2026-Q2")
    # on a 0-10 scale the same answers are valid: (5 + 4 + 3 + 7) / 4 = 4.75
    outputs = control_service(CONTEXT, mechanism=_mechanism(str(quarters)), source=str(quarters),
                              period="2026-Q2", survey_scale=10)
    assert outputs["satisfaction_mean"] == 4.75


def test_a_single_answer_has_no_interval(tmp_path: Path) -> None:
    quarters = write_quarters(tmp_path)
    (quarters / "2026-Q2" / "surveys.csv").write_text(
        "customer_id,segment,invited_at,responded,satisfaction,need\n"
        "W001,office,2026-06-10,true,4,\nW002,office,2026-06-10,false,,\n", encoding="utf-8")
    outputs = control_service(CONTEXT, mechanism=_mechanism(str(quarters)), source=str(quarters), period="2026-Q2")
    assert (outputs["satisfaction_mean"], outputs["satisfaction_responses"], outputs["response_rate"]) == \
        (4.0, 1, 50.0)
    assert (outputs["satisfaction_ci_low"], outputs["satisfaction_ci_high"]) == (None, None)


def test_bad_levels_and_period_are_refused(tmp_path: Path) -> None:
    quarters = str(write_quarters(tmp_path))
    with pytest.raises(ValueError, match=r"levels \{'team': 0.0, 'company': 0.0\}: name at least one"):
        control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="2026-Q2",
                        levels={"team": 0.0, "company": 0.0})
    with pytest.raises(ValueError, match=r"period 'Q2-2026' is not a quarter written YYYY-Qn"):
        control_service(CONTEXT, mechanism=_mechanism(quarters), source=quarters, period="Q2-2026")


def test_a_mechanism_that_is_not_one_is_refused(tmp_path: Path) -> None:
    quarters = str(write_quarters(tmp_path))
    (tmp_path / "plan.json").write_text('{"offerings": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"plan.json: not a mechanism \(no list of `standards`\)"):
        control_service(CONTEXT, mechanism=str(tmp_path / "plan.json"), source=quarters, period="2026-Q2")


@pytest.mark.parametrize(("df", "expected"), [(1, 12.7062), (3, 3.1824), (4, 2.7764), (9, 2.2622), (29, 2.0452),
                                              (120, 1.9799)])
def test_the_t_quantile_matches_the_printed_table(df: int, expected: float) -> None:
    # two-sided 95 % values of Student's t table
    assert round(t_quantile(0.975, df), 4) == expected
    assert t_quantile(0.025, df) == pytest.approx(-t_quantile(0.975, df))


def test_the_t_quantile_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")  # installed with statsmodels (the test extra)
    for df in (1, 2, 5, 17, 250, 10_000):
        for p in (0.9, 0.975, 0.995):
            assert t_quantile(p, df) == pytest.approx(float(stats.t.ppf(p, df)), rel=1e-9)
