"""The runner behind ``pdca serve``: serve each scheduled definition's deployment from this process.

Run as ``python -m pdcaflow.flows.serve FILE...`` by ``pdcaflow.engine.cli.serve`` (which starts the local
Prefect server when there is no ``PREFECT_API_URL`` and supervises this process). It:

1. registers one deployment per definition (``pdcaflow.flows.deployments``; the definition's
   file path as parameter, so each cycle reads the file as it is then);
2. deletes the deployments' overdue scheduled runs (left from when nothing served);
3. applies each definition's ``catchup`` policy from the store (``pdcaflow.engine.runtime.schedule``):
   the missed slots since the latest cycle are queued as catch-up runs, oldest first;
4. runs Prefect's ``Runner``: the server's scheduler creates a run per slot, the runner
   executes each in a subprocess; ``pdca_cycle`` begins the cycle through the store,
   which serialises the cycles of one process and runs each slot once
   (``pdcaflow.engine.runtime.slots``), however many ``pdca serve`` processes share the store.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from prefect.runner import Runner

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.diagnostic_text import render_text
from pdcaflow.engine.runtime.schedule import ScheduleError, catch_up, describe, next_times
from pdcaflow.engine.runtime.slots import covered_until
from pdcaflow.engine.store import repository as repo
from pdcaflow.engine.store.db import open_store, resolve_url
from pdcaflow.engine.definition.validate import ValidatedDefinition, validate_file
from pdcaflow.flows.deployments import build_deployment, delete_overdue_runs, submit_catch_up


def _say(message: str) -> None:
    print(f"pdca serve: {message}", flush=True)


def load(paths: list[Path]) -> list[tuple[Path, ValidatedDefinition]]:
    """The definitions among ``paths`` that validate and have a schedule (the others are reported)."""
    served = []
    for path in paths:
        try:
            validated = validate_file(path)
        except DefinitionError as exc:
            _say(f"not serving {path}: it does not validate:\n{render_text(exc.diagnostics, context=False)}")
            continue
        if validated.definition.schedule is None:
            _say(f"not serving {path}: it has no schedule")
            continue
        try:
            describe(validated.definition.schedule)
        except ScheduleError as exc:
            _say(f"not serving {path}: {exc}")
            continue
        served.append((path, validated))
    return served


def plan_catch_up(db_url: str, served: list[tuple[Path, ValidatedDefinition]],
                  now: datetime) -> dict[str, list[datetime]]:
    """Per process id, the missed slots its ``catchup`` policy runs now (from the store's latest cycle)."""
    store = open_store(db_url)
    try:
        with store.read() as session:
            wanted: dict[str, list[datetime]] = {}
            for _path, validated in served:
                definition = validated.definition
                last = repo.latest_cycle(session, definition.id)
                covered = covered_until(session, last) if last is not None else None
                assert definition.schedule is not None  # noqa: S101 - load() keeps scheduled ones only
                wanted[definition.id] = catch_up(definition.schedule, covered, now)
            return wanted
    finally:
        store.dispose()


def main(argv: list[str]) -> int:
    served = load([Path(arg).resolve() for arg in argv])
    if not served:
        _say("nothing to serve")
        return 2
    # each definition's store: its project root's (or $PDCA_DATABASE_URL), passed to its cycles explicitly
    db_urls = {path: resolve_url(None, validated.root) for path, validated in served}
    runner = Runner(name=f"pdca-serve-{socket.gethostname()}-{os.getpid()}", pause_on_shutdown=False)
    deployment_ids: dict[str, UUID] = {}
    for path, validated in served:
        deployment = build_deployment(validated, {"definition_path": str(path), "db_url": db_urls[path]})
        # add_deployment is async-compatible: called from sync code it returns the UUID, not a coroutine.
        deployment_ids[validated.definition.id] = runner.add_deployment(deployment)  # type: ignore[assignment]
    deleted = delete_overdue_runs(list(deployment_ids.values()))
    if deleted:
        _say(f"deleted {deleted} overdue scheduled run(s) left from before; the catch-up policy decides instead")
    now = datetime.now(UTC)
    missed: dict[str, list[datetime]] = {}
    for db_url in sorted(set(db_urls.values())):
        missed.update(plan_catch_up(db_url, [item for item in served if db_urls[item[0]] == db_url], now))
    for path, validated in served:
        definition = validated.definition
        assert definition.schedule is not None  # noqa: S101
        slots = missed[definition.id]
        for slot in slots:
            submit_catch_up(deployment_ids[definition.id], slot.isoformat(),
                            name=f"{definition.id}-catch-up-{slot.astimezone(UTC):%Y%m%dT%H%M%SZ}")
        upcoming = next_times(definition.schedule, now, 1)[0]
        _say(f"serving {definition.id} ({path.name}): {describe(definition.schedule)}, catchup "
             f"{definition.schedule.catchup}: {len(slots)} missed slot(s) queued; next run "
             f"{upcoming.isoformat(timespec='seconds')}")
    stores = ", ".join(url if "@" not in url else url.split("@", 1)[1] for url in sorted(set(db_urls.values())))
    _say(f"store {stores}; Ctrl-C or SIGTERM stops serving")
    try:
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
