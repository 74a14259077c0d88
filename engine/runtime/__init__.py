"""One running cycle: begin or resume it, run its steps in context, record every outcome.

``cycle`` (``begin_cycle``, ``CycleRun``), ``step_runner`` (one step's task),
``action_cycle`` (actions and overrides), approval gates (``approval_gate``,
``approval_records``), ``schedule`` and ``slots``, and the signed checkpoint after
each cycle (``signing``, ``signing_config``). Records through the store; never
imports ``prefect`` (``pdcaflow.flows`` drives it).
"""
