"""How fast pdcaflow.spc charts a series: XmR limits plus all twelve rules, pure Python.

Run: .venv/bin/python bench/spc.py [--sizes 100,10000,200000] [--repeat 3]

For each size N: a seeded random series (normal noise with a shift in the last third, so
rules fire), ``spc.xmr_chart(values, spc.ALL_RULES)`` timed ``--repeat`` times (the best is
reported), as seconds and microseconds per point, with the number of signals found. A KPI
history is at most a few hundred points, so the small sizes are what CHECK pays per KPI;
the large ones show the cost stays linear.
The last line is ``us_per_point=<microseconds per point at the largest size>``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from pdcaflow.engine.pdca import spc


def series(size: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    shift_from = size - size // 3
    return [rng.gauss(0.0, 1.0) + (1.5 if index >= shift_from else 0.0) for index in range(size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,200000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    per_point = 0.0
    for size in (int(part) for part in args.sizes.split(",")):
        values = series(size)
        best, signals = float("inf"), 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            chart = spc.xmr_chart(values, spc.ALL_RULES)
            best = min(best, time.perf_counter() - started)
            signals = len(chart.signals)
        per_point = best / size * 1e6
        print(f"n={size:>8}  {best:8.4f} s  {per_point:6.2f} us/point  {signals} signals")
    print(f"us_per_point={per_point:.2f}")


if __name__ == "__main__":
    main()
