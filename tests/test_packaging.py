"""What pdcaflow's wheel puts into site-packages: one import root, ``pdcaflow``, and nothing that clashes (issue 14).

Before the move, ``engine``, ``flows`` and ``tasks`` were installed at the top of site-packages, so a
user's project with its own ``tasks`` package could not be imported beside pdcaflow. The slow test builds
the real wheel, installs it into a fresh virtualenv and installs such a project next to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from pdcaflow.engine.cli.init_project import template_files
from tests.conftest import REPO

# Left out when the repository is copied to build the wheel: local environments, caches, old build output.
_NOT_SOURCE = {".git", ".venv", ".venv313", ".ci", ".pdca", ".mypy_cache", "build", ".pytest_cache", ".hypothesis",
               "bench", "tests", "docs", "definitions"}


def _setuptools_packages() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    return list(config["tool"]["setuptools"]["packages"])


def test_pyproject_lists_every_package_under_engine_flows_and_tasks() -> None:
    on_disk = {"pdcaflow"} | {
        "pdcaflow." + ".".join(init.parent.relative_to(REPO).parts)
        for package in ("engine", "flows", "tasks")
        for init in (REPO / package).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = _setuptools_packages()
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def pdcaflow_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pdcaflow's wheel, built by pip from a clean copy of the sources (a stale build/ must not leak in)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(REPO, source, ignore=lambda folder, names: [
        name for name in names if (Path(folder) == REPO and name in _NOT_SOURCE)
        or name == "__pycache__" or name.endswith(".egg-info")])
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
         "-w", folder / "dist", source, cwd=folder)
    (wheel,) = (folder / "dist").glob("pdcaflow-*.whl")
    return wheel


def _fresh_venv(folder: Path) -> Path:
    """A virtualenv without pip that sees this environment's packages (pdcaflow's dependencies) last.

    A ``.pth`` line adds this environment's site-packages to ``sys.path`` without running the
    ``.pth`` files in it, so the editable install of the working copy is not active there.
    """
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=folder).stdout
    (Path(purelib.strip()) / "outer-site-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    return python


def _pip_install(python: Path, target: Path, cwd: Path) -> None:
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--disable-pip-version-check",
         "-q", target, cwd=cwd)


def _write_user_project(folder: Path) -> Path:
    """A user's project with its own top-level ``tasks`` package, registering a task through pdcaflow's API."""
    (folder / "tasks").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "acme-quality"\nversion = "1.0"\n\n'
        '[tool.setuptools]\npackages = ["tasks"]\n', "utf-8")
    (folder / "tasks" / "__init__.py").write_text(
        "import pdcaflow\n\nOWNER = 'acme'\n\n\n"
        "@pdcaflow.task('acme.audit_score')\ndef audit_score(score: float) -> dict[str, float]:\n"
        "    return {'score': score}\n", "utf-8")
    return folder


_NO_STAGE_PACKAGES = """
import importlib, pathlib, sys
import pdcaflow
assert pathlib.Path(pdcaflow.__file__).is_relative_to(sys.prefix), pdcaflow.__file__
for name in ("engine", "flows", "tasks"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        assert exc.name == name, exc
    else:
        raise AssertionError(f"import {name} worked")
print("ok")
"""

_BESIDE_A_USER_TASKS_PACKAGE = """
import pathlib, sys
import tasks
import pdcaflow
import pdcaflow.tasks
assert tasks.OWNER == "acme" and pathlib.Path(tasks.__file__).is_relative_to(sys.prefix), tasks.__file__
assert pdcaflow.tasks is not tasks and pathlib.Path(pdcaflow.__file__).is_relative_to(sys.prefix)
assert pdcaflow.registry()["acme.audit_score"].module == "tasks"
print("ok")
"""


@pytest.mark.slow
def test_wheel_installs_only_pdcaflow(pdcaflow_wheel: Path) -> None:
    with zipfile.ZipFile(pdcaflow_wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
    assert top_level == {"pdcaflow", pdcaflow_wheel.name.split("-py3")[0] + ".dist-info"}


def test_the_base_install_draws_charts(pdcaflow_wheel: Path) -> None:
    # the README's `pip install -e .` (no extra) must give `pdca audit kpis --out FILE.png` its matplotlib
    with zipfile.ZipFile(pdcaflow_wheel) as archive:
        info = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode("utf-8")
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [line for line in requires if line.startswith("matplotlib") and "extra ==" not in line] == ["matplotlib<4,>=3.8"]


@pytest.mark.slow
def test_a_user_tasks_package_installs_beside_pdcaflow(pdcaflow_wheel: Path, tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, pdcaflow_wheel, cwd=tmp_path)
    assert _run(python, "-c", _NO_STAGE_PACKAGES, cwd=tmp_path).stdout == "ok\n"
    _pip_install(python, _write_user_project(tmp_path / "acme"), cwd=tmp_path)
    assert _run(python, "-c", _BESIDE_A_USER_TASKS_PACKAGE, cwd=tmp_path).stdout == "ok\n"


def test_wheel_ships_the_project_pdca_init_copies(pdcaflow_wheel: Path) -> None:
    with zipfile.ZipFile(pdcaflow_wheel) as archive:
        names = set(archive.namelist())
    assert template_files()  # engine/cli/project_template/ holds the project
    assert {f"pdcaflow/engine/cli/project_template/{name}" for name in template_files()} <= names


@pytest.mark.slow
def test_pdca_init_from_the_installed_wheel_writes_a_project_that_validates(pdcaflow_wheel: Path,
                                                                            tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    _pip_install(python, pdcaflow_wheel, cwd=tmp_path)
    _run(python, "-m", "pdcaflow.engine.cli.app", "init", "demo-project", cwd=tmp_path)
    checked = _run(python, "-m", "pdcaflow.engine.cli.app", "validate", "support-requests.yaml",
                   cwd=tmp_path / "demo-project")
    assert "1 file valid" in checked.stdout
