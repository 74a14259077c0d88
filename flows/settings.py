"""Prefect settings pdcaflow uses in its embedded mode, applied before ``prefect`` is imported.

Embedded mode = no ``PREFECT_API_URL``: Prefect starts its API in a subprocess on
a SQLite file. These defaults make a short cycle fast while keeping what users
see in the Prefect UI (flow runs, task runs and their states, artifacts). A value
the user set in the environment is never overridden, and nothing here applies
when ``PREFECT_API_URL`` points at a real server (except the heartbeat, see
``pdcaflow.flows.runner.prefect_runtime``).

| setting | value | why |
|---|---|---|
| PREFECT_HOME | .pdca/prefect | Prefect's database and files live beside pdcaflow's store (under the project root, ``pdcaflow.tasks.sdk.project_root``), not in ~/.prefect |
| PREFECT_SERVER_ANALYTICS_ENABLED | false | no telemetry calls from an embedded server |
| PREFECT_LOGGING_TO_API_ENABLED | false | per-record log shipping costs more than a short step; pdcaflow records its own events |
| PREFECT_SERVER_SERVICES_{SCHEDULER,LATE_RUNS,FOREMAN,CANCELLATION_CLEANUP,PAUSE_EXPIRATIONS,REPOSSESSOR,TRIGGERS}_ENABLED | false | background loops that serve deployments, workers and automations, which the embedded mode has none of; they compete with the run for the SQLite file |
| PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_{BATCH_SIZE,READ_BATCH_SIZE} | 200 | the recorder that persists task runs wrote each event on its own (batch 1); its writes race the API's for the SQLite file, and a lost race is a "database is locked" 503 that the client retries after 2 s. Measured here: 8-task flow median 2.3 s with batch 1, 0.3 s with batch 200 (task runs still recorded) |
| PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL | 1 | a batch is written at least every second, so the last cycle's task runs are saved before `pdca run` exits (see ``pdcaflow.flows.runner``) |
| PREFECT_SERVER_SERVICES_EVENT_PERSISTER_{BATCH_SIZE,READ_BATCH_SIZE} | 200 | the same, for the event feed |
| PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS | 90 | the first start on a new PREFECT_HOME migrates the database (~15 s on a slow machine; default 20 s) |

The task-run recorder and event persister stay on (batched): they are what shows
task runs and their states in the UI. Turning the recorder off removes the last
lock stalls (median 0.25 s) but hides every task run, which is not a trade we make.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from pdcaflow.tasks.sdk.project_root import folder_root, prefect_home

EMBEDDED_DEFAULTS: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE": "200",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def embedded_environment(environ: Mapping[str, str], root: Path) -> dict[str, str]:
    """The variables to add to ``environ`` for the embedded mode (empty when a server is configured).

    Args:
        root: the project root Prefect's home goes under (``.pdca/prefect``).
    """
    if environ.get("PREFECT_API_URL"):
        return {}
    wanted = {"PREFECT_HOME": str(prefect_home(root)), **EMBEDDED_DEFAULTS}
    return {name: value for name, value in wanted.items() if name not in environ}


def apply_embedded_defaults(environ: MutableMapping[str, str] | None = None, root: Path | None = None) -> dict[str, str]:
    """Set the embedded defaults in the process environment; returns what was set.

    ``pdcaflow.flows`` applies them when first imported, with the project root found from the working
    folder; ``pdca run`` sets ``PREFECT_HOME`` for its definition's root before that
    (``pdcaflow.engine.cli.common.use_project_prefect_home``).
    """
    target = os.environ if environ is None else environ
    added = embedded_environment(target, root if root is not None else folder_root())
    if "PREFECT_HOME" in added:  # Prefect creates its home without parents; make sure .pdca/ exists
        Path(added["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    target.update(added)
    return added
