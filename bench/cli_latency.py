"""How fast the definition commands answer, against plain-Python baselines measured in the same run.

Run: .venv/bin/python bench/cli_latency.py [--repeat N]

Prints, for each command, the median wall time of N runs as a child process and
its ratio to (a) a bare interpreter start and (b) a plain-Python script that only
reads the flagship YAML with `yaml.safe_load`. Then, in-process, validation of
the flagship definition against `yaml.safe_load` of the same text.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = REPO / "definitions" / "retail-customer-service.yaml"


def _timed_child(args: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(args, cwd=REPO, capture_output=True, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def median_seconds(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of ``repeat`` calls (shared with bench/overhead.py)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    python = sys.executable
    bare = _timed_child([python, "-c", "pass"], repeat)
    plain = _timed_child([python, "-c", f"import yaml; yaml.safe_load(open({str(FLAGSHIP)!r}, encoding='utf-8'))"],
                         repeat)
    print(f"baseline  python -c pass                      {bare * 1000:7.1f} ms")
    print(f"baseline  python + yaml.safe_load(flagship)   {plain * 1000:7.1f} ms")
    commands = {
        "pdca validate definitions/": ["validate", "definitions"],
        "pdca graph <flagship>": ["graph", str(FLAGSHIP)],
        "pdca schema --output -": ["schema", "--output", "-"],
    }
    for label, args in commands.items():
        seconds = _timed_child([python, "-m", "pdcaflow.engine.cli.app", *args], repeat)
        print(f"{label:<44}{seconds * 1000:7.1f} ms   x{seconds / bare:5.1f} bare start   "
              f"x{seconds / plain:5.1f} plain yaml script")

    sys.path.insert(0, str(REPO))
    import yaml

    from pdcaflow.engine.definition.loader import load_definition_file
    from pdcaflow.engine.definition.validate import validate_document
    from pdcaflow.tasks.sdk.registry import registry

    tasks = registry()
    text = FLAGSHIP.read_text(encoding="utf-8")
    inner = max(repeat * 10, 50)
    safe_load = median_seconds(lambda: yaml.safe_load(text), inner)
    ours = median_seconds(lambda: validate_document(load_definition_file(FLAGSHIP), tasks), inner)
    print(f"in-process: yaml.safe_load {safe_load * 1000:.2f} ms; load+validate {ours * 1000:.2f} ms "
          f"(x{ours / safe_load:.1f})")


if __name__ == "__main__":
    main()
