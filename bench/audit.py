"""How fast the audit trail is written, verified and searched, against the physical floor of sha256.

Run: .venv/bin/python bench/audit.py [--sizes 100000,1000000] [--batch 1000]

For each size N, in a new temporary SQLite store:
  append   N events through the real store API (``pdcaflow.engine.store.append_event``: each event
           canonicalised, hashed and chained on the head row), ``--batch`` events per transaction
  verify   ``pdca audit verify``'s walk (``pdcaflow.engine.store.verify_chain``) in a fresh child
           process: time, events/s, and the child's peak memory (constant memory = about the
           same peak at every size)
  sha256   the physical floor: one bare ``hashlib.sha256`` pass over the same bytes the chain
           hashes (each event's canonical JSON), prepared beforehand and timed alone
At the largest size, ``pdca audit log --process X --limit 50`` as a user runs it (a new process,
median of 5) against a bare ``python -c pass``.

The events are real cycles written through the repository (as the engine records them):
started, six steps with outputs, two KPI results, two decisions, the carry-over and
completed, with their rows, over three processes; the verify therefore also checks the KPI
result, decision and definition rows against their events.
The last line is ``verify_ratio_vs_sha256=<verify seconds / sha256 seconds at the largest size>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PROCESSES = ("retail-customer-service", "complaint-handling", "service-quality-system")
STEPS = ("know_customers", "identify_customers", "forecast_demand", "set_strategy", "deliver_service",
         "check_feedback")
_CHUNK = 20_000


KPIS = ("satisfaction", "complaint_resolution_p90")
EVENTS_PER_CYCLE = 13  # started, 6 steps, 2 KPI results, 2 decisions, carry-over, completed


def step_output(index: int, position: int) -> dict[str, Any]:
    return {"rows": 1200 + index % 97, "classes": {"A": 120, "B": 480, "C": 600},
            "mean": round(3.6 + (index % 11) / 10, 3), "p90_hours": 40 + position}


def kpi_results(index: int) -> dict[str, dict[str, Any]]:
    satisfaction = round(3.8 + (index % 7) / 10, 2)
    met = satisfaction >= 4.2
    return {
        "satisfaction": {"actual": satisfaction, "target": {"min": 4.2, "max": None}, "status": "met" if met else
                         "missed", "delta": round(satisfaction - 4.2, 3), "unit": "score(1-5)", "met": met,
                         "missed": not met, "signals": [], "trend": None},
        "complaint_resolution_p90": {"actual": 36.0 + index % 20, "target": {"min": None, "max": 48.0},
                                     "status": "met", "delta": -2.0, "unit": "hours", "met": True, "missed": False,
                                     "signals": [], "trend": "down"},
    }


def decisions(index: int) -> list[dict[str, Any]]:
    return [{"policy": "more_visits", "kpi": "satisfaction", "fired": index % 3 == 0,
             "reason": "satisfaction 3.8 < 4.2 (missed)", "effects": ["params.visits_per_month.B: 2 -> 3"]},
            {"policy": "ratchet_satisfaction", "kpi": "satisfaction", "fired": False,
             "reason": "met 0 of the last 3 cycles", "effects": []}]


def write_cycle(session: Any, version: Any, process: str, index: int) -> None:
    """One cycle through the repository, as the engine records it: 13 events and their rows."""
    from pdcaflow.engine.store.audit import utc_now
    from pdcaflow.engine.store.repository import (
        complete_cycle, record_decisions, record_kpi_results, record_step, start_cycle)

    cycle = start_cycle(session, process, version, "manual", "bench", "bench-host", 4242, reason="monthly review",
                        plan_inputs={"params": {"visits_per_month": {"A": 4, "B": 2}}, "carried_from_cycle": None})
    now = utc_now()
    for position, step in enumerate(STEPS):
        record_step(session, cycle, step, "completed", 1, now, now, step_output(index, position), None, "bench")
    record_kpi_results(session, cycle, kpi_results(index), "bench")
    record_decisions(session, cycle, decisions(index), "bench")
    complete_cycle(session, cycle, {"cycle": cycle.number, "params": {"visits_per_month": {"A": 4, "B": 3}},
                                    "targets": {"satisfaction": {"min": 4.2}}, "kpis": kpi_results(index),
                                    "actions": [], "decisions": decisions(index)}, "bench")


def append(url: str, count: int, batch: int) -> float:
    """Write ``count`` events through the store API, about ``batch`` per transaction; seconds taken.

    Whole cycles through the repository (each event chained by ``append_event``),
    then single ``bench.note`` events to reach exactly ``count``.
    """
    from pdcaflow.engine.store import append_event, open_store
    from pdcaflow.engine.store.repository import record_definition_version

    store = open_store(url)
    started = time.perf_counter()
    try:
        with store.transaction() as session:
            versions = {process: record_definition_version(session, process, f"id: {process}\n",
                                                           f"{index:064x}", "bench")
                        for index, process in enumerate(PROCESSES)}
        written = len(PROCESSES)
        cycles_per_batch = max(batch // EVENTS_PER_CYCLE, 1)
        index = 0
        while written + EVENTS_PER_CYCLE <= count:
            with store.transaction() as session:
                for _ in range(cycles_per_batch):
                    if written + EVENTS_PER_CYCLE > count:
                        break
                    process = PROCESSES[index % len(PROCESSES)]
                    write_cycle(session, versions[process], process, index)
                    written += EVENTS_PER_CYCLE
                    index += 1
        with store.transaction() as session:
            while written < count:
                append_event(session, kind="bench.note", actor="bench", process_id=PROCESSES[0],
                             payload={"note": written})
                written += 1
    finally:
        store.dispose()
    return time.perf_counter() - started


def peak_rss_kib(reset: bool = False) -> int:
    """This process's peak resident memory (KiB) since it started or since the last reset.

    Linux: ``VmHWM`` of /proc/self/status, reset by writing 5 to /proc/self/clear_refs.
    (``ru_maxrss`` would do elsewhere, but on Linux it keeps the parent's size at fork.)
    """
    status = Path("/proc/self/status")
    if not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    return peak


def child_verify(url: str) -> None:
    """Entry of the verify child: `pdca audit verify`'s work, timed in its two parts, with the peak memory.

    ``verify_chain`` = the chain walk with the head row check (``finish(rows=False)``), then the
    check of the append-only rows against their events (``first_row_problem``): timed apart here.
    """
    from pdcaflow.engine.store import open_store
    from pdcaflow.engine.store.rowcheck import first_row_problem
    from pdcaflow.engine.store.verify import finish, stored_links, walk_links

    store = open_store(url)
    try:
        before = peak_rss_kib(reset=True)  # imports and opening the store; the peak starts again here
        started = time.perf_counter()
        with store.read() as session:
            report = finish(session, walk_links(stored_links(session)), rows=False)
        walked = time.perf_counter()
        with store.read() as session:
            problem = first_row_problem(session)
        finished = time.perf_counter()
        during = peak_rss_kib()
    finally:
        store.dispose()
    print(json.dumps({"seconds": finished - started, "walk_seconds": walked - started, "rows_seconds": finished - walked,
                      "ok": report.ok and problem is None, "count": report.count, "head": report.head_hash,
                      "before_kib": before, "during_kib": during}))


def sha256_floor(url: str) -> tuple[float, float, int]:
    """Seconds of one sha256 pass and of one digest per event over the events' canonical bytes; total bytes.

    The bytes are built chunk by chunk from the stored events (not timed); only hashing is timed.
    """
    from sqlalchemy import select

    from pdcaflow.engine.store import open_store
    from pdcaflow.engine.store.audit import HASHED_FIELDS, canonical_json
    from pdcaflow.engine.store.tables import AuditEvent

    store = open_store(url)
    one_pass = hashlib.sha256()
    pass_seconds = digest_seconds = 0.0
    total = 0
    try:
        with store.read() as session:
            columns = [getattr(AuditEvent, name) for name in HASHED_FIELDS]
            rows = session.execute(select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=_CHUNK))
            for chunk in rows.partitions():
                texts = [canonical_json(row._asdict()).encode("utf-8") for row in chunk]
                total += sum(map(len, texts))
                started = time.perf_counter()
                one_pass.update(b"".join(texts))
                pass_seconds += time.perf_counter() - started
                started = time.perf_counter()
                for text in texts:
                    hashlib.sha256(text).hexdigest()
                digest_seconds += time.perf_counter() - started
    finally:
        store.dispose()
    return pass_seconds, digest_seconds, total


def log_latency(url: str, repeat: int = 5) -> tuple[float, float]:
    """Median seconds of `pdca audit log --process X --limit 50` in a new process, and of `python -c pass`."""
    env = {**os.environ, "PDCA_DATABASE_URL": url, "COLUMNS": "200"}

    def timed(args: list[str]) -> float:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(args, cwd=REPO, env=env, capture_output=True, check=True)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    command = [sys.executable, "-m", "pdcaflow.engine.cli.app", "audit", "log", "--process", PROCESSES[1], "--limit", "50"]
    return timed(command), timed([sys.executable, "-c", "pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated event counts")
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction when appending")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--log-repeat", type=int, default=5, help="runs of `pdca audit log` to take the median of")
    parser.add_argument("--child-verify", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_verify:
        child_verify(args.child_verify)
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="pdca-bench-audit-"))
    ratio = 0.0
    for size in sizes:
        url = f"sqlite:///{workdir / f'audit-{size}.db'}"
        append_seconds = append(url, size, args.batch)
        child = subprocess.run([sys.executable, __file__, "--child-verify", url], capture_output=True, text=True,
                               check=True)
        verified = json.loads(child.stdout.strip().splitlines()[-1])
        assert verified["ok"] and verified["count"] == size, verified
        pass_seconds, digest_seconds, total = sha256_floor(url)
        ratio = verified["seconds"] / pass_seconds
        print(f"{size:>9,} events  append {append_seconds:7.1f} s  {size / append_seconds:9,.0f} events/s  "
              f"(batch {args.batch})")
        print(f"{size:>9,} events  verify {verified['seconds']:7.2f} s  {size / verified['seconds']:9,.0f} events/s  "
              f"(chain walk {verified['walk_seconds']:.2f} s + append-only rows vs events "
              f"{verified['rows_seconds']:.2f} s)")
        print(f"{size:>9,} events  verify process peak resident memory: {verified['before_kib'] / 1024:.0f} MiB "
              f"after imports and opening the store, {verified['during_kib'] / 1024:.0f} MiB while verifying")
        print(f"{size:>9,} events  sha256 one pass over the same {total / 1e6:.0f} MB: {pass_seconds:.3f} s; "
              f"one digest per event: {digest_seconds:.3f} s  -> verify is x{ratio:.1f} the one-pass floor, "
              f"x{verified['seconds'] / digest_seconds:.1f} the per-event floor")
    largest = f"sqlite:///{workdir / f'audit-{sizes[-1]}.db'}"
    log_seconds, bare = log_latency(largest, args.log_repeat)
    print(f"{sizes[-1]:>9,} events  pdca audit log --process {PROCESSES[1]} --limit 50: {log_seconds * 1000:.0f} ms "
          f"(new process, median of {args.log_repeat}; bare python start {bare * 1000:.0f} ms)")
    if args.keep:
        print(f"stores kept in {workdir}")
    else:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    print(f"verify_ratio_vs_sha256={ratio:.2f}")


if __name__ == "__main__":
    main()
