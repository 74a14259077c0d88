"""The world as the field of the retail library's DO step: it makes the month ``service.deliver`` reads.

The retail library only reads operations records. ``pdca demo`` runs its cycles with
:func:`simulate_before_delivery` as their ``before_task`` hook
(``pdcaflow.engine.runtime.step_runner.BeforeTask``): before a ``service.deliver`` step
whose ``source`` is a world (a directory with a ``world.json``) calls its task, the world
simulates that month under the step's plan and service levels, so the records the step
then reads are the world's answer to this cycle's plan. A retried step simulates the same
month again, with the same records (:func:`pdcaflow.tasks.sample_world.simulate.simulate_month`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pdcaflow.tasks.retail.service_steps import delivery_period
from pdcaflow.tasks.sample_world.simulate import simulate_month
from pdcaflow.tasks.sample_world.storage import is_world
from pdcaflow.tasks.sdk.sources import is_url

DELIVER_TASK = "service.deliver"
# service.deliver's inputs the world simulates under, by the name simulate_month gives them
LEVERS = ("visits_per_month", "complaint_handlers", "delivery_window_hours", "channels", "field_reps",
          "accept_supplementary_orders", "check_price_labels", "survey_size")


def simulate_before_delivery(*, task: str, inputs: Mapping[str, Any]) -> None:
    """Simulate the month a ``service.deliver`` step is about to read, when its source is a world.

    Args:
        task: the registered task about to be called; any other than ``service.deliver`` is left alone.
        inputs: that step's inputs (every parameter, defaults filled in): ``plan``, ``source``,
            ``period`` and the service levels (:data:`LEVERS`).

    Raises:
        SourceError, ValueError: see :func:`simulate_month` (the step fails with the message).
    """
    source = str(inputs.get("source", ""))
    if task != DELIVER_TASK or is_url(source) or not is_world(source):
        return
    plan = str(inputs["plan"])
    simulate_month(source, delivery_period(plan, inputs["period"]), plan=plan,
                   **{lever: inputs[lever] for lever in LEVERS})
