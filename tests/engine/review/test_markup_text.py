"""People's words in `pdca audit show` are shown as written: rich markup never swallows or breaks on them."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from rich.console import Console

from pdcaflow.engine.review.render_cycle import _header


def _header_text(reason: str, error: str, actor: str) -> str:
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    cycle = SimpleNamespace(process_id="claims", number=3, status="failed", trigger="manual", started_at=at,
                            finished_at=at, owner_host="host", owner_pid=1, flow_run_id=None, error=error)
    start = SimpleNamespace(kind="cycle.started", actor=actor, at=at, seq=7, reason=reason)
    view = SimpleNamespace(cycle=cycle, version_number=1, sha256="a" * 64, starts=[start], period="2026-05")
    console = Console(width=200, record=True, highlight=False)
    console.print(_header(view))  # type: ignore[arg-type]
    return console.export_text()


def test_reasons_errors_and_actors_with_brackets_show_as_written() -> None:
    text = _header_text("[urgent] re-run after the fix [/]", "step 'serve' failed: [bold] is not a ward",
                        "ops[bot]")
    assert "reason: [urgent] re-run after the fix [/]" in text
    assert "error: step 'serve' failed: [bold] is not a ward" in text
    assert "started by ops[bot] at" in text
