"""research -> design -> perform on the research test's quarter: each reads what the one before wrote.

The research finds office faster_hotline (rank 2) and clean_buckets (rank 3) and household
weekend_delivery (rank 1) unmet (test_research). With the design test's economics, office
gets hotline_callback and bucket_swap; household's weekend_slots costs 250 + 3.0 x 36 = 358 >
300 (nothing retired: the research names scheduled_delivery) -> refused. The plan is for
2026-Q3, whose records (the perform test's) give the perform test's measures; in force:
scheduled_delivery, hotline_callback, bucket_swap -> 3.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.service_system.design import design
from pdcaflow.tasks.service_system.perform import perform
from pdcaflow.tasks.service_system.research import research
from tests.tasks.service_system import test_design, test_perform, test_research


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def test_one_quarter_planned_and_performed(tmp_path: Path) -> None:
    root = test_research.write_world(tmp_path / "water")
    found = research(test_research.CONTEXT, source=str(root), complaints=str(root / "complaints"),
                     offerings=str(root / "offerings.csv"), methods=test_research.METHODS)
    designed = design(test_design.CONTEXT, needs=found["needs"], service_levels=test_design.LEVELS,
                      segments=test_design.SEGMENTS, offerings=str(root / "offerings.csv"))
    assert (designed["period"], designed["new"], list(designed["rejected_for_cost"])) == (
        "2026-Q3", ["bucket_swap", "hotline_callback"], ["weekend_slots"])
    for name, frame in test_perform.TABLES.items():  # the quarter carried out (the world's part under pdca demo)
        write_table(frame, root / "quarters" / "2026-Q3" / f"{name}.csv")
    done = perform(test_perform.CONTEXT, plan=designed["plan"], source=str(root),
                   visits_per_month=test_perform.PER_MONTH, delivery_window_hours=4)
    assert (done["period"], done["offerings_in_force"], done["on_time_delivery_rate"]) == ("2026-Q3", 3, 50.0)
