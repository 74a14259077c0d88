"""`pdca demo --model`: the names it takes, and one model per demo folder (refused before anything is written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.cli.demo_models import MODELS, model_named
from pdcaflow.engine.cli.demo import DEMO_MARKER, flagship_definition


@pytest.mark.parametrize(("name", "model"), [("retail", "retail"), ("Service-System", "service-system"),
                                             ("nine-element", "service-system"), ("complaint-handling", "complaints"),
                                             ("retail-customer-service", "retail"), ("water", None)])
def test_a_model_is_named_by_its_name_its_process_id_or_a_common_name(name: str, model: str | None) -> None:
    found = model_named(name)
    assert (found.name if found else None) == model


def test_every_model_ships_its_definitions() -> None:
    shipped = flagship_definition().parent
    for model in MODELS.values():
        assert all((shipped / name).is_file() for name in model.definitions), model.name


def test_an_unknown_model_is_refused_with_the_list(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--model", "water", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "no demo model 'water'" in result.output and "retail, service-system, complaints" in result.output
    assert not (tmp_path / "d").exists()


def test_a_folder_holding_one_models_demo_refuses_another_before_writing(tmp_path: Path) -> None:
    (tmp_path / DEMO_MARKER).parent.mkdir(parents=True)
    (tmp_path / DEMO_MARKER).write_text("retail\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--model", "complaints", "--dir", str(tmp_path)])
    assert result.exit_code == 2 and "holds the retail demo" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [".pdca"]
