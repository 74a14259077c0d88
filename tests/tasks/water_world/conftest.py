"""One small water world generated once for the package's tests; each test works on a copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pdcaflow.tasks.water_world import generate_world

CUSTOMERS = 2000  # the demo's size: the response tests need it to see a segment's change through the noise


@pytest.fixture(scope="session")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("water") / "water"
    generate_world(directory, customers=CUSTOMERS, seed=7)
    return directory


@pytest.fixture()
def world(original: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "water"
    shutil.copytree(original, copy)
    return copy
