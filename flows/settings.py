"""Prefect settings pdcaflow uses in its embedded mode, applied before ``prefect`` is imported.

Embedded mode = no ``PREFECT_API_URL``: Prefect starts its API in a subprocess on
a SQLite file. These defaults make a short cycle fast while keeping what users
see in the Prefect UI (flow runs, task runs and their states, artifacts). A value
the user set in the environment is never overridden, and nothing here applies
when ``PREFECT_API_URL`` points at a real server (except the heartbeat, see
``flows.runtime``).

| setting | value | why |
|---|---|---|
| PREFECT_HOME | .pdca/prefect | Prefect's database and files live beside pdcaflow's store, not in ~/.prefect |
| PREFECT_SERVER_ANALYTICS_ENABLED | false | no telemetry calls from an embedded server |
| PREFECT_LOGGING_TO_API_ENABLED | false | per-record log shipping costs more than a short step; pdcaflow records its own events |
| PREFECT_SERVER_SERVICES_{SCHEDULER,LATE_RUNS,FOREMAN,CANCELLATION_CLEANUP,PAUSE_EXPIRATIONS,REPOSSESSOR,TRIGGERS}_ENABLED | false | background loops that serve deployments, workers and automations, which the embedded mode has none of; they compete with the run for the SQLite file |
| PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS | 90 | the first start on a new PREFECT_HOME migrates the database (~15 s on a slow machine; default 20 s) |

The task-run recorder and event persister stay on: they are what shows task runs
and their states in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

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
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def embedded_environment(environ: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """The variables to add to ``environ`` for the embedded mode (empty when a server is configured)."""
    if environ.get("PREFECT_API_URL"):
        return {}
    wanted = {"PREFECT_HOME": str(workdir / ".pdca" / "prefect"), **EMBEDDED_DEFAULTS}
    return {name: value for name, value in wanted.items() if name not in environ}


def apply_embedded_defaults(environ: MutableMapping[str, str] | None = None, workdir: Path | None = None) -> dict[str, str]:
    """Set the embedded defaults in the process environment; returns what was set."""
    target = os.environ if environ is None else environ
    added = embedded_environment(target, workdir or Path.cwd())
    if "PREFECT_HOME" in added:  # Prefect creates its home without parents; make sure .pdca/ exists
        Path(added["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    target.update(added)
    return added
