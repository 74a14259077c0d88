"""docs/first-process.md works as written: its commands, run in order in an empty folder, all succeed.

The commands are the ``$ ...`` lines of the tutorial's ```console blocks (```bash
blocks, the install, are not run). They run with the installed ``pdca`` (this
virtualenv's bin/ first on PATH), each in its own shell, in the folder the
previous ``cd`` left. What the reader does in an editor is written for this test
as ``<!-- tutorial-test: in FILE replace "OLD" with "NEW" -->``; OLD must be in
FILE, so the tutorial cannot drift from the project ``pdca init`` writes. The
results the tutorial states (the KPI cycle by cycle, the policy's effect, the
target edited by hand) are then read back from the store.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
TUTORIAL = REPO / "docs" / "first-process.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
EDIT = re.compile(r'<!-- tutorial-test: in (\S+) replace "(.*?)" with "(.*?)" -->')


def tutorial_steps(text: str) -> list[tuple[str, ...]]:
    """In order: ``("run", command)`` per ``$`` line of a console block, ``("edit", file, old, new)`` per edit."""
    found: list[tuple[int, tuple[str, ...]]] = []
    for block in BLOCK.finditer(text):
        if block.group(1) == "console":
            found += [(block.start(), ("run", line[2:])) for line in block.group(2).splitlines()
                      if line.startswith("$ ")]
    found += [(edit.start(), ("edit", *edit.groups())) for edit in EDIT.finditer(text)]
    return [step for _, step in sorted(found, key=lambda item: item[0])]


def test_the_tutorial_lists_its_commands_and_its_edit_in_order() -> None:
    steps = tutorial_steps(TUTORIAL.read_text("utf-8"))

    assert steps[:2] == [("run", "pdca init demo-project"), ("run", "cd demo-project")]
    assert ("run", 'pdca run support-requests.yaml --cycles 3 --reason "first try"') in steps
    edit = steps.index(("edit", "support-requests.yaml", "target: {max: 6}", "target: {max: 5}"))
    assert steps[edit + 2] == ("run", 'pdca run support-requests.yaml --reason "target tightened to 5 hours"')


def test_every_command_of_the_tutorial_succeeds_and_the_results_are_what_it_says(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PDCA_") or key == "PDCA_AUDIT_AFTER_CYCLE"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the installed `pdca`
    folder = tmp_path
    for step in tutorial_steps(TUTORIAL.read_text("utf-8")):
        if step[0] == "edit":
            _, name, old, new = step
            text = (folder / name).read_text("utf-8")
            assert text.count(old) == 1, f"the tutorial edits {old!r}, which {name} does not hold once"
            (folder / name).write_text(text.replace(old, new), encoding="utf-8")
        elif step[1].startswith("cd "):
            folder = folder / shlex.split(step[1])[1]
        else:
            done = subprocess.run(["bash", "-c", step[1]], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=600, check=False)
            assert done.returncode == 0, f"$ {step[1]}\n{done.stdout}\n{done.stderr}"

    kpis = subprocess.run(["pdca", "audit", "kpis", "support-requests", "--format", "json"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    rows = [(row["cycle"], row["version"], row["actual"], row["target"]["max"], row["status"])
            for row in json.loads(kpis.stdout)]
    assert rows == [(1, 1, 7.5, 6.0, "missed"), (2, 1, 5.5, 6.0, "met"), (3, 1, 7.5, 6.0, "missed"),
                    (4, 2, 5.0, 5.0, "met")]  # cycle 4: month 1 again, 4 agents, the target edited to 5
    starts = subprocess.run(["pdca", "audit", "log", "--process", "support-requests", "--kind", "cycle.started",
                             "--format", "jsonl"], cwd=folder, env=env, capture_output=True, text=True, timeout=60,
                            check=True)
    plans = [json.loads(line)["payload"]["plan"] for line in starts.stdout.splitlines()]
    assert [plan["params"]["agents"] for plan in plans] == [2, 3, 3, 4]  # ACT added an agent after each miss
    assert [plan["carried_from_cycle"] for plan in plans] == [None, 1, 2, 3]
