"""What a signed checkpoint costs per cycle, at 10k and 100k events (pdcaflow.engine.runtime.signing / pdcaflow.engine.store.attest).

Run: .venv/bin/python bench/checkpoints.py [--sizes 10000,100000] [--db URL-TEMPLATE]

For each size N, in a new temporary SQLite store (or ``--db``, e.g. a PostgreSQL URL):
  first     the first checkpoint: no compact range saved yet, so the whole chain is walked and
            verified and the Merkle root computed (what a cycle pays once, or after the
            ``compact-range.json`` is lost)
  cycle     the checkpoint after one more cycle's events (12 appended): only those are read;
            median of 7
  verify    `pdca audit verify`'s walk with the signed checkpoints (one per 12 events: one per
            cycle) against the same walk without them
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pdcaflow.engine.runtime.signing import sign_store
from pdcaflow.engine.runtime.signing_config import AttestSettings
from pdcaflow.engine.review.signed import signed_log, verify_signed_store
from pdcaflow.engine.store import append_event, open_store, verify_chain

PER_CYCLE = 12


def fill(store: object, count: int) -> None:
    done = 0
    while done < count:
        with store.transaction() as session:  # type: ignore[attr-defined]
            for _ in range(min(1000, count - done)):
                append_event(session, kind="step.completed", actor="bench", process_id="p", cycle_number=done // 12,
                             step_id=f"s{done % 12}", payload={"output": {"n": done, "text": "x" * 40}})
                done += 1


def bench(size: int, url: str, folder: Path) -> None:
    store = open_store(url)
    settings = AttestSettings(folder / "key", folder / "key.pub", folder / "checkpoints")
    fill(store, size)
    started = time.perf_counter()
    sign_store(store, settings, notice=lambda _line: None)
    first = time.perf_counter() - started
    cycle_times = []
    for _ in range(7):
        fill_more(store)
        started = time.perf_counter()
        signed = sign_store(store, settings)
        cycle_times.append(time.perf_counter() - started)
        assert signed.read == PER_CYCLE
    with store.read() as session:
        started = time.perf_counter()
        assert verify_chain(session, rows=False).ok
        plain = time.perf_counter() - started
    log = signed_log(settings.checkpoints, settings.public_key)
    with store.read() as session:
        started = time.perf_counter()
        assert verify_signed_store(session, log, rows=False).ok
        with_signed = time.perf_counter() - started
    print(f"{size:>7,} events: first checkpoint {first * 1000:7.0f} ms; after a cycle (+{PER_CYCLE} events) "
          f"median {statistics.median(cycle_times) * 1000:5.1f} ms; verify {plain:5.2f} s, with "
          f"{len(log.checkpoints)} signed checkpoints {with_signed:5.2f} s")
    store.dispose()  # type: ignore[attr-defined]


def fill_more(store: object) -> None:
    with store.transaction() as session:  # type: ignore[attr-defined]
        for step in range(PER_CYCLE):
            append_event(session, kind="step.completed", actor="bench", process_id="p", step_id=f"s{step}",
                         payload={"output": {"n": step}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", default=None, help="a store URL (emptied first is up to you); default: new SQLite")
    arguments = parser.parse_args()
    for size in (int(text) for text in arguments.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            bench(size, arguments.db or f"sqlite:///{folder}/bench.db", Path(folder))


if __name__ == "__main__":
    main()
