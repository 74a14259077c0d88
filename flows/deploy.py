"""``pdca deploy``: one deployment per process on a Prefect server's work pool (see docs/scale-out.md).

The deployment carries the definition's YAML *text* (parameter ``definition_text``),
not a path: a worker on another machine needs pdcaflow installed (and the task
modules the definition uses), never a copy of the file. The store is not a
parameter: each worker's flow runs read ``PDCA_DATABASE_URL`` from the worker's
environment (credentials stay out of the Prefect database). Running ``pdca deploy``
again after editing a file updates the deployment; its next cycle records the new
definition version.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.runtime.schedule import describe
from pdcaflow.engine.definition.validate import ValidatedDefinition
from pdcaflow.flows.deployments import build_deployment

POOL_TYPE = "process"


class DeployError(PdcaError):
    """The Prefect server could not be reached or refused a deployment."""


def ensure_pool(name: str) -> bool:
    """Create the process work pool ``name`` unless it exists; returns whether it was created."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type=POOL_TYPE))
            return True


def deploy_definitions(validated: Iterable[ValidatedDefinition], pool: str) -> Iterator[str]:
    """Create or update each process's deployment on ``pool``; yields one line per action."""
    try:
        if ensure_pool(pool):
            yield f"created work pool '{pool}' (type {POOL_TYPE})"
        for item in validated:
            definition = item.definition
            deployment = build_deployment(item, {"definition_text": item.document.text}, work_pool_name=pool)
            deployment_id = deployment.apply(work_pool_name=pool)
            when = describe(definition.schedule) if definition.schedule else "no schedule (runs only when triggered)"
            yield (f"deployed {definition.id} from {item.document.path} as 'pdca-cycle/{definition.id}' "
                   f"({deployment_id}) on pool '{pool}': {when}")
    except (httpx.HTTPError, PrefectHTTPStatusError, RuntimeError) as exc:
        raise DeployError(f"the Prefect server refused or did not answer: {type(exc).__name__}: {exc}") from exc
    yield f"start workers with: prefect worker start --pool {pool}   (with PDCA_DATABASE_URL set to the team's store)"
