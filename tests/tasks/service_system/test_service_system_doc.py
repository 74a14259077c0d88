"""docs/service-system.md stays true: its good standards validate, its vague ones get the errors it prints."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from pdcaflow.engine.definition.validate import validate_paths
from tests.conftest import REPO

PAGE = REPO / "docs" / "service-system.md"
DEFINITION = """\
id: doc-standards
title: docs/service-system.md standards
owner: service-centre
kpis:
  - id: standards_measurable
    unit: "%"
    target: {{min: 100}}
    source: establish_mechanism.measurable_pct
steps:
  - id: establish_mechanism
    phase: plan
    uses: service.standards
    with:
      standards:
{standards}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [establish_mechanism]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def _messages(folder: Path, standards: str) -> list[str]:
    path = folder / "process.yaml"
    path.write_text(DEFINITION.format(standards=textwrap.indent(standards, " " * 8)), encoding="utf-8")
    return [f"{d.code} {d.message}" for d in validate_paths([path]).diagnostics]


def test_the_page_starts_with_its_title() -> None:
    assert PAGE.read_text(encoding="utf-8").splitlines()[0] == "# The nine-element service system"


def test_the_good_standards_validate(tmp_path: Path) -> None:
    good = next(block for block in _blocks("yaml") if block.startswith("- id: hotline_wait_p90"))
    assert _messages(tmp_path, good) == []


def test_the_vague_standards_get_the_errors_the_page_prints(tmp_path: Path) -> None:
    vague = next(block for block in _blocks("yaml") if block.startswith("- id: reply_promptly"))
    (printed,) = [block for block in _blocks("text") if "PDCA268" in block]
    assert _messages(tmp_path, vague) == printed.splitlines()


def test_the_documented_steps_and_kpis_validate(tmp_path: Path) -> None:
    """The page's two steps and its KPIs, in one process (a stand-in DO step gives `operations` and `period`)."""
    blocks = _blocks("yaml")
    standards_step = next(block for block in blocks if block.startswith("- id: establish_mechanism"))
    control_step = next(block for block in blocks if block.startswith("- id: control_service_process"))
    kpis = next(block for block in blocks if block.startswith("- id: standards_met"))
    (tmp_path / "data" / "water" / "quarters").mkdir(parents=True)
    text = "\n".join([
        "id: doc-steps", "title: docs/service-system.md steps", "owner: service-centre", "steps:",
        textwrap.indent(standards_step, "  "),
        "  - {id: perform_service, phase: do, uses: service.deliver, with: {plan: plan.parquet, source: data,"
        " visits_per_month: {A: 1}}}",
        textwrap.indent(control_step, "  "),
        "  - {id: measure_quality, phase: check, uses: kpi.check, needs: [control_service_process]}",
        "  - {id: improve, phase: act, uses: improve.apply_policies}",
        "kpis:", textwrap.indent(kpis, "  ")])
    path = tmp_path / "process.yaml"
    path.write_text(text, encoding="utf-8")
    assert [f"{d.code} {d.message}" for d in validate_paths([path]).diagnostics] == []
