"""`pdca graph`: a Mermaid flowchart with a subgraph per phase and the ACT -> PLAN cycle edge,
checked for real by the Mermaid CLI in headless Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pdcaflow.engine.definition.graph import to_mermaid
from pdcaflow.engine.definition.validate import validate_file
from tests.conftest import DEFINITIONS, run_pdca
from tests.mermaid_render import MermaidRenderError, mermaid_available, render_mermaid

SHIPPED = sorted(DEFINITIONS.glob("*.yaml"))


def _need_renderer() -> None:
    reason = mermaid_available()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must render diagrams for real: {reason}")
    if reason:
        pytest.skip(f"{reason} (run `bash .ci/setup-renderer`)")


def test_flagship_graph_structure() -> None:
    source = to_mermaid(validate_file(DEFINITIONS / "retail-customer-service.yaml"))
    assert source.splitlines()[1] == "flowchart LR"
    for phase in ("plan", "do", "check", "act"):
        assert f'subgraph phase_{phase}["{phase.upper()}"]' in source
    assert 'phase_act -. "next cycle: params, targets, open actions" .-> phase_plan' in source
    assert "step_forecast_demand --> step_set_strategy" in source  # from `needs`
    assert "摸清客户 · Know the customers" in source
    assert "<i>approval</i>" in source  # set_strategy has an approval gate


def test_labels_are_escaped(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = (Path(__file__).parents[2] / "fixtures/valid/minimal.yaml").read_text(encoding="utf-8")
    path = write_definition(text.replace("  - id: deliver_service\n",
                                         '  - id: deliver_service\n    title: Say "hi" <b>& end</b>\n'))
    source = to_mermaid(validate_file(path))
    assert 'Say #quot;hi#quot; #60;b#62;#38; end#60;/b#62;' in source


def test_graph_command_prints_mermaid() -> None:
    result = run_pdca("graph", "definitions/retail-customer-service.yaml")
    assert result.returncode == 0, result.stderr
    assert "flowchart LR" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_graphs_render_in_mermaid(path: Path, tmp_path: Path) -> None:
    _need_renderer()
    svg = render_mermaid(to_mermaid(validate_file(path)), tmp_path).read_text(encoding="utf-8")
    assert "<svg" in svg and "PLAN" in svg and "ACT" in svg


@pytest.mark.slow
def test_renderer_rejects_broken_mermaid(tmp_path: Path) -> None:
    """The check above can fail: the same renderer refuses a syntax error."""
    _need_renderer()
    with pytest.raises(MermaidRenderError, match="Parse error"):
        render_mermaid("flowchart TB\n  a[\"unclosed --> b\n", tmp_path)
